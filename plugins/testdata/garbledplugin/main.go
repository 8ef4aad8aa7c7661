// Command garbledplugin is a plugin for the host's tests that breaks the
// protocol as a plugin not built with plugins/sdk might: its messages have
// a string field that is not valid UTF-8, which no protobuf decoder
// accepts. It serves two kinds:
//   - garbled-source sends one batch whose event has such a header;
//   - garbled-sink acknowledges the first batch with such an error.
//
// Then each keeps its stream open until the host ends it. The process
// itself stays healthy: it is not a crash.
package main

import (
	"bytes"
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	protobuf "google.golang.org/protobuf/proto"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
)

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins:         wire.Plugins(server{}),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.ForceServerCodecV2(codec{encoding.GetCodecV2("proto")}))...)
		},
	})
}

// marker is a string field's value, garbled once encoded.
const marker = "GARBLE"

// garbled encodes m, whose string fields hold marker, and makes each
// marker invalid UTF-8.
func garbled(m protobuf.Message) frame {
	b, err := protobuf.Marshal(m)
	if err != nil {
		panic(err)
	}
	return bytes.ReplaceAll(b, []byte(marker), []byte("GARBL\xff"))
}

// frame is a message already encoded, which codec sends as it is.
type frame []byte

type codec struct{ encoding.CodecV2 }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(frame); ok {
		return mem.BufferSlice{mem.SliceBuffer(f)}, nil
	}
	return c.CodecV2.Marshal(v)
}

type server struct {
	proto.UnimplementedConnectorServer
}

func (server) Describe(ctx context.Context, _ *proto.DescribeRequest) (*proto.DescribeResponse, error) {
	resp := &proto.DescribeResponse{Plugin: "garbled", Version: "v0.0.0"}
	for _, k := range []camel.Kind{
		{Name: "garbled-source", Direction: camel.Source, Description: "Sends a batch with a header that is not valid UTF-8."},
		{Name: "garbled-sink", Direction: camel.Sink, Description: "Acknowledges a batch with an error that is not valid UTF-8."},
	} {
		pk, err := wire.KindToProto(k)
		if err != nil {
			return nil, err
		}
		resp.Kinds = append(resp.Kinds, pk)
	}
	return resp, nil
}

func (server) Source(stream grpc.BidiStreamingServer[proto.SourceRequest, proto.SourceResponse]) error {
	if _, err := stream.Recv(); err != nil { // the Open
		return err
	}
	batch := &proto.Batch{Seq: 1, Events: []*proto.Event{{Body: []byte("x"), Headers: map[string]string{"h": marker}}}}
	if err := stream.SendMsg(garbled(&proto.SourceResponse{Msg: &proto.SourceResponse_Batch{Batch: batch}})); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

func (server) Sink(stream grpc.BidiStreamingServer[proto.SinkRequest, proto.SinkResponse]) error {
	if _, err := stream.Recv(); err != nil { // the Open
		return err
	}
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	ack := &proto.Ack{Seq: req.GetBatch().GetSeq(), Error: marker}
	if err := stream.SendMsg(garbled(&proto.SinkResponse{Ack: ack})); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

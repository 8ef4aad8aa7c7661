package wire

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	protobuf "google.golang.org/protobuf/proto"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/proto"
)

// shapes are events of every shape: empty, body only, content type
// only, headers (one of them empty), a large body.
var shapes = []camel.Event{
	{},
	{Body: []byte("4")},
	{ContentType: "text/plain"},
	{Body: []byte(`{"a":1}`), ContentType: "application/json", Headers: map[string]string{"CamelFileName": "a.json"}},
	{Body: []byte("x"), Headers: map[string]string{"": "", "k": ""}},
	{Body: make([]byte, 70_000), ContentType: "application/octet-stream"},
}

func protoEvents(evs []camel.Event) []*proto.Event {
	out := make([]*proto.Event, len(evs))
	for i, e := range evs {
		out[i] = &proto.Event{Body: e.Body, ContentType: e.ContentType, Headers: e.Headers}
	}
	return out
}

// TestBatchCodecSpeaksConnectorProto checks Codec against the generated
// code both ways: what one encodes the other decodes the same, so a host
// or plugin that uses gRPC's own codec understands either side.
func TestBatchCodecSpeaksConnectorProto(t *testing.T) {
	var codec Codec
	b := Batch{Seq: 7, Events: shapes, Retry: true}
	pb := &proto.Batch{Seq: 7, Events: protoEvents(shapes), Retry: true}

	data, err := codec.Marshal(&SourceBatch{Batch: b})
	require.NoError(t, err)
	var resp proto.SourceResponse
	require.NoError(t, protobuf.Unmarshal(data.Materialize(), &resp))
	requireSameBatch(t, resp.GetBatch(), b)
	require.Equal(t, protobuf.Size(&proto.SourceResponse{Msg: &proto.SourceResponse_Batch{Batch: pb}}), data.Len(), "the same size as protobuf's")

	data, err = codec.Marshal(&SinkBatch{Batch: b})
	require.NoError(t, err)
	var req proto.SinkRequest
	require.NoError(t, protobuf.Unmarshal(data.Materialize(), &req))
	requireSameBatch(t, req.GetBatch(), b)

	for _, fromSource := range []bool{true, false} {
		var m protobuf.Message = &proto.SourceResponse{Msg: &proto.SourceResponse_Batch{Batch: pb}}
		var got interface{ batch() Batch } = &SourceBatch{}
		if !fromSource {
			m = &proto.SinkRequest{Msg: &proto.SinkRequest_Batch{Batch: pb}}
			got = &SinkBatch{}
		}
		raw, err := protobuf.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(raw)}, got))
		requireSameBatch(t, pb, got.batch())
	}
}

// TestSourceProgressSpeaksConnectorProto: a progress report goes both
// ways as the generated code has it, and a response holds a batch or a
// progress report, the last one on the wire.
func TestSourceProgressSpeaksConnectorProto(t *testing.T) {
	var codec Codec
	p := &proto.Progress{Item: "big.bin", Done: 12 << 20, Total: 48 << 20}
	data, err := codec.Marshal(&SourceBatch{Progress: p})
	require.NoError(t, err)
	var resp proto.SourceResponse
	require.NoError(t, protobuf.Unmarshal(data.Materialize(), &resp))
	require.True(t, protobuf.Equal(p, resp.GetProgress()), "%v", resp.GetProgress())

	var got SourceBatch
	require.NoError(t, codec.Unmarshal(data, &got))
	require.True(t, protobuf.Equal(p, got.Progress), "%v", got.Progress)

	batch, err := codec.Marshal(&SourceBatch{Batch: Batch{Seq: 3, Events: shapes[:1]}})
	require.NoError(t, err)
	both := append(data.Materialize(), batch.Materialize()...)
	require.NoError(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(both)}, &got))
	require.Nil(t, got.Progress, "the batch came last")
	require.EqualValues(t, 3, got.Seq)
	both = append(batch.Materialize(), data.Materialize()...)
	require.NoError(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(both)}, &got))
	require.NotNil(t, got.Progress, "the progress came last")
	require.Zero(t, got.Seq)
}

func (m *SourceBatch) batch() Batch { return m.Batch }
func (m *SinkBatch) batch() Batch   { return m.Batch }

// TestBatchEventSize checks that EventSize is what an event adds to a
// batch, the size MaxBatchBytes cuts at.
func TestBatchEventSize(t *testing.T) {
	for _, ev := range shapes {
		one := protobuf.Size(&proto.Batch{Events: protoEvents([]camel.Event{ev})})
		require.Equal(t, one, EventSize(ev), "%+v", ev.Headers)
	}
}

// TestBatchCodecRefusesWhatProtobufRefuses: a string that is not UTF-8
// anywhere in an event fails the message, with protobuf's words (the
// host's error says them); a request holding an Open is no batch.
func TestBatchCodecRefusesWhatProtobufRefuses(t *testing.T) {
	var codec Codec
	for _, ev := range []camel.Event{
		{ContentType: "text/\xff"},
		{Headers: map[string]string{"h": "\xff"}},
		{Headers: map[string]string{"\xff": "v"}},
	} {
		data, err := codec.Marshal(&SourceBatch{Batch: Batch{Seq: 1, Events: []camel.Event{ev}}})
		require.NoError(t, err, "encoding does not check: the sides check events before they batch them")
		require.EqualError(t, codec.Unmarshal(data, &SourceBatch{}), "string field contains invalid UTF-8")
		require.Error(t, protobuf.Unmarshal(data.Materialize(), &proto.SourceResponse{}))
	}
	raw, err := protobuf.Marshal(&proto.SinkRequest{Msg: &proto.SinkRequest_Open{Open: &proto.Open{Kind: "k"}}})
	require.NoError(t, err)
	var m SinkBatch
	require.NoError(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(raw)}, &m))
	require.False(t, m.IsBatch)
}

// TestBatchCodecLeavesOtherMessagesToProtobuf: an ack, an open, anything
// that is not a batch goes through gRPC's proto codec.
func TestBatchCodecLeavesOtherMessagesToProtobuf(t *testing.T) {
	var codec Codec
	ack := &proto.SourceRequest{Msg: &proto.SourceRequest_Ack{Ack: &proto.Ack{Seq: 3, Error: "e"}}}
	data, err := codec.Marshal(ack)
	require.NoError(t, err)
	var back proto.SourceRequest
	require.NoError(t, codec.Unmarshal(data, &back))
	require.True(t, protobuf.Equal(ack, &back))
	require.Equal(t, "proto", codec.Name())
}

// BenchmarkBatchCodec encodes and decodes a batch of 1,024 small events,
// as a flood moves them: from a source (each body allocated) and to a
// sink (the bodies in one array).
func BenchmarkBatchCodec(b *testing.B) {
	events := make([]camel.Event, 1024)
	for i := range events {
		events[i] = camel.Event{Body: strconv.AppendInt(nil, int64(i%6+1), 10), ContentType: "text/plain"}
	}
	batch := Batch{Seq: 1, Events: events}
	b.Run("source", func(b *testing.B) {
		benchmarkCodec(b, &SourceBatch{Batch: batch}, func() any { return new(SourceBatch) })
	})
	b.Run("sink", func(b *testing.B) { benchmarkCodec(b, &SinkBatch{Batch: batch}, func() any { return new(SinkBatch) }) })
}

func benchmarkCodec(b *testing.B, m any, empty func() any) {
	var codec Codec
	b.ReportAllocs()
	for b.Loop() {
		data, err := codec.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		if err := codec.Unmarshal(data, empty()); err != nil {
			b.Fatal(err)
		}
		data.Free()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1024), "ns/event")
}

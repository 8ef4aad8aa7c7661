package wire

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	protobuf "google.golang.org/protobuf/proto"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/proto"
)

// The host decodes what a plugin sends (a Describe response, batches of
// events, acks of batches) from bytes it does not control. These targets
// unmarshal arbitrary bytes as gRPC does and convert the messages as the
// host does: either unmarshalling fails, or the conversion gives a value
// that holds up; nothing panics.

// FuzzDescribe reads a Describe response's kinds: a kind that passes
// Check renders, validates a config, and goes back on the wire and comes
// back the same; a catalog of them is made or refused with an error.
func FuzzDescribe(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var resp proto.DescribeResponse
		if protobuf.Unmarshal(data, &resp) != nil {
			return
		}
		var kinds []camel.Kind
		for _, pk := range resp.GetKinds() {
			k := KindFromProto(pk)
			if k.Check() != nil {
				continue // the host ignores a broken kind, with a warning
			}
			kinds = append(kinds, k)
			_ = camel.KindMarkdown(k)
			_, _ = k.Validate(map[string]any{})
			again, err := KindToProto(k)
			require.NoError(t, err, "a kind that passes Check can be sent")
			if !hasNaNDefault(k) {
				require.Equal(t, k, KindFromProto(again), "a kind comes back from the wire the same")
			}
		}
		_, _ = camel.NewCatalog(kinds...) // a name declared twice is an error
	})
}

// hasNaNDefault reports whether a parameter of k defaults to NaN, which
// equals nothing, itself included.
func hasNaNDefault(k camel.Kind) bool {
	for _, p := range k.Params {
		if x, ok := p.Default.(float64); ok && math.IsNaN(x) {
			return true
		}
	}
	return false
}

// FuzzBatch reads a batch, from a source plugin's response or the host's
// sink request, with Codec as the host and the SDK do, and with protobuf's
// generated code: both accept the same bytes and read the same events, and
// a batch read goes back on the wire and comes back the same.
func FuzzBatch(f *testing.F) {
	for _, m := range []protobuf.Message{
		&proto.SourceResponse{Msg: &proto.SourceResponse_Batch{Batch: &proto.Batch{Seq: 1, Events: []*proto.Event{{Body: []byte("x"), ContentType: "text/plain", Headers: map[string]string{"k": "v"}}}}}},
		&proto.SourceResponse{Msg: &proto.SourceResponse_Progress{Progress: &proto.Progress{Item: "big.bin", Done: 1 << 20, Total: 4 << 20}}},
		&proto.SinkRequest{Msg: &proto.SinkRequest_Batch{Batch: &proto.Batch{Seq: 2, Retry: true}}},
	} {
		data, err := protobuf.Marshal(m)
		require.NoError(f, err)
		_, fromSource := m.(*proto.SourceResponse)
		f.Add(data, fromSource)
	}
	f.Fuzz(func(t *testing.T, data []byte, fromSource bool) {
		var want *proto.Batch
		var got Batch
		var wantErr, err error
		var msg any
		if fromSource {
			var m proto.SourceResponse
			wantErr = protobuf.Unmarshal(data, &m)
			want = m.GetBatch()
			var sb SourceBatch
			err = Codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, &sb)
			got, msg = sb.Batch, &sb
			if err == nil && wantErr == nil {
				require.True(t, protobuf.Equal(m.GetProgress(), sb.Progress), "the same progress: %v and %v", m.GetProgress(), sb.Progress)
			}
		} else {
			var m proto.SinkRequest
			wantErr = protobuf.Unmarshal(data, &m)
			want = m.GetBatch() // nil when the request holds an Open, or nothing
			var sb SinkBatch
			err = Codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, &sb)
			got, msg = sb.Batch, &sb
			if err == nil && wantErr == nil {
				require.Equal(t, want != nil, sb.IsBatch, "a batch, or not")
			}
		}
		if wantErr != nil {
			require.Error(t, err, "protobuf refuses it: %v", wantErr)
			return
		}
		require.NoError(t, err)
		requireSameBatch(t, want, got)
		again, err := Codec{}.Marshal(msg)
		require.NoError(t, err, "a batch read from the wire can be sent again")
		if fromSource {
			var back proto.SourceResponse
			require.NoError(t, protobuf.Unmarshal(again.Materialize(), &back))
			requireSameBatch(t, back.GetBatch(), got)
			require.True(t, protobuf.Equal(back.GetProgress(), msg.(*SourceBatch).Progress), "the same progress")
		} else if want != nil {
			var back proto.SinkRequest
			require.NoError(t, protobuf.Unmarshal(again.Materialize(), &back))
			requireSameBatch(t, back.GetBatch(), got)
		}
	})
}

// requireSameBatch checks that b holds what pb holds (nil: nothing).
func requireSameBatch(t *testing.T, pb *proto.Batch, b Batch) {
	t.Helper()
	require.Equal(t, pb.GetSeq(), b.Seq)
	require.Equal(t, pb.GetRetry(), b.Retry)
	require.Len(t, b.Events, len(pb.GetEvents()))
	for i, pe := range pb.GetEvents() {
		ev := b.Events[i]
		require.Equal(t, string(pe.GetBody()), string(ev.Body))
		require.Equal(t, len(pe.GetBody()) == 0, ev.Body == nil, "an empty body is nil")
		require.Equal(t, pe.GetContentType(), ev.ContentType)
		require.Equal(t, len(pe.GetHeaders()) == 0, ev.Headers == nil, "no headers is nil")
		require.Len(t, ev.Headers, len(pe.GetHeaders()))
		for k, v := range pe.GetHeaders() {
			require.Equal(t, v, ev.Headers[k])
		}
	}
}

// FuzzAck reads a sink plugin's ack as the answer to a batch of n events:
// the outcome accounts for every event once, in order (written, then
// failed, then the rest), and fails one event, the whole batch, or none.
func FuzzAck(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, n uint16) {
		var m proto.SinkResponse
		if protobuf.Unmarshal(data, &m) != nil {
			return
		}
		size := int(n)
		o := ReadSinkAck(m.GetAck(), size) // nil when the response has no ack
		require.GreaterOrEqual(t, o.Written, 0)
		require.GreaterOrEqual(t, o.Failed, 0)
		require.GreaterOrEqual(t, o.Rest, 0)
		require.Equal(t, size, o.Written+o.Failed+o.Rest, "every event once: %+v", o)
		require.Contains(t, []int{0, 1, size}, o.Failed, "%+v", o)
		if m.GetAck().GetError() == "" && !m.GetAck().GetSkipped() {
			require.Equal(t, SinkOutcome{Written: size}, o, "no error: all written")
		}
	})
}

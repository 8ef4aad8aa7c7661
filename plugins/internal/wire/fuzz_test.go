package wire

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
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

// FuzzBatch reads the events of a batch, from a source plugin's response
// or the host's sink request: each converts to an event that goes back on
// the wire and comes back with the same body, content type and headers.
func FuzzBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, fromSource bool) {
		var batch *proto.Batch
		if fromSource {
			var m proto.SourceResponse
			if protobuf.Unmarshal(data, &m) != nil {
				return
			}
			batch = m.GetBatch()
		} else {
			var m proto.SinkRequest
			if protobuf.Unmarshal(data, &m) != nil {
				return
			}
			batch = m.GetBatch()
		}
		for _, pe := range batch.GetEvents() { // none for a nil batch
			ev := EventFromProto(pe)
			b, err := protobuf.Marshal(EventToProto(ev))
			require.NoError(t, err, "an event read from the wire can be sent again")
			var back proto.Event
			require.NoError(t, protobuf.Unmarshal(b, &back))
			got := EventFromProto(&back)
			require.Equal(t, string(ev.Body), string(got.Body))
			require.Equal(t, ev.ContentType, got.ContentType)
			require.Equal(t, len(ev.Headers), len(got.Headers))
			for k, v := range ev.Headers {
				require.Equal(t, v, got.Headers[k])
			}
		}
	})
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

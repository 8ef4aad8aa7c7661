package sdktest

import (
	"testing"

	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
	"github.com/rayvens/rayvens/plugins/sdk/internal/sinkerr"
)

// Write hands events to sink as one batch, as the SDK does with a batch
// from the host: the events as they arrive over the wire (copies, without
// Ack), the test's context, a panic turned into an error. It returns the
// batch's acknowledgement: nil when the batch is written, else the error
// the host would get (see sdk.IsPermanent, sdk.Written, and Outcomes for
// what the host makes of it). It fails the test if an event cannot cross
// the wire.
func Write(t testing.TB, sink sdk.Sink, events ...sdk.Event) error {
	t.Helper()
	batch := make([]sdk.Event, len(events))
	for i, ev := range events {
		received, err := overTheWire(ev)
		if err != nil {
			t.Fatalf("sdktest: event %d of the batch: %v", i, err)
		}
		batch[i] = received
	}
	return guard.Call(testLogger(t), "Write", func() error { return sink.Write(t.Context(), batch) })
}

// Outcome is what the host makes of one event of a batch once the sink's
// Write has returned.
type Outcome string

// The outcomes of an event of a batch.
const (
	// Written: the event is done.
	Written Outcome = "written"
	// Failed: the event failed for good, with Write's error as the reason.
	Failed Outcome = "failed"
	// Resent: the event was not written; the host sends it again, before
	// any later batch (and fails it with the error only once its retry
	// budget is spent).
	Resent Outcome = "sent again"
)

// Outcomes returns, in order, the outcome of each event of a batch of n
// events whose Write returned err (as Write returns it), as the SDK
// acknowledges it and the host reads the acknowledgement.
func Outcomes(n int, err error) []Outcome {
	ack, _ := sinkerr.Ack(0, n, err)
	o := wire.ReadSinkAck(ack, n)
	out := make([]Outcome, 0, n)
	for range o.Written {
		out = append(out, Written)
	}
	for range o.Failed {
		out = append(out, Failed)
	}
	for range o.Rest {
		out = append(out, Resent)
	}
	return out
}

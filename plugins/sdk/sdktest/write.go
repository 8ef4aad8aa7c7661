package sdktest

import (
	"testing"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
)

// Write hands events to sink as one batch, as the SDK does with a batch
// from the host: the events as they arrive over the wire (copies, without
// Ack), the test's context, a panic turned into an error. It returns the
// batch's acknowledgement: nil when the batch is written, else the error
// the host would get (see sdk.IsPermanent). It fails the test if an event
// cannot cross the wire.
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

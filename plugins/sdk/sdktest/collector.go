package sdktest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Collector stands in for the host's stream that a source emits into. Its
// Emit method is an sdk.Emit: it records each event as the host receives
// it (encoded and decoded as on the wire) and then, as the host does once
// its stream has accepted an event, calls the event's Ack with nil, unless
// Hold is set. The zero Collector is ready to use; it is safe for
// concurrent use.
type Collector struct {
	// Hold leaves accepting or refusing each event to the test, which
	// calls the event's Ack itself: with nil when the stream accepts it, or
	// with an error, as when the instance closes first. Set it before the
	// source runs.
	Hold bool

	mu      sync.Mutex
	events  []sdk.Event
	broken  error         // why an event could not cross the wire, the first time
	blocked bool          // Emit waits while set
	changed chan struct{} // closed, and replaced, when events or blocked change
}

// Emit records ev, as the host's emit takes an event. It blocks while the
// collector is blocked, and returns ctx's error, without recording the
// event, if ctx ends first or has ended. It returns an error, and the test
// fails at its next Wait, if the event cannot cross the wire.
func (c *Collector) Emit(ctx context.Context, ev sdk.Event) error {
	received, err := overTheWire(ev)
	c.mu.Lock()
	for c.blocked && ctx.Err() == nil {
		changed := c.changes()
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		c.mu.Lock()
	}
	if err := ctx.Err(); err != nil {
		c.mu.Unlock()
		return err
	}
	if err != nil {
		if c.broken == nil {
			c.broken = err
		}
		c.notify()
		c.mu.Unlock()
		return err
	}
	received.Ack = ev.Ack
	c.events = append(c.events, received)
	hold := c.Hold
	c.notify()
	c.mu.Unlock()
	if !hold && ev.Ack != nil {
		ev.Ack(nil)
	}
	return nil
}

// Events returns the events recorded so far, in the order they were
// emitted.
func (c *Collector) Events() []sdk.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// Len returns how many events were recorded so far.
func (c *Collector) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// Wait waits until at least n events are recorded and returns them all, as
// Events does. It fails the test if that takes longer than Timeout, or if
// the source emitted an event that cannot cross the wire.
func (c *Collector) Wait(t testing.TB, n int) []sdk.Event {
	t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got, broken, changed := len(c.events), c.broken, c.changes()
		c.mu.Unlock()
		if broken != nil {
			t.Fatalf("sdktest: the source emitted an event the host cannot receive: %v", broken)
		}
		if got >= n {
			return c.Events()
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("sdktest: waited %v for %d events, got %d", Timeout, n, got)
		}
	}
}

// Block makes Emit block, as the host's emit does while its stream is
// full, until Unblock is called or the emitting context ends.
func (c *Collector) Block() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocked = true
	c.notify()
}

// Unblock lets the calls of Emit that Block blocked go on.
func (c *Collector) Unblock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocked = false
	c.notify()
}

// changes returns a channel closed at the next change; c.mu is held.
func (c *Collector) changes() chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

// notify tells the waiters of changes; c.mu is held.
func (c *Collector) notify() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

package engine

import "time"

// Observer watches an engine's subscribers for metrics; see
// [Engine.SetObserver]. Its functions are called from engine goroutines,
// possibly concurrently.
//
// Invariant: an engine without an observer pays one atomic load per
// subscriber call and nothing else; the stream counters ([Stream.Stats])
// are kept either way and are read, not pushed, by whoever observes.
type Observer interface {
	// SubscriberTimer returns the function that records how long each call
	// of the subscriber named subscriber of stream took: from the event
	// being handed to it until it was done with it (for a task, an actor
	// or a sink, when it completed the event, not when it queued it). It
	// is asked once per subscription, the first time one of its events is
	// timed.
	SubscriberTimer(stream, subscriber string) func(time.Duration)
}

// SetObserver makes o watch the engine's subscribers from now on. Set it
// once, before the work to be observed; a subscription keeps the timer it
// got first.
func (e *Engine) SetObserver(o Observer) { e.observer.Store(&o) }

// timer returns the timer of sn, a subscription of from, or nil
// when the engine has no observer.
func (sn *subscription) timer(from *Stream) func(time.Duration) {
	o := from.e.observer.Load()
	if o == nil {
		return nil
	}
	if f := sn.observe.Load(); f != nil {
		return *f
	}
	f := (*o).SubscriberTimer(from.name, sn.name)
	sn.observe.Store(&f)
	return f
}

// timing measures one call of a subscriber for the observer. Its zero
// value, all an unobserved engine makes, measures nothing and never reads
// the clock.
type timing struct {
	timer func(time.Duration)
	start time.Time
}

// startTiming starts measuring a call of sn, a subscription of from.
func (sn *subscription) startTiming(from *Stream) timing {
	t := timing{timer: sn.timer(from)}
	if t.timer != nil {
		t.start = time.Now()
	}
	return t
}

// done records the time since the call started, if it is measured.
func (t timing) done() {
	if t.timer != nil {
		t.timer(time.Since(t.start))
	}
}

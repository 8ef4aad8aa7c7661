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

// since records the time elapsed since start with timer, if there is one.
func since(timer func(time.Duration), start time.Time) {
	if timer != nil {
		timer(time.Since(start))
	}
}

// startTimer returns the time to measure from, zero without a timer so an
// unobserved engine never reads the clock.
func startTimer(timer func(time.Duration)) time.Time {
	if timer == nil {
		return time.Time{}
	}
	return time.Now()
}

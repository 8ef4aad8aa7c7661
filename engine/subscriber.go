package engine

import (
	"context"
	"sync"
)

// Handler processes one event. A non-nil result is appended to the
// subscription's derived stream; an error skips the event for this
// subscriber and is reported.
type Handler func(ctx context.Context, ev Event) (Event, error)

// Subscriber is something a stream delivers events to. The kinds are made by
// [Func], [Forward], [Actor.Method] and [Engine.NewPool].
type Subscriber interface {
	// deliver hands ev to the subscriber; it runs on the dispatch goroutine
	// of from, whose turn t is, and may block (backpressure), after giving
	// up t. rec is the event's delivery record: the call is one part of it,
	// which the subscriber ends when it is done with the event.
	deliver(t *turn, from *Stream, sn *subscription, ev Event, rec *record)
	// target is the stream a Forward appends to, nil for other kinds.
	target() *Stream
	defaultName() string
}

// SubscriberName is the name a subscription of sub gets when it is given
// none (the first one; later ones of the same name on a stream get #2,
// #3...): the function's or the pool's name, the actor method's, the
// target stream's.
func SubscriberName(sub Subscriber) string { return sub.defaultName() }

// Func returns a subscriber that runs h on the stream's dispatch goroutine,
// one event at a time, in subscription order with the stream's other
// function subscribers. name is the default subscription name.
func Func(name string, h Handler) Subscriber { return funcSub{name, h} }

type funcSub struct {
	name string
	h    Handler
}

func (f funcSub) deliver(t *turn, from *Stream, sn *subscription, ev Event, rec *record) {
	timing := sn.startTiming(from)
	t.enter()
	res, err := safeCall(func() (Event, error) { return f.h(t, ev) })
	timing.done()
	from.finish(t, sn, ev, res, err, rec)
}

func (f funcSub) target() *Stream { return nil }

func (f funcSub) defaultName() string {
	if f.name == "" {
		return "function"
	}
	return f.name
}

// Forward returns a subscriber that appends every event to s, in order.
func Forward(s *Stream) Subscriber { return forward{s} }

type forward struct{ to *Stream }

func (f forward) deliver(t *turn, from *Stream, sn *subscription, ev Event, rec *record) {
	// The call's part of rec becomes the event's part in the target.
	timing := sn.startTiming(from)
	err := f.to.handOn(t, ev, rec)
	timing.done()
	if err != nil {
		from.failed(t, "subscriber", sn.name, ev, err, rec)
	}
}

func (f forward) target() *Stream     { return f.to }
func (f forward) defaultName() string { return f.to.name }

// AsyncHandler takes one event and must call done exactly once, from any
// goroutine, when the event has been processed: nil for success, an error
// for a failure (reported like a subscriber's). It may block to apply
// backpressure; it runs on the stream's dispatch goroutine.
type AsyncHandler func(ev Event, done func(error))

// Async returns a subscriber that completes events asynchronously, such as
// a connector sink that acknowledges batches. The stream counts an event as
// in flight until done is called, so draining waits for every
// acknowledgement. Async subscribers have no derived stream results.
func Async(name string, h AsyncHandler) Subscriber { return asyncSub{name, h} }

type asyncSub struct {
	name string
	h    AsyncHandler
}

func (a asyncSub) deliver(t *turn, from *Stream, sn *subscription, ev Event, rec *record) {
	t.leave() // the handler is Go code that may block
	complete := begin(from, sn, ev, rec)
	_, err := safeCall(func() (Event, error) {
		a.h(ev, complete)
		return nil, nil
	})
	if err != nil { // the handler panicked before taking the event
		complete(err)
	}
}

// begin counts ev in flight in from until the returned function is called
// (once; later calls do nothing) with its outcome, for subscribers that
// complete events later (Async, ToSink).
func begin(from *Stream, sn *subscription, ev Event, rec *record) func(error) {
	from.hold()
	timing := sn.startTiming(from)
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			timing.done()
			if err != nil {
				from.failed(nil, "subscriber", sn.name, ev, err, rec)
			} else {
				rec.finish(nil)
			}
			from.release()
		})
	}
}

func (a asyncSub) target() *Stream { return nil }

func (a asyncSub) defaultName() string {
	if a.name == "" {
		return "async"
	}
	return a.name
}

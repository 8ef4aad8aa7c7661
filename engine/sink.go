package engine

import "context"

// Sink is where events leave the engine with an acknowledgement, such as a
// connector sink. Deliver takes one event and may block while the sink is
// full (backpressure); it calls done exactly once, from any goroutine, when
// the event is written (nil) or with the reason it never will be. An error
// from Deliver itself means done will not be called. Close waits until every
// delivered event has been acknowledged, or ctx ends, and releases the sink.
type Sink interface {
	Deliver(ctx context.Context, ev Event, done func(error)) error
	Close(ctx context.Context) error
}

// ToSink returns a subscriber that delivers every event to sink, in order.
// The stream counts an event in flight until the sink acknowledges it, so
// draining waits for every acknowledgement. The subscriber does not close
// the sink: its owner does, once the stream has drained.
func ToSink(name string, sink Sink) Subscriber { return sinkSub{name, sink} }

type sinkSub struct {
	name string
	sink Sink
}

func (s sinkSub) deliver(t *turn, from *Stream, sn *subscription, ev Event, rec *record) {
	t.leave() // a sink may block
	done := begin(from, sn, ev, rec)
	_, err := safeCall(func() (Event, error) { return nil, s.sink.Deliver(from.e.ctx, ev, done) })
	if err != nil { // refused, or panicked, before taking the event
		done(err)
	}
}

func (s sinkSub) target() *Stream { return nil }

func (s sinkSub) defaultName() string {
	if s.name == "" {
		return "sink"
	}
	return s.name
}

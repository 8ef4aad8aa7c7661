package engine

import "context"

// Handler processes one event. A non-nil result is appended to the
// subscription's derived stream; an error skips the event for this
// subscriber and is reported.
type Handler func(ctx context.Context, ev Event) (Event, error)

// Subscriber is something a stream delivers events to. The kinds are made by
// [Func], [Forward], [Actor.Method] and [Engine.NewPool].
type Subscriber interface {
	// deliver hands ev to the subscriber; it runs on the dispatch goroutine
	// of from and may block (backpressure).
	deliver(from *Stream, sn *subscription, ev Event)
	// target is the stream a Forward appends to, nil for other kinds.
	target() *Stream
	defaultName() string
}

// Func returns a subscriber that runs h on the stream's dispatch goroutine,
// one event at a time, in subscription order with the stream's other
// function subscribers. name is the default subscription name.
func Func(name string, h Handler) Subscriber { return funcSub{name, h} }

type funcSub struct {
	name string
	h    Handler
}

func (f funcSub) deliver(from *Stream, sn *subscription, ev Event) {
	res, err := safeCall(func() (Event, error) { return f.h(from.e.ctx, ev) })
	from.finish(sn, ev, res, err)
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

func (f forward) deliver(from *Stream, sn *subscription, ev Event) {
	if err := f.to.Append(from.e.ctx, ev); err != nil {
		from.fail("subscriber", sn.name, ev, err)
	}
}

func (f forward) target() *Stream     { return f.to }
func (f forward) defaultName() string { return f.to.name }

package engine

import (
	"context"
	"sync/atomic"
)

// A record is the delivery record of one event appended with an
// acknowledgement ([Stream.AppendAck], [WithAck]). It counts the parts of
// the work the event caused that are not finished yet: its place in a
// stream's inbox, each subscriber call it was fanned out to, each result
// it put on a derived stream (counted there the same way, with the same
// record), each batch it is in, and each sink write it reached until the
// sink acknowledged it. When the count reaches zero the outcome goes to
// the appender: nil, or the first failure.
//
// Invariant: a part is added (add) before the part that causes it is
// finished (finish), so the count cannot reach zero while work remains.
// Events appended without acknowledgement have a nil record, and every
// method of a nil record does nothing: untracked events cost nothing.
type record struct {
	n    atomic.Int32
	done func(error)
	err  atomic.Pointer[error] // the first failure
}

func newRecord(done func(error)) *record {
	r := &record{done: done}
	r.n.Store(1)
	return r
}

// add counts one more part.
func (r *record) add() {
	if r != nil {
		r.n.Add(1)
	}
}

// finish ends one part, failed when err is not nil.
func (r *record) finish(err error) {
	if r == nil {
		return
	}
	if err != nil {
		first := err // only failures move to the heap, not every err
		r.err.CompareAndSwap(nil, &first)
	}
	if r.n.Add(-1) == 0 {
		var first error
		if p := r.err.Load(); p != nil {
			first = *p
		}
		r.done(first)
	}
}

// batchRecord returns the record of a batch of events whose records are
// recs: when the batch is done, each member is, with the batch's outcome.
// nil when no member is tracked.
func batchRecord(recs []*record) *record {
	tracked := false
	for _, r := range recs {
		if r != nil {
			tracked = true
			break
		}
	}
	if !tracked {
		return nil
	}
	return newRecord(func(err error) {
		for _, r := range recs {
			r.finish(err)
		}
	})
}

// Acked is an event that carries its acknowledgement; see [WithAck]. Code
// that takes events from a [Source] other than a stream's Append (a test,
// say) unwraps it and calls Done itself.
type Acked struct {
	Event Event
	Done  func(error)
}

// WithAck wraps ev so that appending it to a stream (by a [Source]'s emit,
// say) tracks it end to end: done is called once, when every subscriber it
// reached, every event it caused on derived streams, and every sink write
// it reached are finished, with nil or the first failure. If the append
// itself fails, done is called with that error.
func WithAck(ev Event, done func(error)) Event { return Acked{ev, done} }

// Receipt is the outcome of one event appended with [Stream.AppendAck].
type Receipt struct {
	done chan struct{}
	err  error
}

// Done is closed when the event is done.
func (r *Receipt) Done() <-chan struct{} { return r.done }

// Err returns the outcome once Done is closed: nil when the event was
// delivered everywhere, or the first failure (a *StreamError naming the
// stream and subscriber, or ErrClosed if the engine shut down first).
func (r *Receipt) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// Wait waits for the outcome, or for ctx to end (then it returns ctx's
// error; the event is still tracked).
func (r *Receipt) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AppendAck appends ev as Append does and returns a receipt of its
// end-to-end outcome (see [WithAck]). An error from AppendAck means the
// event was not appended.
func (s *Stream) AppendAck(ctx context.Context, ev Event) (*Receipt, error) {
	rc := &Receipt{done: make(chan struct{})}
	rec := newRecord(func(err error) {
		rc.err = err
		close(rc.done)
	})
	if err := s.appendRec(ctx, ev, rec); err != nil {
		return nil, err
	}
	return rc, nil
}

// Package queue is the bounded queue in which events wait for a batch, on
// both sides of the connector protocol: in the host, between a sink's
// Deliver and the session that sends its batches; in a plugin, between a
// source's emit and the goroutine that sends its batches.
//
// Producers put events in one at a time and wait while the queue is full
// (backpressure); the consumer takes them out a batch at a time. An event
// costs one short lock, where a channel cost a select on either side of
// every event, and the consumer is woken once per batch.
package queue

import (
	"context"
	"slices"
	"sync"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
)

// Queue holds events and their done functions (the host's sink
// acknowledgement, a source's Event.Ack; nil where there is none), in
// order, at most its capacity.
//
// Invariant: once closed, the queue takes no event, so whoever closes it
// and then takes what is left has every event that was ever put in and
// not taken: none is lost.
type Queue struct {
	capacity int

	mu     sync.Mutex
	events []camel.Event
	dones  []func(error)
	closed error // Put's error once closed
	// ready holds a token while events are queued that the consumer may
	// not have seen: Put leaves one when the queue stops being empty.
	ready chan struct{}
	// room is closed when events are taken or the queue closes, waking the
	// puts waiting for room; nil while none waits.
	room chan struct{}
}

// New returns an empty queue of the given capacity, which is also the
// most events Take returns.
func New(capacity int) *Queue {
	return &Queue{capacity: capacity, ready: make(chan struct{}, 1)}
}

// Put queues ev with its done function, waiting while the queue is full
// until ctx ends (ctx's error) or the queue is closed (Close's error).
func (q *Queue) Put(ctx context.Context, ev camel.Event, done func(error)) error {
	for {
		q.mu.Lock()
		if q.closed != nil {
			q.mu.Unlock()
			return q.closed
		}
		if len(q.events) < q.capacity {
			q.events = append(q.events, ev)
			q.dones = append(q.dones, done)
			first := len(q.events) == 1
			q.mu.Unlock()
			if first {
				q.signal()
			}
			return nil
		}
		if q.room == nil {
			q.room = make(chan struct{})
		}
		room := q.room
		q.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Ready receives when events may be queued; Take says which, if any.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// Take removes the first events, as many as the capacity and, past the
// first one, until their encoded size reaches wire.MaxBatchBytes, and
// returns them with their done functions (none when the queue is empty).
// When it leaves events queued, Ready receives again.
func (q *Queue) Take() ([]camel.Event, []func(error)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, size := 0, 0
	for n < len(q.events) && (n == 0 || size < wire.MaxBatchBytes) {
		size += wire.EventSize(q.events[n])
		n++
	}
	if n == 0 {
		return nil, nil
	}
	// Copies of the right size: a batch keeps them until it is
	// acknowledged, and the queue's arrays serve again.
	events, dones := slices.Clone(q.events[:n]), slices.Clone(q.dones[:n])
	rest := copy(q.events, q.events[n:])
	copy(q.dones, q.dones[n:])
	clear(q.events[rest:])
	clear(q.dones[rest:])
	q.events, q.dones = q.events[:rest], q.dones[:rest]
	if rest > 0 {
		q.signal() // what is left makes the next batch
	}
	q.wake()
	return events, dones
}

// Len returns how many events are queued.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events)
}

// Close makes Put fail with err from now on (the first err given, if
// Close is called again); the events still queued stay for Take.
func (q *Queue) Close(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed == nil {
		q.closed = err
	}
	q.wake()
}

// FailAll empties the queue, calling the done function of each event
// with err.
func (q *Queue) FailAll(err error) {
	for {
		_, dones := q.Take()
		if len(dones) == 0 {
			return
		}
		for _, d := range dones {
			if d != nil {
				d(err)
			}
		}
	}
}

func (q *Queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default: // a token is there already
	}
}

// wake wakes the puts waiting for room. The caller holds mu.
func (q *Queue) wake() {
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
}

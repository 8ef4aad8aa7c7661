package engine

import (
	"sync"
	"sync/atomic"
)

// queue is a stream's inbox: a bounded FIFO that producers fill one event
// at a time and the stream's dispatch goroutine empties a batch at a time,
// so that a burst of appends costs the dispatcher one lock and at most one
// wake-up, instead of a channel operation (and often a wake-up) per event.
//
// Its bound counts both the events waiting and those the dispatcher has
// taken and not yet handed on: capacity + 1, "the inbox and the event in
// hand", as with a channel of the stream's capacity. The dispatcher counts
// each event it hands on in released, a counter only it writes, so that
// producers, which read it only when the queue looks full, and the
// dispatcher do not contend for a cache line per event.
//
// A queue with events waiting or in hand is busy, and counts as one unit
// of work in its stream's and its engine's in-flight counts (from the put
// that makes it busy to the take that finds it empty), so that those
// counts, which every waiter for idleness watches, change once per busy
// period, not twice per event.
//
// The dispatcher runs only while there is work: the first event into an
// idle queue starts it, and it ends after a while without events (see
// idleExit), giving back its buffers, so an idle stream costs no goroutine
// and no inbox memory.
type queue struct {
	// The dispatcher's line: producers read it only when the queue looks
	// full, and write waiters only when they wait.
	released atomic.Int64 // events handed on, ever: written by the dispatcher
	waiters  atomic.Bool  // a producer waits for room
	_        [55]byte

	mu      sync.Mutex
	items   []item          // waiting, oldest first
	spare   []item          // the dispatcher's last batch, reused for the next
	used    int64           // events ever queued
	seen    int64           // released, as last read by a producer
	limit   int64           // capacity + 1
	flushes []chan struct{} // flush requests, closed once served
	busy    bool            // events wait or are in hand
	work    [2]*inflight    // counts busy as one unit: the stream's, the engine's
	running bool            // a dispatch goroutine exists
	idle    bool            // it waits on wake
	wake    chan struct{}   // capacity 1: "there is work"
	room    chan struct{}   // closed when room is made; nil while nobody waits
}

func newQueue(capacity int, stream, engine *inflight) *queue {
	return &queue{limit: int64(capacity) + 1, wake: make(chan struct{}, 1), work: [2]*inflight{stream, engine}}
}

// setBusy is called under mu.
func (q *queue) setBusy(busy bool) {
	if q.busy == busy {
		return
	}
	q.busy = busy
	d := int64(-1)
	if busy {
		d = 1
	}
	q.work[0].add(d)
	q.work[1].add(d)
}

// count returns the events waiting or in hand, and whether they are
// counted as a unit of work.
func (q *queue) count() (n int64, busy bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.used - q.released.Load(), q.busy
}

// full is called under mu: it says whether the queue holds its limit,
// reading released only when the last value read says so.
func (q *queue) full() bool {
	if q.used-q.seen < q.limit {
		return false
	}
	q.seen = q.released.Load()
	return q.used-q.seen >= q.limit
}

// put queues it unless the queue is full. start reports that no dispatcher
// runs: the caller must start one (and the queue counts it as running).
func (q *queue) put(it item) (ok, start bool) {
	q.mu.Lock()
	if q.full() {
		q.mu.Unlock()
		return false, false
	}
	q.used++
	q.items = append(q.items, it)
	q.setBusy(true)
	start, wake := q.signal()
	q.mu.Unlock()
	if wake {
		q.notify()
	}
	return true, start
}

// waitRoom returns a channel closed when the dispatcher next makes room,
// or nil if there is room already.
func (q *queue) waitRoom() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	// Set before full reads released; the dispatcher stores released
	// before it reads waiters: one of the two sees the other.
	q.waiters.Store(true)
	if !q.full() {
		return nil
	}
	if q.room == nil {
		q.room = make(chan struct{})
	}
	return q.room
}

// requestFlush asks the dispatcher to deliver its partial batch and close
// done; start as for put.
func (q *queue) requestFlush(done chan struct{}) (start bool) {
	q.mu.Lock()
	q.flushes = append(q.flushes, done)
	start, wake := q.signal()
	q.mu.Unlock()
	if wake {
		q.notify()
	}
	return start
}

// signal is called under mu with new work queued: it says whether a
// dispatcher must be started or woken.
func (q *queue) signal() (start, wake bool) {
	if !q.running {
		q.running = true
		return true, false
	}
	if q.idle {
		q.idle = false
		return false, true
	}
	return false, false
}

func (q *queue) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take is the dispatcher's: it returns every waiting event and the flush
// requests. With nothing to return it marks the dispatcher idle: a put
// then sends on wake.
func (q *queue) take() ([]item, []chan struct{}) {
	q.mu.Lock()
	items, flushes := q.items, q.flushes
	if len(items) == 0 && len(flushes) == 0 {
		// Everything taken before is handed on: the queue is done.
		q.setBusy(false)
		q.idle = true
		q.mu.Unlock()
		return nil, nil
	}
	q.items, q.spare = q.spare[:0], nil
	q.flushes = nil
	q.idle = false
	q.mu.Unlock()
	return items, flushes
}

// recycle gives a handled batch's buffer back for the next one.
func (q *queue) recycle(batch []item) {
	clear(batch) // drop the references to events
	q.mu.Lock()
	if q.spare == nil { // its capacity is below twice the limit: append grew it
		q.spare = batch[:0]
	}
	q.mu.Unlock()
}

// handedOn makes room for one taken event; only the dispatcher calls it.
func (q *queue) handedOn() {
	q.released.Store(q.released.Load() + 1)
	if q.waiters.Load() {
		q.mu.Lock()
		q.waiters.Store(false)
		if q.room != nil {
			close(q.room)
			q.room = nil
		}
		q.mu.Unlock()
	}
}

// exit ends the dispatcher if there is still no work, giving back the
// buffers; false means work came in and the dispatcher goes on.
func (q *queue) exit() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 || len(q.flushes) > 0 {
		q.idle = false
		return false
	}
	q.running, q.idle = false, false
	q.items, q.spare = nil, nil
	select { // a stale wake-up must not wake the next dispatcher for nothing
	case <-q.wake:
	default:
	}
	return true
}

// drain empties the queue for a dispatcher that stops: it returns what
// waits, and the queue counts no dispatcher.
func (q *queue) drain() ([]item, []chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items, flushes := q.items, q.flushes
	q.items, q.flushes, q.spare = nil, nil, nil
	q.used = q.released.Load()
	q.setBusy(false)
	q.running, q.idle = false, false
	return items, flushes
}

package telegram

import (
	"sync"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// ledger keeps the outcomes of the updates telegram-source emitted, and
// from them the offset it may give getUpdates.
//
// Invariant: every update below offset() is done (its event's Ack was
// called with nil), or had no event to emit; no update at or above it is
// confirmed. Telegram forgets every update below the offset a getUpdates
// call gives, so the offset moves only past a contiguous run of done
// updates, oldest first, as a consumer commits a log: an update done early
// waits for those before it. A failed update (sdk.IsFailed) is never
// passed: it stops the offset until the instance ends, and Telegram gives
// it, and the updates after it, to the next instance. An update the host
// never took (another error) is emitted again.
type ledger struct {
	mu      sync.Mutex
	next    int64           // the offset: the update after the done run; 0 while none is known
	order   []int64         // the updates emitted from next on, oldest first
	state   map[int64]state // the state of each update in order
	newest  int64           // the newest update emitted
	changed chan struct{}   // holds a token once the offset moved or an update is to be emitted again
}

// state is where an update emitted is.
type state int

const (
	pending state = iota // emitted, its outcome not known yet
	done                 // its event is done
	failed               // its event failed: it holds the offset
	again                // the host never took it: to be emitted again
)

func newLedger() *ledger {
	return &ledger{state: map[int64]state{}, changed: make(chan struct{}, 1)}
}

// offset returns the offset to give getUpdates (0 before any update is
// done: Telegram then gives the oldest it has not had confirmed).
func (l *ledger) offset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// wants reports whether update id is to be emitted: it is newer than every
// update emitted, or the host never took it.
func (l *ledger) wants(id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id < l.next {
		return false
	}
	if s, ok := l.state[id]; ok {
		return s == again
	}
	return id > l.newest
}

// emitting records that update id is being emitted.
func (l *ledger) emitting(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.state[id]; !ok {
		l.order = append(l.order, id)
	}
	l.state[id] = pending
	l.newest = max(l.newest, id)
}

// settle records the outcome of update id's event, as its Ack got it.
func (l *ledger) settle(id int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.state[id]; !ok {
		return
	}
	switch {
	case err == nil:
		l.state[id] = done
	case sdk.IsFailed(err):
		l.state[id] = failed
		return
	default:
		l.state[id] = again
		l.signal()
		return
	}
	moved := false
	for len(l.order) > 0 && l.state[l.order[0]] == done {
		l.next = l.order[0] + 1
		delete(l.state, l.order[0])
		l.order = l.order[1:]
		moved = true
	}
	if moved {
		l.signal()
	}
}

// outstanding reports how many updates emitted are not done, and whether
// the oldest of them failed (it holds the offset for good).
func (l *ledger) outstanding() (n int, held bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.order) > 0 {
		held = l.state[l.order[0]] == failed
	}
	return len(l.order), held
}

// signal wakes the poller; l.mu is held.
func (l *ledger) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

package engine

import (
	"context"
	"sync"
	"sync/atomic"
)

// inflight counts outstanding work and lets goroutines wait for it to reach
// zero. The hot path (add) is one atomic operation unless someone is waiting.
type inflight struct {
	n       atomic.Int64
	nwait   atomic.Int32
	mu      sync.Mutex
	waiters map[chan struct{}]struct{}
}

func (f *inflight) add(d int64) {
	if f.n.Add(d) == 0 && f.nwait.Load() > 0 {
		f.mu.Lock()
		for ch := range f.waiters {
			close(ch)
			delete(f.waiters, ch)
		}
		f.mu.Unlock()
	}
}

// wait returns when the count is zero or ctx ends.
func (f *inflight) wait(ctx context.Context) error {
	if f.n.Load() == 0 {
		return nil
	}
	ch := make(chan struct{})
	f.nwait.Add(1)
	defer f.nwait.Add(-1)
	f.mu.Lock()
	if f.waiters == nil {
		f.waiters = map[chan struct{}]struct{}{}
	}
	f.waiters[ch] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.waiters, ch)
		f.mu.Unlock()
	}()
	for {
		// Checked after registering: a transition to zero after this load
		// sees the waiter and closes ch.
		if f.n.Load() == 0 {
			return nil
		}
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

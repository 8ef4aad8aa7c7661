package builtins

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// gil is the interpreter lock. While the script's top level runs, its module
// globals are mutable and shared with every callback, so the main thread and
// callbacks take turns: whoever executes Starlark holds the lock, and gives
// it up inside blocking builtins (a full append, sleep, disconnect_all) and,
// so that a thread that never blocks (`while True: pass`) cannot freeze the
// others, every stepQuantum steps when another goroutine waits for it
// (yield). When the top level returns, its globals are frozen and the lock
// is switched off: from then on nobody holds it and callbacks run in
// parallel, each on its own thread.
//
// The invariant "lock on => the goroutine executing Starlark holds it" lets
// code that has no thread at hand (a << operator) release it correctly.
type gil struct {
	mu      sync.Mutex
	off     atomic.Bool
	waiting atomic.Int32 // goroutines in lock
	holder  *hold        // guarded by mu
	// callbacks is the context of the blocking operations of callbacks,
	// the engine's (see Lock).
	callbacks context.Context
}

// hold is one goroutine's tenure of the lock; only that goroutine touches it.
type hold struct {
	held bool
	// ctx bounds the blocking operations of the holder: the main thread
	// stops at a graceful stop, callbacks only when the run is killed.
	ctx context.Context
}

// acquire takes the lock, unless it is switched off, and returns the
// function that gives it back.
func (g *gil) acquire(ctx context.Context) (release func()) {
	if g.off.Load() {
		return func() {}
	}
	g.lock()
	if g.off.Load() {
		g.mu.Unlock()
		return func() {}
	}
	h := &hold{held: true, ctx: ctx}
	g.holder = h
	return func() {
		if h.held {
			h.held = false
			g.holder = nil
			g.mu.Unlock()
		}
	}
}

// Lock takes the lock for an engine goroutine about to run callbacks (the
// engine's Interlock): false means the lock is off. The engine keeps it
// across the callbacks of one batch of events and gives it up before it
// blocks; a callback that blocks inside a builtin gives it up meanwhile,
// as the main thread does.
func (g *gil) Lock() bool {
	if g.off.Load() {
		return false
	}
	g.lock()
	if g.off.Load() {
		g.mu.Unlock()
		return false
	}
	g.holder = &hold{held: true, ctx: g.callbacks}
	return true
}

// Unlock gives up what Lock took. The lock may have been switched off
// meanwhile, while a callback blocked: then nobody holds it.
func (g *gil) Unlock() {
	if g.off.Load() {
		return
	}
	h := g.holder
	h.held = false
	g.holder = nil
	g.mu.Unlock()
}

// switchOff is called by the holder once the globals are frozen.
func (g *gil) switchOff() {
	if g.off.Load() {
		return
	}
	h := g.holder
	g.off.Store(true)
	h.held = false
	g.holder = nil
	g.mu.Unlock()
}

// blocking runs fn, which may block, with the lock given up so that other
// threads can make the progress fn waits for. fn receives the context of the
// caller's tenure (orElse once the lock is off: the caller is a callback).
func (g *gil) blocking(orElse context.Context, fn func(ctx context.Context) error) error {
	if g.off.Load() {
		return fn(orElse)
	}
	h := g.holder // the caller executes Starlark, so it is the holder
	h.held = false
	g.holder = nil
	g.mu.Unlock()
	err := fn(h.ctx)
	g.retake(h)
	return err
}

// yield hands the lock on to a goroutine waiting for it, if there is one,
// and takes it back after that goroutine's turn. Only the holder calls it.
// sync.Mutex hands itself to a waiter that has waited for a millisecond, so
// each waiter gets a turn within about a millisecond of steps.
func (g *gil) yield() {
	if g.off.Load() || g.waiting.Load() == 0 {
		return
	}
	h := g.holder
	h.held = false
	g.holder = nil
	g.mu.Unlock()
	runtime.Gosched()
	g.retake(h)
}

// retake takes the lock back for h after blocking or yield, unless it was
// switched off meanwhile.
func (g *gil) retake(h *hold) {
	if g.off.Load() {
		return
	}
	g.lock()
	if g.off.Load() {
		g.mu.Unlock()
		return
	}
	h.held = true
	g.holder = h
}

// lock takes mu, counted as waiting meanwhile.
func (g *gil) lock() {
	g.waiting.Add(1)
	g.mu.Lock()
	g.waiting.Add(-1)
}

package engine

import "context"

// Interlock is a lock the handlers of an engine need held while they run: a
// script interpreter's lock, whose holder alone may execute the script's
// code. See [Engine.SetInterlock].
type Interlock interface {
	// Lock takes the lock and reports whether it did: false means the lock
	// is switched off (everybody may run), and Unlock must not be called.
	Lock() bool
	Unlock()
}

// SetInterlock makes every Func, Actor method, Pool and operator handler of
// the engine run with l held. A goroutine that runs handlers keeps l across
// the consecutive handler calls of one batch of events, and gives it up
// before anything that may block (waiting for events, a full stream or
// mailbox, a sink) and at the end of each batch, so that the lock changes
// hands once per batch rather than once per event, and a goroutine that
// waits for it gets it within a batch. Call it before the first event is
// appended; a second call replaces l for the batches that start after it.
func (e *Engine) SetInterlock(l Interlock) { e.interlock.Store(&l) }

// turn is one goroutine's tenure of the engine's interlock (see
// SetInterlock). The zero value holds nothing; a nil turn is a goroutine
// that never takes the lock (one that runs no handler).
//
// A turn is also the context its goroutine's handlers get: the engine's
// (see Engine.Context), with a slot of the goroutine's own (see Local).
type turn struct {
	context.Context // the engine's
	e               *Engine
	l               Interlock // held, when held
	held            bool
	local           any
}

func newTurn(e *Engine) turn { return turn{Context: e.ctx, e: e} }

type localKey struct{}

// Value returns the turn's slot for Local, or the engine context's values.
func (t *turn) Value(key any) any {
	if key == (localKey{}) {
		return &t.local
	}
	return t.Context.Value(key)
}

// Local returns, from the context a handler (a Func, Actor method, Pool or
// operator handler) is given, a slot private to the goroutine that runs
// it: the handlers that goroutine runs share it, one call at a time, so
// it can keep what is costly to make per call, such as an interpreter's
// thread. Nil for any other context.
func Local(ctx context.Context) *any {
	p, _ := ctx.Value(localKey{}).(*any)
	return p
}

// enter takes the interlock, if there is one and t does not hold it yet.
func (t *turn) enter() {
	if t.held {
		return
	}
	if l := t.e.interlock.Load(); l != nil && (*l).Lock() {
		t.l, t.held = *l, true
	}
}

// leave gives the interlock up if t holds it.
func (t *turn) leave() {
	if t != nil && t.held {
		t.held = false
		t.l.Unlock()
	}
}

// turnLength is how many events an actor or a pool worker handles in one
// turn at most: they take events one at a time, so they have no batch end
// at which to give the interlock up.
const turnLength = 256

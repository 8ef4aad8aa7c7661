package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// interlock is an engine.Interlock that records whether it is held and how
// often it was taken.
type interlock struct {
	mu    sync.Mutex
	held  atomic.Bool
	locks atomic.Int64
}

func (l *interlock) Lock() bool {
	l.mu.Lock()
	l.held.Store(true)
	l.locks.Add(1)
	return true
}

func (l *interlock) Unlock() {
	l.held.Store(false)
	l.mu.Unlock()
}

// violations counts the handler calls made without the interlock.
type violations struct{ n atomic.Int64 }

func (v *violations) need(l *interlock, held bool) {
	if l.held.Load() != held {
		v.n.Add(1)
	}
}

// TestInterlockIsHeldForHandlersOnly runs every kind of handler, and a
// sink, through streams small enough to fill: each handler runs with the
// interlock held, the sink without it (it takes the interlock itself), and
// no goroutine blocks on a full queue while holding it (or the pipeline
// would deadlock).
func TestInterlockIsHeldForHandlersOnly(t *testing.T) {
	e, log := newEngine(t)
	l := &interlock{}
	e.SetInterlock(l)
	var bad violations
	pass := func(_ context.Context, ev engine.Event) (engine.Event, error) {
		bad.need(l, true)
		return ev, nil
	}

	in := newStream(t, e, "in", engine.StreamConfig{Capacity: 2})
	in.AddOperator("op", pass)
	d := subscribe(t, in, "f", engine.Func("f", pass))
	a, err := e.NewActor("a", nil, 1)
	require.NoError(t, err)
	d2 := subscribe(t, d, "", a.Method("m", func(ctx context.Context, _ any, ev engine.Event) (engine.Event, error) {
		return pass(ctx, ev)
	}))
	p, err := e.NewPool("p", pass, 2)
	require.NoError(t, err)
	d3 := subscribe(t, d2, "", p)
	var got collector
	subscribe(t, d3, "", got.sub("got"))
	var sunk atomic.Int64
	_, err = in.Subscribe("sink", engine.Async("sink", func(ev engine.Event, done func(error)) {
		// Were the interlock still held by the dispatcher calling the
		// sink, this would deadlock.
		l.Lock()
		sunk.Add(1)
		l.Unlock()
		done(nil)
	}))
	require.NoError(t, err)

	const n = 2000
	appendAll(t, in, ints(n)...)
	wait(t, e)
	require.Equal(t, n, got.len())
	require.Equal(t, int64(n), sunk.Load())
	require.Zero(t, bad.n.Load(), "handler calls without the interlock")
	require.False(t, l.held.Load(), "the interlock is held by an idle engine")
	require.Empty(t, log.all())
}

// TestInterlockChangesHandsPerBatch appends events while holding the
// interlock, as a script's top level does: the dispatcher, blocked on the
// interlock, finds every event waiting when it gets it, and handles them
// in one turn.
func TestInterlockChangesHandsPerBatch(t *testing.T) {
	e, _ := newEngine(t)
	l := &interlock{}
	e.SetInterlock(l)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var got collector
	subscribe(t, s, "", got.sub("got"))

	const n = 500
	l.Lock()
	appendAll(t, s, ints(n)...)
	l.Unlock()
	wait(t, e)
	require.Equal(t, ints(n), got.events())
	// The test's own Lock, the dispatcher's for the first event it took
	// alone (perhaps), and one for the rest.
	require.LessOrEqual(t, l.locks.Load(), int64(3), "the interlock changed hands per event")
}

// TestInterlockWaiterGetsATurn takes the interlock while a source keeps
// a stream of handlers busy: the dispatcher gives it up between batches.
func TestInterlockWaiterGetsATurn(t *testing.T) {
	e, _ := newEngine(t)
	l := &interlock{}
	e.SetInterlock(l)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var handled atomic.Int64
	subscribe(t, s, "", engine.Func("busy", func(context.Context, engine.Event) (engine.Event, error) {
		handled.Add(1)
		return nil, nil
	}))
	stopped := make(chan struct{})
	_, err := s.AddSource("flood", endless(stopped))
	require.NoError(t, err)
	waitUntil(t, func() bool { return handled.Load() > 1000 }, "the source does not flood the stream")
	for range 10 {
		l.Lock() // returns only if the dispatcher gives its turn up
		before := handled.Load()
		l.Unlock()
		waitUntil(t, func() bool { return handled.Load() > before }, "the dispatcher does not take its turn back")
	}
	require.NoError(t, s.DisconnectSource(testContext(t), "flood"))
	<-stopped
}

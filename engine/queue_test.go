package engine_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// TestDispatcherComesAndGoes makes a stream's dispatcher end as soon as it
// finds no work, while publishers append in bursts with pauses between
// them, so that appends race with the dispatcher's end and the start of
// the next one: each publisher's events still arrive in order, each once,
// in a stream whose capacity is small enough to make publishers wait.
func TestDispatcherComesAndGoes(t *testing.T) {
	const publishers, perPublisher, burst = 4, 20_000, 50
	e, log := newEngine(t)
	engine.SetIdleExit(e, 0)
	s := newStream(t, e, "in", engine.StreamConfig{Capacity: 8})
	byFunc := newOrderCheck(publishers)
	subscribe(t, s, "func", engine.Func("", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		byFunc.see(ev)
		return ev, nil
	}))

	publish(t, s, publishers, perPublisher, func(i int) {
		if i%burst == 0 {
			runtime.Gosched() // let the dispatcher run dry
		}
	})
	wait(t, e)
	require.Empty(t, byFunc.bad)
	for p := range publishers {
		require.Equal(t, perPublisher, byFunc.next[p], "events of publisher %d", p)
	}
	require.Equal(t, uint64(publishers*perPublisher), s.Stats().Appended)
	require.Zero(t, s.Stats().Pending)
	require.Empty(t, log.all())
}

// TestIdleStreamHasNoGoroutine checks that a stream's dispatcher ends once
// the stream is idle, and that the next event starts another.
func TestIdleStreamHasNoGoroutine(t *testing.T) {
	e, _ := newEngine(t)
	engine.SetIdleExit(e, 0)
	before := runtime.NumGoroutine()
	s := newStream(t, e, "s", engine.StreamConfig{})
	var got collector
	subscribe(t, s, "", got.sub("got"))
	require.Equal(t, before, runtime.NumGoroutine(), "a stream without events has a goroutine")
	for round := range 3 {
		appendAll(t, s, ints(10)...)
		wait(t, e)
		require.Equal(t, 10*(round+1), got.len())
		waitUntil(t, func() bool { return runtime.NumGoroutine() == before }, "the dispatcher of an idle stream does not end")
	}
}

package plugins

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// sdkMaxBatch is the most events the SDK puts in one batch: with
// SourceWindow batches not done, a plugin source has sent at most
// SourceWindow*sdkMaxBatch events.
const sdkMaxBatch = 4096

// holder is an emit function's state that takes every event and keeps its
// Done function without calling it, as a stream whose subscribers have not
// finished would.
type holder struct {
	mu    sync.Mutex
	n     int
	dones []func(error)
}

// emit takes ev and holds its Done function.
func (h *holder) emit(_ context.Context, ev engine.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	if a, ok := ev.(engine.Acked); ok {
		h.dones = append(h.dones, a.Done)
	}
	return nil
}

// count is how many events emit took.
func (h *holder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// release calls, with nil, the Done functions held so far, and returns how
// many.
func (h *holder) release() int {
	h.mu.Lock()
	dones := h.dones
	h.dones = nil
	h.mu.Unlock()
	for _, done := range dones {
		done(nil)
	}
	return len(dones)
}

// holding opens a flooding dice-source on h and runs it into a holder until
// ctx ends; Run's result goes to the channel. The held events are released
// when the test ends, before the host is closed.
func holding(t *testing.T, ctx context.Context, h *Host, name string) (*holder, <-chan error) {
	t.Helper()
	src, err := h.OpenSource(ctx, "dice-source", name, map[string]any{"period": 0})
	require.NoError(t, err)
	held := &holder{}
	t.Cleanup(func() { held.release() })
	ran := make(chan error, 1)
	go func() { ran <- src.Run(ctx, held.emit) }()
	return held, ran
}

// settled waits until n has not changed for a quiet period and returns it.
func settled(t *testing.T, n func() int) int {
	t.Helper()
	const quiet = 300 * time.Millisecond
	last, since := -1, time.Now()
	require.Eventually(t, func() bool {
		if v := n(); v != last {
			last, since = v, time.Now()
			return false
		}
		return last > 0 && time.Since(since) >= quiet
	}, time.Minute, 5*time.Millisecond, "the count never stopped growing")
	return last
}

// returns waits for Run's result.
func returns(t *testing.T, ran <-chan error) error {
	t.Helper()
	select {
	case err := <-ran:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// TestSourceWaitsForItsEventsToBeDone: a plugin source flooding an emit
// that takes every event but finishes none stops after its window of
// batches; finishing them lets it go on, again for at most a window.
func TestSourceWaitsForItsEventsToBeDone(t *testing.T) {
	h := newHost(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	held, ran := holding(t, ctx, h, "flood")

	first := settled(t, held.count)
	require.GreaterOrEqual(t, first, SourceWindow, "a window of batches, each of one event or more")
	require.LessOrEqual(t, first, SourceWindow*sdkMaxBatch, "no more than a window of batches while none is done")

	require.Equal(t, first, held.release(), "every event came with its Done function")
	require.Eventually(t, func() bool { return held.count() > first }, time.Minute, time.Millisecond,
		"the source goes on once its events are done")
	second := settled(t, held.count)
	require.LessOrEqual(t, second-first, SourceWindow*sdkMaxBatch, "and stops again after a window")
	t.Logf("events taken while none was done: %d, then %d more", first, second-first)

	cancel()
	require.NoError(t, returns(t, ran))
}

// TestSourceStopLingersUntilDone: stopping Run while events are not done
// returns at once, but the plugin's stream stays open, so that it still
// learns their outcome, until they are done.
func TestSourceStopLingersUntilDone(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{Log: &log, LogLevel: LevelDebug})
	ctx, cancel := context.WithCancel(t.Context())
	held, ran := holding(t, ctx, h, "lingering")
	settled(t, held.count)

	cancel()
	require.NoError(t, returns(t, ran), "a stopped source ends normally")
	const ended = "[example lingering] debug: source ended"
	require.Never(t, func() bool { return strings.Contains(log.String(), ended) }, 300*time.Millisecond, 5*time.Millisecond,
		"the plugin's instance is still open while its events are not done")
	require.NotZero(t, held.release())
	require.Eventually(t, func() bool { return strings.Contains(log.String(), ended) }, time.Minute, 5*time.Millisecond,
		"the stream ends once its events are done; log:\n%s", &log)
}

// TestCloseWhileEventsAreNotDone: a host closes even while a stopped
// source's stream is waiting for events that are never done, and finishing
// them afterwards is harmless.
func TestCloseWhileEventsAreNotDone(t *testing.T) {
	h := newHost(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	held, ran := holding(t, ctx, h, "held")
	settled(t, held.count)

	cancel()
	require.NoError(t, returns(t, ran))
	closed := make(chan error, 1)
	go func() { closed <- h.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for events that are not done")
	}
	released := make(chan int, 1)
	go func() { released <- held.release() }()
	select {
	case n := <-released:
		require.NotZero(t, n)
	case <-time.After(10 * time.Second):
		t.Fatal("finishing events after Close blocked")
	}
}

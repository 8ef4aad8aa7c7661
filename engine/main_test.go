package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rayvens/rayvens/engine"
)

// TestMain fails the run if any test leaves a goroutine behind, so every test
// must shut its engine down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// deadline bounds every wait in these tests; reaching it is a failure, never
// a way to synchronize.
const deadline = 10 * time.Second

// tick is how often require.Eventually polls.
const tick = time.Millisecond

// errorLog collects what the engine hands to Options.OnError.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// streamErrors returns the reported errors that are *engine.StreamError.
func (l *errorLog) streamErrors() []*engine.StreamError {
	var out []*engine.StreamError
	for _, err := range l.all() {
		var se *engine.StreamError
		if errors.As(err, &se) {
			out = append(out, se)
		}
	}
	return out
}

// newEngine returns an engine whose failures go to the returned log, and
// shuts it down when the test ends (Shutdown is idempotent, so tests that
// shut down themselves are fine).
func newEngine(t testing.TB) (*engine.Engine, *errorLog) {
	t.Helper()
	log := &errorLog{}
	e := engine.New(engine.Options{OnError: log.add})
	t.Cleanup(func() { shutdown(t, e) })
	return e, log
}

func shutdown(t testing.TB, e *engine.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	require.NoError(t, e.Shutdown(ctx))
}

// testContext is cancelled at the deadline or when the test ends.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

func newStream(t testing.TB, e *engine.Engine, name string, cfg engine.StreamConfig) *engine.Stream {
	t.Helper()
	s, err := e.NewStream(name, cfg)
	require.NoError(t, err)
	return s
}

func subscribe(t testing.TB, s *engine.Stream, name string, sub engine.Subscriber) *engine.Stream {
	t.Helper()
	d, err := s.Subscribe(name, sub)
	require.NoError(t, err)
	require.NotNil(t, d)
	return d
}

func wait(t testing.TB, e *engine.Engine) {
	t.Helper()
	require.NoError(t, e.Wait(testContext(t)))
}

// waitUntil polls cond on the test goroutine (so cond may use require) until
// it holds, and fails the test at the deadline.
func waitUntil(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for !cond() {
		select {
		case <-ticker.C:
		case <-timeout.C:
			require.FailNow(t, msg)
		}
	}
}

// fill appends 0 .. n-1 to s without ever blocking, retrying while the
// stream is full, for pipelines that hold at least n events while stalled.
func fill(t testing.TB, s *engine.Stream, n int) {
	t.Helper()
	next := 0
	waitUntil(t, func() bool {
		for next < n {
			ok, err := s.TryAppend(next)
			require.NoError(t, err)
			if !ok {
				return false
			}
			next++
		}
		return true
	}, "the pipeline does not take the events it has room for")
}

func appendAll(t testing.TB, s *engine.Stream, evs ...engine.Event) {
	t.Helper()
	ctx := testContext(t)
	for _, ev := range evs {
		require.NoError(t, s.Append(ctx, ev))
	}
}

func ints(n int) []engine.Event {
	evs := make([]engine.Event, n)
	for i := range evs {
		evs[i] = i
	}
	return evs
}

// collector is a subscriber that records what it receives.
type collector struct {
	mu  sync.Mutex
	evs []engine.Event
}

func (c *collector) handle(_ context.Context, ev engine.Event) (engine.Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evs = append(c.evs, ev)
	return nil, nil
}

func (c *collector) sub(name string) engine.Subscriber { return engine.Func(name, c.handle) }

func (c *collector) events() []engine.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]engine.Event(nil), c.evs...)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.evs)
}

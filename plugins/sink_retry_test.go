package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// outcomes collects the done calls of delivered events.
type outcomes struct {
	mu   sync.Mutex
	errs map[int]error
}

func (o *outcomes) done(i int) func(error) {
	return func(err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.errs == nil {
			o.errs = map[int]error{}
		}
		o.errs[i] = err
	}
}

func (o *outcomes) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.errs)
}

// TestSinkOutageKeepsOrder: while the endpoint is down, every batch fails
// and is sent again with backoff; once it is back, every event arrives
// exactly once and in order, and each is acknowledged.
func TestSinkOutageKeepsOrder(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, Log: &log, SinkRetryFor: time.Minute})
	dir := t.TempDir()
	out, down := filepath.Join(dir, "out.txt"), filepath.Join(dir, "down")
	require.NoError(t, os.WriteFile(down, nil, 0o644))
	ctx := t.Context()
	sink, err := h.OpenSink(ctx, "flaky-sink", "flaky", map[string]any{"path": out, "down": down}, nil)
	require.NoError(t, err)

	const n = 600
	var got outcomes
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for i := range n {
			if err := sink.Deliver(ctx, fmt.Sprintf("ev-%d", i), got.done(i)); err != nil {
				t.Errorf("deliver %d: %v", i, err)
				return
			}
		}
	}()
	require.Eventually(t, func() bool { return strings.Count(log.String(), "retrying") >= 3 }, time.Minute, time.Millisecond,
		"the sink retries while the endpoint is down")
	require.Zero(t, got.count(), "nothing is acknowledged while the endpoint is down")
	require.NoError(t, os.Remove(down))
	select {
	case <-delivered:
	case <-time.After(time.Minute):
		t.Fatal("the deliveries did not all go through")
	}
	require.NoError(t, sink.Close(ctx))
	require.Equal(t, n, got.count())
	for i, err := range got.errs {
		require.NoError(t, err, "event %d", i)
	}
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("ev-%d", i)
	}
	require.Equal(t, want, lines, "every event once, in order")
}

// TestSinkRetryBudget: a batch that cannot be written within SinkRetryFor
// fails, with the reason, and the sink goes on with the next ones.
func TestSinkRetryBudget(t *testing.T) {
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, SinkRetryFor: 300 * time.Millisecond})
	dir := t.TempDir()
	out, down := filepath.Join(dir, "out.txt"), filepath.Join(dir, "down")
	require.NoError(t, os.WriteFile(down, nil, 0o644))
	ctx := t.Context()
	sink, err := h.OpenSink(ctx, "flaky-sink", "flaky", map[string]any{"path": out, "down": down}, nil)
	require.NoError(t, err)
	var got outcomes
	require.NoError(t, sink.Deliver(ctx, "lost", got.done(0)))
	require.Eventually(t, func() bool { return got.count() == 1 }, time.Minute, time.Millisecond)
	require.ErrorContains(t, got.errs[0], "flaky-sink: not written after")
	require.ErrorContains(t, got.errs[0], "the endpoint is down")

	require.NoError(t, os.Remove(down))
	require.NoError(t, sink.Deliver(ctx, "next", got.done(1)))
	require.NoError(t, sink.Close(ctx))
	require.NoError(t, got.errs[1])
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "next\n", string(b))
}

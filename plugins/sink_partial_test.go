package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deliverAll delivers the bodies to sink in order, from a goroutine as an
// engine stream does, and waits until every one has its outcome; it
// returns the outcomes by index.
func deliverAll(t *testing.T, sink *Sink, bodies []string) map[int]error {
	t.Helper()
	ctx := t.Context()
	var got outcomes
	go func() {
		for i, body := range bodies {
			if err := sink.Deliver(ctx, body, got.done(i)); err != nil {
				t.Errorf("deliver %d: %v", i, err)
				return
			}
		}
	}()
	require.Eventually(t, func() bool { return got.count() == len(bodies) }, 2*time.Minute, time.Millisecond,
		"every event has its outcome")
	require.NoError(t, sink.Close(ctx))
	got.mu.Lock()
	defer got.mu.Unlock()
	return got.errs
}

// fileLines returns the lines of the file at path.
func fileLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestSinkPartialRefusal: a sink that writes its events one by one refuses
// some for good in the middle of batches. Each refused event fails with
// the sink's reason; the events before it in its batch are done, written
// once; the events after it, not tried, are sent again and written once;
// order holds.
func TestSinkPartialRefusal(t *testing.T) {
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, SinkRetryFor: time.Minute})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.txt")
	sink, err := h.OpenSink(t.Context(), "flaky-sink", "flaky", map[string]any{"path": out, "down": filepath.Join(dir, "down")}, nil)
	require.NoError(t, err)

	const n = 2000
	var bodies, want []string
	refused := map[int]bool{}
	for i := range n {
		if i%97 == 50 {
			refused[i] = true
			bodies = append(bodies, fmt.Sprintf("reject-%d", i))
			continue
		}
		bodies = append(bodies, fmt.Sprintf("ev-%d", i))
		want = append(want, bodies[i])
	}
	got := deliverAll(t, sink, bodies)

	place := regexp.MustCompile(`\(event (\d+) of (\d+) in its batch\)$`)
	midBatch := 0
	for i := range n {
		if !refused[i] {
			require.NoError(t, got[i], "event %d", i)
			continue
		}
		require.ErrorContains(t, got[i], fmt.Sprintf("flaky-sink: not written: refused reject-%d (event ", i))
		m := place.FindStringSubmatch(got[i].Error())
		require.NotNil(t, m, got[i].Error())
		at, _ := strconv.Atoi(m[1])
		of, _ := strconv.Atoi(m[2])
		if at < of {
			midBatch++
		}
	}
	require.Equal(t, want, fileLines(t, out), "every other event once, in order")
	require.NotZero(t, midBatch, "some refused event had others after it in its batch")
	t.Logf("%d refused events, %d of them with events after them in their batch", len(refused), midBatch)
}

// TestSinkPartialOutage: a sink's endpoint goes down for a moment after
// some events, in the middle of batches. The events it wrote are done and
// never sent again; the rest of the batch is sent again with backoff:
// every event is written exactly once, in order.
func TestSinkPartialOutage(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, Log: &log, SinkRetryFor: time.Minute})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.txt")
	sink, err := h.OpenSink(t.Context(), "flaky-sink", "flaky", map[string]any{"path": out, "down": filepath.Join(dir, "down")}, nil)
	require.NoError(t, err)

	const n = 2000
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("ev-%d", i)
		if i%331 == 100 {
			bodies[i] = fmt.Sprintf("outage-%d", i)
		}
	}
	got := deliverAll(t, sink, bodies)
	for i := range n {
		require.NoError(t, got[i], "event %d", i)
	}
	require.Equal(t, bodies, fileLines(t, out), "every event once, in order: none written before a failure was sent again")
	require.Contains(t, log.String(), "could not write a batch; retrying")
	require.Regexp(t, `written=[1-9]`, log.String(), "some batch was written in part before its retry")
	require.Zero(t, sink.Resent(), "no plugin restart")
}

package plugins

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rayvens/rayvens/engine"
)

// TestLeakNothingLeftAfterClose runs hosts over real plugins (the example
// plugin's source and sink, the flaky plugin's sink), once with the
// example plugin SIGKILLed and restarted mid-stream, and checks that once
// everything is closed no goroutine is left and the process has no more
// open files than before: a run that restarts plugins for hours does not
// accumulate either.
func TestLeakNothingLeftAfterClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("open files are counted in /proc/self/fd")
	}
	ignore := goleak.IgnoreCurrent()
	// The first host makes the process open what it opens once and keeps
	// (the network poller, for one): count the files after it.
	leakCycle(t, false)
	goleak.VerifyNone(t, ignore)
	before := openFiles(t)
	for _, kill := range []bool{false, true} {
		leakCycle(t, kill)
		goleak.VerifyNone(t, ignore)
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			now := openFiles(t)
			assert.LessOrEqual(c, len(now), len(before), "open files after a host with kill=%v: %v; before: %v", kill, now, before)
		}, 10*time.Second, 10*time.Millisecond)
	}
}

// leakCycle opens a host, runs a counted source into two sinks and an
// endless source into a subscriber, kills the example plugin once events
// flow if kill is set, and closes it all: the engine, the sinks, the host.
func leakCycle(t *testing.T, kill bool) {
	t.Helper()
	h, err := NewHost(Options{PluginDirs: []string{pluginDir, filepath.Join(pluginDir, "flaky")}, Log: testLog{t}, RestartBackoff: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx := t.Context()
	dir := t.TempDir()
	rolls, copies := filepath.Join(dir, "rolls.jsonl"), filepath.Join(dir, "copies.txt")
	counted, err := h.OpenSource(ctx, "dice-source", "counted", map[string]any{"period": 0, "count": 2000})
	require.NoError(t, err)
	endless, err := h.OpenSource(ctx, "dice-source", "endless", map[string]any{"period": 1})
	require.NoError(t, err)
	jsonl, err := h.OpenSink(ctx, "jsonl-sink", "rolls", map[string]any{"path": rolls}, nil)
	require.NoError(t, err)
	flaky, err := h.OpenSink(ctx, "flaky-sink", "copies", map[string]any{"path": copies, "down": filepath.Join(dir, "down")}, nil)
	require.NoError(t, err)

	eng := engine.New(engine.Options{OnError: func(err error) { t.Errorf("failure: %v", err) }})
	s := pipeline(t, h, eng, counted, jsonl, 64)
	_, err = s.Subscribe(flaky.Name(), engine.ToSink(flaky.Name(), flaky))
	require.NoError(t, err)
	ticks, err := eng.NewStream("ticks", engine.StreamConfig{Capacity: 16})
	require.NoError(t, err)
	_, err = ticks.Subscribe("drop", engine.Func("drop", func(context.Context, engine.Event) (engine.Event, error) { return nil, nil }))
	require.NoError(t, err)
	_, err = ticks.AddSource(endless.Name(), endless)
	require.NoError(t, err)

	if kill {
		require.Eventually(t, func() bool { return lineCount(rolls) > 200 }, time.Minute, time.Millisecond)
		pid := h.pid("example")
		require.NotZero(t, pid)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		require.Eventually(t, func() bool { p := h.pid("example"); return p != 0 && p != pid }, time.Minute, time.Millisecond,
			"a new example plugin takes over")
	}
	require.Eventually(t, func() bool { return lineCount(rolls) >= 2000 }, time.Minute, time.Millisecond,
		"the counted source's events reach the sink")

	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, eng.Shutdown(wctx))
	require.NoError(t, jsonl.Close(wctx))
	require.NoError(t, flaky.Close(wctx))
	require.NoError(t, h.Close())
}

// lineCount counts the lines of a file being written (a line being
// written is not counted until its newline is there).
func lineCount(path string) int {
	data, _ := os.ReadFile(path)
	return bytes.Count(data, []byte("\n"))
}

// openFiles lists the process's open file descriptors, each with what it
// refers to.
func openFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		out = append(out, fmt.Sprintf("%s->%s", e.Name(), target))
	}
	return out
}

package plugins

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rayvens/rayvens/engine"
)

// pluginDir holds the example plugin and the test plugins (in bad/, flaky/
// and garbled/), built once.
var pluginDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rayvens-plugins-test")
	if err != nil {
		panic(err)
	}
	pluginDir = dir
	build := func(pkg, name string) {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			panic(fmt.Sprintf("building %s: %v", pkg, err))
		}
	}
	build("../examples/plugin", "rayvens-plugin-example")
	badDir := filepath.Join(dir, "bad")
	if err := os.Mkdir(badDir, 0o755); err != nil {
		panic(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "flaky"), 0o755); err != nil {
		panic(err)
	}
	build("./testdata/flakyplugin", filepath.Join("flaky", "rayvens-plugin-flaky"))
	if err := os.Mkdir(filepath.Join(dir, "garbled"), 0o755); err != nil {
		panic(err)
	}
	build("./testdata/garbledplugin", filepath.Join("garbled", "rayvens-plugin-garbled"))
	for _, mode := range []string{"stdout", "exits", "badversion", "badcookie"} {
		build("./testdata/badplugin", filepath.Join("bad", "rayvens-plugin-"+mode))
	}
	code := m.Run()
	os.RemoveAll(dir)
	// Every goroutine of a host, its instances and its processes ends with
	// Host.Close.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left behind:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// newHost returns a host over the example plugin whose log goes to the test.
func newHost(t *testing.T, opts Options) *Host {
	t.Helper()
	if opts.PluginDirs == nil {
		opts.PluginDirs = []string{pluginDir}
	}
	if opts.Log == nil {
		opts.Log = testLog{t}
	}
	h, err := NewHost(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// pipeline connects a plugin source to a plugin sink through an engine
// stream, the way a script's Stream(source_config=, sink_config=) does.
func pipeline(t *testing.T, h *Host, eng *engine.Engine, src *Source, sink *Sink, capacity int) *engine.Stream {
	t.Helper()
	s, err := eng.NewStream("s", engine.StreamConfig{Capacity: capacity})
	require.NoError(t, err)
	_, err = s.Subscribe(sink.Name(), engine.ToSink(sink.Name(), sink))
	require.NoError(t, err)
	if src != nil {
		_, err = s.AddSource(src.Name(), src)
		require.NoError(t, err)
	}
	return s
}

// readLines returns the bodies of a jsonl-sink file.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Body string `json:"body"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "each line is whole JSON: %q", sc.Text())
		out = append(out, line.Body)
	}
	require.NoError(t, sc.Err())
	return out
}

func TestSourceToSink(t *testing.T) {
	h := newHost(t, Options{})
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "rolls.jsonl")
	src, err := h.OpenSource(ctx, "dice-source", "dice", map[string]any{"period": 0, "count": 2000, "sides": 6})
	require.NoError(t, err)
	sink, err := h.OpenSink(ctx, "jsonl-sink", "file", map[string]any{"path": out}, nil)
	require.NoError(t, err)
	eng := engine.New(engine.Options{OnError: func(err error) { t.Errorf("failure: %v", err) }})
	pipeline(t, h, eng, src, sink, 64)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, eng.Wait(wctx), "the source ends after count events and everything drains")
	require.NoError(t, eng.Shutdown(wctx))
	require.NoError(t, sink.Close(wctx))
	lines := readLines(t, out)
	require.Len(t, lines, 2000)
	for _, l := range lines {
		n, err := strconv.Atoi(l)
		require.NoError(t, err)
		require.True(t, n >= 1 && n <= 6, "a roll of a six-sided die: %d", n)
	}
}

// TestSinkSurvivesPluginKill kills the plugin with SIGKILL in the middle of
// 10,000 events: the host restarts it, re-sends what was not acknowledged,
// and every event reaches the file (duplicates allowed, counted).
func TestSinkSurvivesPluginKill(t *testing.T) {
	h := newHost(t, Options{RestartBackoff: 10 * time.Millisecond})
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "events.jsonl")
	sink, err := h.OpenSink(ctx, "jsonl-sink", "file", map[string]any{"path": out}, nil)
	require.NoError(t, err)
	eng := engine.New(engine.Options{OnError: func(err error) { t.Errorf("failure: %v", err) }})
	s := pipeline(t, h, eng, nil, sink, 16)

	const total = 10000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < total; i++ {
			require.NoError(t, s.Append(ctx, Event{Body: []byte(strconv.Itoa(i)), ContentType: "text/plain"}))
		}
	}()
	// Kill once some, but not all, events have been written.
	// (Counting newlines: a line being written may be seen half-way.)
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(out)
		return bytes.Count(data, []byte("\n")) > total/5
	}, time.Minute, time.Millisecond)
	pid := h.pid("example")
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	wg.Wait()

	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, eng.Shutdown(wctx))
	require.NoError(t, sink.Close(wctx))
	require.NotEqual(t, pid, h.pid("example"), "a new plugin process took over")

	seen := map[string]int{}
	for _, l := range readLines(t, out) {
		seen[l]++
	}
	dups := 0
	for i := 0; i < total; i++ {
		n := seen[strconv.Itoa(i)]
		require.NotZero(t, n, "event %d reached the file", i)
		dups += n - 1
	}
	t.Logf("after the kill: %d events re-sent, %d written twice", sink.Resent(), dups)
	require.LessOrEqual(t, uint64(dups), sink.Resent(), "only re-sent events can be duplicates")
}

// TestSourceResumesAfterKill kills the plugin serving an endless source: the
// source is reopened in a new process and events keep coming.
func TestSourceResumesAfterKill(t *testing.T) {
	h := newHost(t, Options{RestartBackoff: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := h.OpenSource(ctx, "dice-source", "dice", map[string]any{"period": 1})
	require.NoError(t, err)
	var got atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, acking(func(engine.Event) { got.Add(1) }))
	}()
	require.Eventually(t, func() bool { return got.Load() > 5 }, time.Minute, time.Millisecond)
	pid := h.pid("example")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	before := got.Load()
	require.Eventually(t, func() bool { return got.Load() > before+5 && h.pid("example") != pid }, time.Minute, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// TestTooManyRestarts checks that a plugin that keeps dying fails the run
// with an error naming it.
func TestTooManyRestarts(t *testing.T) {
	h := newHost(t, Options{MaxRestarts: 2, RestartBackoff: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := h.OpenSource(ctx, "dice-source", "dice", map[string]any{"period": 1})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, acking(func(engine.Event) {})) }()
	for i := 0; i < 3; i++ {
		var pid int
		require.Eventually(t, func() bool { pid = h.pid("example"); return pid != 0 }, time.Minute, time.Millisecond)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		require.Eventually(t, func() bool { return h.pid("example") != pid || h.Err() != nil }, time.Minute, time.Millisecond)
	}
	select {
	case <-h.Failed():
		err := h.Err()
		require.Contains(t, err.Error(), "plugin example")
		require.Contains(t, err.Error(), "rayvens-plugin-example")
		require.Contains(t, err.Error(), "giving up")
	case <-time.After(time.Minute):
		t.Fatal("no fatal error")
	}
	err = <-done
	require.Error(t, err)
	require.Contains(t, err.Error(), "giving up")
}

func TestHandshakeFailures(t *testing.T) {
	bad := filepath.Join(pluginDir, "bad")
	tests := map[string]string{
		"stdout":     `wrote "hello from a chatty plugin" to stdout instead of the plugin handshake`,
		"exits":      "exited before completing the handshake",
		"badversion": "speaks another protocol version",
		"badcookie":  "exited before completing the handshake",
	}
	for mode, want := range tests {
		t.Run(mode, func(t *testing.T) {
			h := newHost(t, Options{PluginDirs: []string{}})
			path := filepath.Join(bad, "rayvens-plugin-"+mode)
			info := h.describe(context.Background(), path)
			require.Error(t, info.Err)
			require.Contains(t, info.Err.Error(), "plugin "+path+" could not be started: ")
			require.Contains(t, info.Err.Error(), want)
			require.NotContains(t, info.Err.Error(), "\n", "one line")
		})
	}
}

func TestUnknownKindAndValidation(t *testing.T) {
	h := newHost(t, Options{})
	ctx := context.Background()
	_, err := h.OpenSource(ctx, "dice-sorce", "x", nil)
	require.EqualError(t, err, `unknown connector kind "dice-sorce" (did you mean "dice-source"?)`)
	_, err = h.OpenSink(ctx, "jsonl-sink", "x", map[string]any{}, nil)
	require.EqualError(t, err, `jsonl-sink: missing required parameter "path"`)
	_, err = h.OpenSource(ctx, "dice-source", "x", map[string]any{"sides": "six"})
	require.EqualError(t, err, `dice-source: parameter "sides" must be an integer, got string`)
	_, err = h.OpenSource(ctx, "jsonl-sink", "x", map[string]any{"path": "p"})
	require.EqualError(t, err, `jsonl-sink is a sink, not a source`)
	_, err = NewHost(Options{PluginDirs: []string{"/nonexistent/plugins"}})
	require.EqualError(t, err, "plugin directory /nonexistent/plugins does not exist")
}

// TestFloodIntoSlowSink checks that a source flooding a stream that feeds a
// slow subscriber is held back: the host never holds more than the stream's
// capacity plus the protocol's window.
func TestFloodIntoSlowSink(t *testing.T) {
	h := newHost(t, Options{})
	ctx := context.Background()
	src, err := h.OpenSource(ctx, "dice-source", "flood", map[string]any{"period": 0})
	require.NoError(t, err)
	eng := engine.New(engine.Options{})
	s, err := eng.NewStream("s", engine.StreamConfig{Capacity: 16})
	require.NoError(t, err)
	release := make(chan struct{})
	var processed atomic.Int64
	_, err = s.Subscribe("slow", engine.Func("slow", func(ctx context.Context, ev engine.Event) (engine.Event, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		processed.Add(1)
		return nil, nil
	}))
	require.NoError(t, err)
	var emitted atomic.Int64
	_, err = s.AddSource("flood", engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		return src.Run(ctx, func(ctx context.Context, ev engine.Event) error {
			emitted.Add(1)
			return emit(ctx, ev)
		})
	}))
	require.NoError(t, err)
	// Let 200 events through, one at a time; the flood stays bounded.
	for i := 0; i < 200; i++ {
		select {
		case release <- struct{}{}:
		case <-time.After(time.Minute):
			t.Fatal("the subscriber got no event")
		}
		require.LessOrEqual(t, eng.Pending(), int64(16+2), "pending events stay within the stream's capacity")
		require.LessOrEqual(t, emitted.Load()-processed.Load(), int64(16+2+1), "the host reads no further than the stream takes")
	}
	close(release)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, eng.Shutdown(sctx))
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.WriteString(string(p))
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPluginLogs checks that plugin log lines reach the host's log prefixed
// with the plugin and instance names, filtered by level.
func TestPluginLogs(t *testing.T) {
	for _, level := range []Level{LevelDebug, LevelWarn} {
		t.Run(level.String(), func(t *testing.T) {
			var log syncBuffer
			h := newHost(t, Options{Log: &log, LogLevel: level})
			ctx, cancel := context.WithCancel(context.Background())
			src, err := h.OpenSource(ctx, "dice-source", "d1", map[string]any{"period": 1, "count": 3})
			require.NoError(t, err)
			require.NoError(t, src.Run(ctx, acking(func(engine.Event) {})))
			cancel()
			require.NoError(t, h.Close())
			if level == LevelDebug {
				require.Contains(t, log.String(), "rayvens: [example d1] debug: source opened")
			} else {
				require.NotContains(t, log.String(), "source opened", "quiet by default")
			}
		})
	}
}

// TestCloseEndsInstances checks that the host owns what it opened: Close,
// with a source running and a sink holding unacknowledged events, stops
// the source, fails those events and returns only once every instance
// goroutine is gone; nothing can be opened afterwards.
func TestCloseEndsInstances(t *testing.T) {
	h, err := NewHost(Options{PluginDirs: []string{pluginDir}, Log: testLog{t}})
	require.NoError(t, err)
	ctx := t.Context()
	src, err := h.OpenSource(ctx, "dice-source", "dice", map[string]any{"period": 1})
	require.NoError(t, err)
	var emitted, late atomic.Int64
	var closed atomic.Bool
	ran := make(chan error, 1)
	go func() {
		ran <- src.Run(ctx, acking(func(engine.Event) {
			emitted.Add(1)
			if closed.Load() {
				late.Add(1)
			}
		}))
	}()
	require.Eventually(t, func() bool { return emitted.Load() > 0 }, time.Minute, time.Millisecond)

	// A sink that never acknowledges: opening a FIFO nobody reads blocks
	// the plugin's instance, so the event stays in flight.
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	sink, err := h.OpenSink(ctx, "jsonl-sink", "file", map[string]any{"path": fifo}, nil)
	require.NoError(t, err)
	acked := make(chan error, 1)
	require.NoError(t, sink.Deliver(ctx, "late", func(err error) { acked <- err }))

	require.NoError(t, h.Close())
	closed.Store(true)
	select {
	case err := <-ran:
		require.NoError(t, err, "a source stopped by its host ends normally")
	case <-time.After(time.Minute):
		t.Fatal("the source instance did not return")
	}
	require.Zero(t, late.Load(), "the source emitted after Close returned")
	select {
	case err := <-acked:
		require.ErrorContains(t, err, "stopped before the plugin acknowledged the event")
	default:
		t.Fatal("Close returned before the sink's unacknowledged event was failed")
	}
	require.Error(t, sink.Deliver(ctx, "after", func(error) {}))
	_, err = h.OpenSink(ctx, "jsonl-sink", "x", map[string]any{"path": "p"}, nil)
	require.ErrorIs(t, err, ErrHostClosed)
	require.ErrorIs(t, src.Run(ctx, acking(func(engine.Event) {})), ErrHostClosed)
}

// acking returns an emit function that calls f with each event and
// acknowledges it at once, as a stream with a quick subscriber would.
func acking(f func(engine.Event)) func(context.Context, engine.Event) error {
	return func(_ context.Context, ev engine.Event) error {
		if a, ok := ev.(engine.Acked); ok {
			f(a.Event)
			a.Done(nil)
			return nil
		}
		f(ev)
		return nil
	}
}

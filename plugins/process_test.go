package plugins

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// A plugin that breaks the protocol, with a message the host cannot
// decode or one it could not encode, is alive: its instance fails with
// the reason, and it is not restarted as if it had crashed (five of
// those would fail the host, and every instance of the plugin with it).

// runBriefly runs src until it returns, for at most a minute.
func runBriefly(t *testing.T, src *Source) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := src.Run(ctx, acking(func(engine.Event) {}))
	require.NoError(t, ctx.Err(), "the source ended by itself")
	return err
}

// requireNoRestart checks that the host took no plugin for crashed.
func requireNoRestart(t *testing.T, h *Host, log *syncBuffer) {
	t.Helper()
	require.NotContains(t, log.String(), "stopped unexpectedly")
	require.NotContains(t, log.String(), "restart")
	require.NoError(t, h.Err())
}

// TestSourcePluginSendsAMessageTheHostCannotDecode: a source plugin sends
// a batch with a header that is not valid UTF-8.
func TestSourcePluginSendsAMessageTheHostCannotDecode(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "garbled")}, Log: &log, RestartBackoff: time.Millisecond})
	src, err := h.OpenSource(t.Context(), "garbled-source", "g", nil)
	require.NoError(t, err)
	err = runBriefly(t, src)
	require.EqualError(t, err, "garbled-source: the plugin broke the connector protocol: failed to unmarshal the received message: string field contains invalid UTF-8")
	requireNoRestart(t, h, &log)
}

// TestSinkPluginSendsAnAckTheHostCannotDecode: a sink plugin acknowledges
// a batch with an error that is not valid UTF-8. The batch's event fails
// with the reason, and so do the ones after it.
func TestSinkPluginSendsAnAckTheHostCannotDecode(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "garbled")}, Log: &log, RestartBackoff: time.Millisecond})
	sink, err := h.OpenSink(t.Context(), "garbled-sink", "g", nil, nil)
	require.NoError(t, err)
	got := deliverAll(t, sink, []string{"one", "two"})
	for i := range 2 {
		require.EqualError(t, got[i], "garbled-sink: the plugin broke the connector protocol: failed to unmarshal the received message: string field contains invalid UTF-8")
	}
	requireNoRestart(t, h, &log)
}

// TestSourceSkipsAFileItCannotSend: file-source-raw, in its plugin
// process, finds a file whose name is not valid UTF-8 (Linux allows any
// bytes but / in a name), which cannot travel as its CamelFileName header:
// it says so once and leaves the file, and the source goes on (before, the
// plugin's stream broke, and the source ended).
func TestSourceSkipsAFileItCannotSend(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, Log: &log, RestartBackoff: time.Millisecond})
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad\xff.txt")
	require.NoError(t, os.WriteFile(bad, []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.txt"), []byte("y"), 0o644))
	src, err := h.OpenSource(t.Context(), "file-source-raw", "files", map[string]any{"path": dir, "period": 10})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, acking(func(ev engine.Event) {
			mu.Lock()
			got = append(got, string(ev.(camel.Event).Body))
			mu.Unlock()
		}))
	}()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1 && strings.Contains(log.String(), "is not valid UTF-8 text, so it cannot be sent")
	}, 20*time.Second, 5*time.Millisecond, "the good file is read and the bad one reported; log:\n%s", &log)
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, []string{"y"}, got)
	require.Equal(t, 1, strings.Count(log.String(), "is not valid UTF-8 text"), "said once")
	require.FileExists(t, bad)
	requireNoRestart(t, h, &log)
}

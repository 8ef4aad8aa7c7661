package plugins

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

// TestSourcePluginCannotEncodeAnEvent: file-source-raw, in its plugin
// process, reads a file whose name is not valid UTF-8 (Linux allows any
// bytes but / in a name): the event's CamelFileName header cannot be
// encoded, and the plugin's stream fails. The source ends with the reason
// and the plugin is not restarted; the file is left where it is.
func TestSourcePluginCannotEncodeAnEvent(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, Log: &log, RestartBackoff: time.Millisecond})
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad\xff.txt")
	require.NoError(t, os.WriteFile(bad, []byte("x"), 0o644))
	src, err := h.OpenSource(t.Context(), "file-source-raw", "files", map[string]any{"path": dir, "period": 10})
	require.NoError(t, err)
	err = runBriefly(t, src)
	require.EqualError(t, err, "file-source-raw: the plugin broke the connector protocol: error while marshaling: string field contains invalid UTF-8")
	requireNoRestart(t, h, &log)
	require.FileExists(t, bad)
}

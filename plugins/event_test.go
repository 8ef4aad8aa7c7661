package plugins

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSinkRefusesAnEventTheWireCannotCarry: an event with a header, a
// header name or a content type that is not valid UTF-8 (a Go embedder
// can deliver one) cannot be encoded for the plugin. It fails alone, with
// a reason that names the header and not its value; the events around it
// are written, and the plugin is not taken for crashed.
func TestSinkRefusesAnEventTheWireCannotCarry(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, Log: &log, RestartBackoff: time.Millisecond})
	dir := t.TempDir()
	sink, err := h.OpenSink(t.Context(), "file-sink", "files", map[string]any{"path": dir}, nil)
	require.NoError(t, err)

	named := func(name string, headers map[string]string) Event {
		hs := map[string]string{"CamelFileName": name}
		for k, v := range headers {
			hs[k] = v
		}
		return Event{Body: []byte("body of " + name), ContentType: "text/plain", Headers: hs}
	}
	events := []Event{
		named("a.txt", nil),
		named("b.txt", map[string]string{"h": "SECRET\xc3"}),
		named("c.txt", nil),
		named("d.txt", map[string]string{"bad\xffname": "v"}),
		{Body: []byte("e"), ContentType: "text/\xc3", Headers: map[string]string{"CamelFileName": "e.txt"}},
		named("f.txt", nil),
	}
	var got outcomes
	for i, ev := range events {
		if err := sink.Deliver(t.Context(), ev, got.done(i)); err != nil {
			got.done(i)(err) // as engine.ToSink does with an event refused before it was taken
		}
	}
	require.Eventually(t, func() bool { return got.count() == len(events) }, time.Minute, time.Millisecond,
		"every event has its outcome")
	require.NoError(t, sink.Close(t.Context()))

	got.mu.Lock()
	defer got.mu.Unlock()
	for _, i := range []int{0, 2, 5} {
		require.NoError(t, got.errs[i], "event %d", i)
		name := events[i].Headers["CamelFileName"]
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, "body of "+name, string(b))
	}
	require.EqualError(t, got.errs[1], `file-sink: header "h" is not valid UTF-8`)
	require.EqualError(t, got.errs[3], `file-sink: header name "bad\xffname" is not valid UTF-8`)
	require.EqualError(t, got.errs[4], `file-sink: the content type is not valid UTF-8`)
	for _, name := range []string{"b.txt", "d.txt", "e.txt"} {
		require.NoFileExists(t, filepath.Join(dir, name))
	}
	require.NotContains(t, got.errs[1].Error(), "SECRET", "a header's value stays out of the error")
	require.NotContains(t, log.String(), "SECRET")
	require.NotContains(t, log.String(), "stopped unexpectedly")
	require.NotContains(t, log.String(), "restart")
	require.NoError(t, h.Err())
}

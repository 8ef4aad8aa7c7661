package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDeadLetterToASink: a webhook request whose event a subscriber fails
// on is dead-lettered into a file-sink: the request is answered 202 once
// the record is written (the event is handled), the record names the
// stream, the subscriber, the error with its position, and the event, and
// the run exits 0.
func TestDeadLetterToASink(t *testing.T) {
	out := t.TempDir()
	script := filepath.Join(t.TempDir(), "dl.star")
	require.NoError(t, os.WriteFile(script, []byte(`
port, out = int(argv[0]), argv[1]
failed = Stream("failed", sink_config=dict(kind="file-sink", path=out))
requests = Stream("requests", source_config=dict(kind="webhook-source", port=port), dead_letter=failed)

def check(event):
    if event == "bad":
        fail("no bad events")

requests >> check
`), 0o644))
	run := startWebhookRun(t, script, out)
	client := http.Client{Timeout: 20 * time.Second}
	resp, err := client.Post(run.url, "text/plain", strings.NewReader("bad"))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)

	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	var records []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			b, err := os.ReadFile(filepath.Join(out, e.Name()))
			require.NoError(t, err)
			records = append(records, string(b))
		}
	}
	require.Equal(t, []string{`{"error":"` + script + `:8:13: fail: no bad events","event":"bad","stream":"requests","subscriber":"check"}`}, records,
		"answered 202 once the dead letter was written")

	require.NoError(t, run.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, run.cmd, 20*time.Second), "a dead-lettered event is not a failure; stderr:\n%s", run.stderr)
	require.NotContains(t, run.stderr.String(), "no bad events")
}

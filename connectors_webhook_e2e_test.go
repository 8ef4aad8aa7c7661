package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestWebhookExample runs examples/webhook.star: each POST is answered 202
// once accepted and ends up in its own file; SIGTERM ends the run with 0.
func TestWebhookExample(t *testing.T) {
	out := t.TempDir()
	run := startWebhookRun(t, "examples/webhook.star", out)
	cmd, stdout, stderr, url := run.cmd, run.stdout, run.stderr, run.url

	bodies := []string{"hello", `{"n": 2}`, "three\nlines\n"}
	client := http.Client{Timeout: 20 * time.Second}
	for _, body := range bodies {
		resp, err := client.Post(url, "text/plain", strings.NewReader(body))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "POST %q", body)
	}
	resp, err := client.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	// The requests were accepted one after the other, so the actor names
	// the files in that order.
	want := map[string]string{}
	for i, body := range bodies {
		want[fmt.Sprintf("event-%d.txt", i+1)] = body
	}
	require.Eventually(t, func() bool { return filesEqual(out, want) }, 20*time.Second, 10*time.Millisecond,
		"the files written; stderr:\n%s", stderr)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, cmd, 20*time.Second), "a graceful stop exits 0; stderr:\n%s", stderr)
	require.Empty(t, stdout.String())
	require.NotContains(t, stderr.String(), "panic")
}

// webhookRun is a `rayvens run` of a script whose webhook-source listens
// on the port given as its first argument.
type webhookRun struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	url            string
}

// startWebhookRun runs script with a free port and out as its arguments,
// and returns once its webhook listens; the process is killed when the
// test ends.
func startWebhookRun(t *testing.T, script, out string) webhookRun {
	t.Helper()
	port := freePort(t)
	r := webhookRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, url: fmt.Sprintf("http://127.0.0.1:%d/webhook", port)}
	r.cmd = exec.Command(binary, "run", "--log-level", "info", script, strconv.Itoa(port), out)
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	require.Eventually(t, func() bool { return strings.Contains(r.stderr.String(), "listening on "+r.url) },
		20*time.Second, 10*time.Millisecond, "the webhook listens; stderr:\n%s", r.stderr)
	return r
}

// filesEqual reports whether dir holds exactly the files of want (name ->
// content), ignoring hidden files (a file-sink's temporary files).
func filesEqual(dir string, want map[string]string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	got := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return false
		}
		got[e.Name()] = string(b)
	}
	if len(got) != len(want) {
		return false
	}
	for name, content := range want {
		if got[name] != content {
			return false
		}
	}
	return true
}

// TestWebhookAnswersWhenDone: a POST is answered 202 only once its event is
// done end to end, here written by a file-sink (so the file is there when
// the answer comes), and 500 with the reason when a subscriber failed on it.
func TestWebhookAnswersWhenDone(t *testing.T) {
	out := t.TempDir()
	script := filepath.Join(t.TempDir(), "done.star")
	require.NoError(t, os.WriteFile(script, []byte(`
port, out = int(argv[0]), argv[1]
requests = Stream("requests", source_config=dict(kind="webhook-source", port=port))

def check(event):
    if event == "bad":
        fail("no bad events")
    return OutputEvent(event, {"CamelFileName": event + ".txt"})

requests >> check >> Stream("files", sink_config=dict(kind="file-sink", path=out))
`), 0o644))
	run := startWebhookRun(t, script, out)
	cmd, stderr, url := run.cmd, run.stderr, run.url

	client := http.Client{Timeout: 20 * time.Second}
	post := func(body string) (int, string) {
		resp, err := client.Post(url, "text/plain", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	for _, body := range []string{"one", "two"} {
		code, _ := post(body)
		require.Equal(t, http.StatusAccepted, code)
		got, err := os.ReadFile(filepath.Join(out, body+".txt"))
		require.NoError(t, err, "answered 202 before the sink wrote the event")
		require.Equal(t, body, string(got))
	}
	code, text := post("bad")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, text, `stream "requests": subscriber "check"`)
	require.Contains(t, text, "no bad events")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err := waitWithin(t, cmd, 20*time.Second)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "a run with a failed event exits 1; stderr:\n%s", stderr)
	require.Equal(t, 1, ee.ExitCode())
	require.Contains(t, stderr.String(), "no bad events")
}

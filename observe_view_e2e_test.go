package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/internal/browser"
)

// The live views of a running pipeline (testdata/observed.star): the
// admin page in a real headless browser, and --stats on stderr under a
// pseudo-terminal and without one.

// observedSummary are the final --stats lines of testdata/observed.star
// for its deterministic streams.
var observedSummary = []string{
	"rayvens: stats:   numbers: appended 20, delivered 16, dropped 4, errors 5, pending 0",
	"rayvens: stats:   out: appended 16, delivered 16, dropped 0, errors 0, pending 0; sink out-file-sink: acked 16, retries 0",
}

func TestTheAdminPageOfARunningPipeline(t *testing.T) {
	path, err := browser.Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	cmd, base, stderr := startObserved(t, filepath.Join("testdata", "observed.star"), filepath.Join(t.TempDir(), "out.txt"))
	b := browser.Browser{Path: path, Profile: t.TempDir()}

	// The page shows the rates once the sampler has measured a second:
	// load it until ticks' rate is there.
	ticks := regexp.MustCompile(`data-stream="ticks"><rect[^>]*></rect><text[^>]*>ticks</text><text x="10" y="35" class="figure rates">in ([0-9.]+)/s · out ([0-9.]+)/s</text>`)
	var dom string
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		dom, err = b.DumpDOM(ctx, base+"/", 3000)
		require.NoError(t, err)
		m := ticks.FindStringSubmatch(dom)
		return m != nil && m[1] != "0.0"
	}, time.Minute, 100*time.Millisecond, "the ticks' rate on the page; stderr:\n%s", stderr)

	require.Contains(t, dom, `class="status live"`)
	require.Regexp(t, `data-stream="numbers">.*pending 0 · errors 5`, dom, "the stream's errors")
	require.Contains(t, dom, `class="figure backlog bad">pending 0 · errors 5`, "marked as errors")
	require.Contains(t, dom, "acked 16 · retries 0", "the file-sink's acknowledgements")
	for _, s := range []string{">timer-source<", ">file-sink<", ">check<", ">function<"} {
		require.Contains(t, dom, s)
	}
	require.Contains(t, dom, `<tr data-stream="numbers"><td>numbers</td>`)
	require.NotContains(t, dom, `data-stream="numbers&gt;&gt;check"`, "the unread derived streams are not listed")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	requireObservedExit(t, cmd)
}

// requireObservedExit waits for testdata/observed.star's run: it exits 1,
// for its subscriber's five failures.
func requireObservedExit(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 1, exit.ExitCode())
}

func TestStatsWithoutATerminal(t *testing.T) {
	cmd := exec.Command(binary, "run", "--stats", "--stats-interval", "200ms", filepath.Join("testdata", "observed.star"), filepath.Join(t.TempDir(), "out.txt"))
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(errPipe)
	// A line per stream every interval, until stopped.
	seen := false
	for !seen && lines.Scan() {
		l := lines.Text()
		require.NotContains(t, l, "\x1b", "no escape sequence without a terminal")
		seen = regexp.MustCompile(`^rayvens: stats: ticks: in [0-9.]+/s, out [0-9.]+/s, pending \d+, errors 0, dropped 0$`).MatchString(l)
	}
	require.True(t, seen, "a line for the stream ticks")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	requireObservedExit(t, cmd)
	out := strings.Join(rest, "\n")
	require.NotContains(t, out, ">>", "only the pipeline's streams")
	require.Regexp(t, `rayvens: stats: after [0-9.]+m?s:`, out, "a summary at the end")
	for _, l := range observedSummary {
		require.Contains(t, out, l)
	}
}

func TestStatsUnderATerminal(t *testing.T) {
	cmd := exec.Command(binary, "run", "--stats", filepath.Join("testdata", "observed.star"), filepath.Join(t.TempDir(), "out.txt"))
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cmd.Process.Kill(); tty.Close() })
	out := &syncBuffer{}
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			_, _ = out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	// The table is drawn, then drawn again in place (cursor up, clear).
	require.Eventually(t, func() bool {
		s := out.String()
		return strings.Contains(s, "STREAM   IN/S  OUT/S  PENDING  ERRORS  DROPPED  SINKS") && strings.Contains(s, "\x1b[") && strings.Contains(s, "A\r\x1b[J")
	}, time.Minute, 50*time.Millisecond, "a redrawn table; output:\n%q", out)
	require.Regexp(t, `numbers\s+0\.0\s+0\.0\s+0\s+5\s+4`, out.String(), "numbers' row")
	require.Contains(t, out.String(), "out-file-sink acked 16 retries 0")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	requireObservedExit(t, cmd)
	<-read
	s := strings.ReplaceAll(out.String(), "\r\n", "\n")
	for _, l := range observedSummary {
		require.Contains(t, s, l)
	}
}

package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binary is the rayvens binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rayvens-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "rayvens")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building rayvens: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// rayvens runs the binary and returns its stdout, stderr and exit status.
func rayvens(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return stdout.String(), stderr.String(), code
}

// TestCLI runs the binary on scripts and checks exactly what a user sees.
func TestCLI(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		stdout    string // exact, unless sorted
		sorted    bool   // compare stdout lines in sorted order (tasks)
		stderrHas string
		exit      int
		noStacks  bool
	}{
		{name: "stream example", args: []string{"run", "examples/stream.star"},
			stdout: "LOG: hello\nLOG: world\n"},
		{name: "function example", args: []string{"run", "examples/function.star"},
			stdout: expand("handler1 received event %d\nhandler2 received event %d\n", 10)},
		{name: "task example", args: []string{"run", "examples/task.star"}, sorted: true,
			stdout: expand("handler1 received event %d\nhandler2 received event %d\n", 10)},
		{name: "actor example", args: []string{"run", "examples/actor.star"}, sorted: true,
			stdout: "actor1 = 0\nactor1 = 1\nactor1 = 3\nactor1 = 6\nactor1 = 10\nactor1 = 15\nactor1 = 21\nactor1 = 28\nactor1 = 36\nactor1 = 45\n" +
				"actor2 = 0\nactor2 = 1\nactor2 = 3\nactor2 = 6\nactor2 = 10\nactor2 = 15\nactor2 = 21\nactor2 = 28\nactor2 = 36\nactor2 = 45\n"},
		{name: "operator example", args: []string{"run", "examples/operator.star"},
			stdout: "0 squared is 0\n2 squared is 4\n4 squared is 16\n"},
		{name: "batching example", args: []string{"run", "examples/batching.star"},
			stdout: "batch: Hello World\nbatch: Hello Mars\nbatch: Hello Jupiter\nbatch: Goodbye\ndelivered 7 events\n"},
		{name: "argv", args: []string{"run", "starlark/testdata/argv_env.star", "one", "two"},
			stdout: "[\"one\", \"two\"] 2\nNone None fallback\n"},
		{name: "subscriber failure", args: []string{"run", "starlark/testdata/subscriber_error.star"}, sorted: true,
			stdout:    "inverse 0.25\ninverse 0.5\nlogged 0\nlogged 2\nlogged 4\n",
			stderrHas: "starlark/testdata/subscriber_error.star:3:14: stream \"s\": subscriber \"check\": floating-point division by zero\nTraceback (most recent call last):\n  starlark/testdata/subscriber_error.star:6:19: in check\n",
			exit:      1},
		{name: "syntax error", args: []string{"run", "starlark/testdata/syntax_error.star"},
			stderrHas: "starlark/testdata/syntax_error.star:2:2: got identifier, want ','\n", exit: 1},
		{name: "misuse", args: []string{"run", "starlark/testdata/not_callable.star"},
			stderrHas: "starlark/testdata/not_callable.star:2:3: cannot subscribe a int", exit: 1},
		{name: "run for", args: []string{"run", "--for", "300ms", "testdata/producer.star"},
			stderrHas: "", exit: 0},
		{name: "missing script", args: []string{"run"}, stderrHas: "rayvens: run: missing SCRIPT", exit: 2},
		{name: "no such script", args: []string{"run", "nope.star"}, stderrHas: "cannot read script nope.star", exit: 2},
		{name: "unknown flag", args: []string{"run", "--nope", "x.star"}, stderrHas: "flag provided but not defined: -nope", exit: 2},
		{name: "bad duration", args: []string{"run", "--for", "soon", "x.star"}, stderrHas: "invalid value \"soon\" for flag -for", exit: 2},
		{name: "unknown command", args: []string{"frobnicate"}, stderrHas: "unknown command \"frobnicate\"", exit: 2},
		{name: "version", args: []string{"version"}, stderrHas: "", exit: 0},
		{name: "check clean", args: []string{"check", "examples/stream.star", "examples/function.star"}, stdout: "", exit: 0},
		{name: "check problems", args: []string{"check", "examples/stream.star", "starlark/testdata/not_callable.star", "starlark/testdata/resolve_error.star"},
			stderrHas: "starlark/testdata/not_callable.star:2:3: cannot subscribe a int: a subscriber is a function, an Actor, an actor method, a Task or a Stream\n" +
				"starlark/testdata/resolve_error.star:2:6: undefined: undefined_name\nstarlark/testdata/resolve_error.star:3:7: undefined: also_undefined\n" +
				"rayvens: 2 of 3 scripts have problems\n", exit: 1},
		{name: "check connector config", args: []string{"check", "testdata/bad_connector.star"},
			stderrHas: "testdata/bad_connector.star:3:20: in add_source: timer-source: unknown parameter \"mesage\" (did you mean \"message\"?)", exit: 1},
		{name: "check a directory", args: []string{"check", "starlark/testdata/lib/..."},
			stderrHas: "cycle_a.star", exit: 1},
		{name: "check missing", args: []string{"check", "nope.star"}, stderrHas: "check: cannot read nope.star", exit: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := rayvens(t, tt.args...)
			require.Equal(t, tt.exit, code, "exit status; stderr:\n%s", stderr)
			switch {
			case tt.sorted:
				require.Equal(t, sortedLines(tt.stdout), sortedLines(stdout))
			case tt.name == "run for":
				require.True(t, strings.HasPrefix(stdout, "tick 0\n"), stdout)
			case tt.name == "version":
				require.True(t, strings.HasPrefix(stdout, "rayvens "), stdout)
			default:
				require.Equal(t, tt.stdout, stdout)
			}
			require.Contains(t, stderr, tt.stderrHas)
			require.NotContains(t, stderr, "goroutine ", "no Go stack trace reaches the user")
			require.NotContains(t, stderr, "panic", "no Go panic reaches the user")
		})
	}
}

func expand(format string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(strings.ReplaceAll(format, "%d", strconv.Itoa(i)))
	}
	return b.String()
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	sort.Strings(lines)
	return lines
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSignalDrains checks that SIGINT stops a running script gracefully:
// the producer stops, what it appended is delivered, and the exit status is 0.
func TestSignalDrains(t *testing.T) {
	cmd := exec.Command(binary, "run", "testdata/producer.star")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the script prints")
	require.Equal(t, "tick 0", lines.Text())
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	last := 0
	for lines.Scan() {
		last++
		require.Equal(t, "tick "+strconv.Itoa(last), lines.Text(), "events arrive in order, none lost")
	}
	require.NoError(t, waitWithin(t, cmd, 10*time.Second))
	require.Contains(t, stderr.String(), "rayvens: interrupt: stopping")
}

// TestSecondSignalForces checks that a second SIGINT ends a run whose
// subscriber never finishes, with exit status 1 and a count of what was lost.
func TestSecondSignalForces(t *testing.T) {
	cmd := exec.Command(binary, "run", "testdata/stuck.star")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan())
	require.Equal(t, "stuck on 1", lines.Text())
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "stopping") }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = waitWithin(t, cmd, 10*time.Second)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 1, exit.ExitCode())
	require.Contains(t, stderr.String(), "forcing exit")
	require.Contains(t, stderr.String(), "shutdown interrupted with 1 event not delivered")
}

func waitWithin(t *testing.T, cmd *exec.Cmd, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		t.Fatalf("rayvens did not exit within %s", d)
		return nil
	}
}

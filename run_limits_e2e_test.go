package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeScript writes a script into a temporary directory and returns its
// path.
func writeScript(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return path
}

// TestMaxStepsStopsARunawayCallback: --max-steps bounds each callback call;
// the run goes on and exits 1 with the failure reported at its position.
func TestMaxStepsStopsARunawayCallback(t *testing.T) {
	script := writeScript(t, "spin.star", `s = Stream("s")
def spin(e):
    while True:
        pass
s >> spin
s >> (lambda e: print("still delivered", e))
s << 1
`)
	stdout, stderr, code := rayvens(t, "run", "--max-steps", "100000", script)
	require.Equal(t, 1, code, stderr)
	require.Equal(t, "still delivered 1\n", stdout)
	require.Contains(t, stderr, `spin.star:2:1: stream "s": subscriber "spin": Starlark computation cancelled: spin ran past its budget of 100000 steps`)
	require.Contains(t, stderr, "the run had 1 failure")
}

// TestDrainTimeoutForcesTheStop: a graceful stop that has not drained
// within --drain-timeout becomes a forced one, which says how many events
// it abandoned, and exits 1. (Drained without a bound, the run would take
// 100 s.)
func TestDrainTimeoutForcesTheStop(t *testing.T) {
	script := writeScript(t, "slow.star", `s = Stream("s")
def slow(e):
    sleep(1)
s >> slow
for i in range(100):
    s << i
`)
	_, stderr, code := rayvens(t, "run", "--for", "500ms", "--drain-timeout", "1s", script)
	require.Equal(t, 1, code, stderr)
	require.Regexp(t, `rayvens: stream "s": \d+ events not delivered\nrayvens: the run was stopped and did not drain within 1s: shutdown interrupted with \d+ events not delivered\n$`, stderr)
	_, stderr, code = rayvens(t, "run", "--drain-timeout", "-1s", script)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--drain-timeout must not be negative")
}

// TestRunawayCallbackDoesNotFreezeTheRun: a callback that never yields,
// started while the top level still runs, shares the interpreter: the top
// level and the other streams' callbacks go on, and the stop (--for, then
// the drain timeout) interrupts it with an error naming it, and a line
// for its stream's undelivered event.
func TestRunawayCallbackDoesNotFreezeTheRun(t *testing.T) {
	script := writeScript(t, "forever.star", `spin = Stream("spin")
def forever(e):
    while True:
        pass
spin >> forever
ticks = Stream("ticks")
ticks >> (lambda e: print("tick", e))
spin << 1
for i in range(3):
    ticks << i
print("top level done")
`)
	stdout, stderr, code := rayvens(t, "run", "--for", "1s", "--drain-timeout", "1s", script)
	require.Equal(t, 1, code, stderr)
	require.ElementsMatch(t, []string{"tick 0", "tick 1", "tick 2", "top level done"}, sortedLines(stdout))
	require.Contains(t, stderr, `stream "spin": subscriber "forever": Starlark computation cancelled: the run was stopped`)
	require.Contains(t, stderr, "in forever\n")
	require.Contains(t, stderr, "rayvens: stream \"spin\": 1 event not delivered\n")
	require.NotContains(t, stderr, "goroutine ")
}

// TestMemoryBombs: a callback that asks for more memory than the run has,
// at once or little by little, and a recursion without end, each end with
// one clear error at their position and exit status 1, never a Go crash.
func TestMemoryBombs(t *testing.T) {
	t.Run("at once", func(t *testing.T) {
		script := writeScript(t, "bomb.star", `s = Stream("s")
def bomb(e):
    x = [0] * 1000000000
s >> bomb
s >> (lambda e: print("still delivered", e))
s << 1
`)
		stdout, stderr, code := rayvens(t, "run", "--max-memory", "256MiB", script)
		require.Equal(t, 1, code, stderr)
		require.Equal(t, "still delivered 1\n", stdout)
		require.Regexp(t, `bomb.star:3:13: stream "s": subscriber "bomb": list \* 1000000000 needs 15 GiB of memory, more than the run has left \(.* in use of its limit of 256 MiB\)\n`, stderr)
		require.Contains(t, stderr, "rayvens: the run had 1 failure")
	})
	t.Run("little by little", func(t *testing.T) {
		script := writeScript(t, "grow.star", `s = Stream("s")
def grow(e):
    l = []
    while True:
        l.append("x" * 1000 + str(len(l)))
s >> grow
s << 1
`)
		_, stderr, code := rayvens(t, "run", "--max-memory", "200MiB", script)
		require.Equal(t, 1, code, stderr)
		require.Regexp(t, `rayvens: the run was stopped: it used \d+ MiB of memory, past 90% of its limit of 200 MiB\n$`, stderr)
		require.Contains(t, stderr, "in grow\n")
		require.NotContains(t, stderr, "goroutine ")
	})
	t.Run("in the top level", func(t *testing.T) {
		script := writeScript(t, "growtop.star", "l = []\nwhile True:\n    l.append(\"x\" * 1000 + str(len(l)))\n")
		_, stderr, code := rayvens(t, "run", "--max-memory", "200MiB", script)
		require.Equal(t, 1, code, stderr)
		require.Regexp(t, `^rayvens: the run was stopped: it used \d+ MiB of memory, past 90% of its limit of 200 MiB; the top level was stopped at .*growtop.star:3:\d+, in the statement of line 2, its last statement\n$`, stderr)
	})
	t.Run("under ulimit -v, by default", func(t *testing.T) {
		// The default limit follows the address-space limit, so the Go
		// runtime's own allocation never fails first.
		script := writeScript(t, "bomb.star", "x = [0] * 1000000000\n")
		cmd := exec.Command("sh", "-c", `ulimit -v 4000000 && exec "$0" run "$1"`, binary, script)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%s", out)
		require.Equal(t, 1, exit.ExitCode(), "%s", out)
		require.Regexp(t, `bomb.star:1:9: list \* 1000000000 needs 15 GiB of memory, more than the run has left \(.* in use of its limit of [\d.]+ [GM]iB\)\n`, string(out))
		require.NotContains(t, string(out), "fatal error")
	})
	t.Run("recursion", func(t *testing.T) {
		script := writeScript(t, "rec.star", "s = Stream(\"s\")\ndef f(n):\n    return f(n + 1)\ns >> f\ns << 1\n")
		_, stderr, code := rayvens(t, "run", script)
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, `rec.star:3:12: stream "s": subscriber "f": Starlark stack overflow`)
		require.Regexp(t, `\.\.\. \d+ more calls \.\.\.`, stderr)
		require.Less(t, strings.Count(stderr, "\n"), 40, "the traceback is cut short")
	})
	t.Run("a bad limit", func(t *testing.T) {
		_, stderr, code := rayvens(t, "run", "--max-memory", "lots", writeScript(t, "x.star", ""))
		require.Equal(t, 2, code)
		require.Equal(t, "rayvens: run: --max-memory must be a size such as 512MiB or 2GB, or off; got \"lots\" (see rayvens help)\n", stderr)
	})
}

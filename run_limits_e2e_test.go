package main

import (
	"os"
	"path/filepath"
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

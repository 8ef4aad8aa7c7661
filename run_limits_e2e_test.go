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
	require.Regexp(t, `rayvens: the run was stopped and did not drain within 1s: shutdown interrupted with \d+ events not delivered`, stderr)
	_, stderr, code = rayvens(t, "run", "--drain-timeout", "-1s", script)
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--drain-timeout must not be negative")
}

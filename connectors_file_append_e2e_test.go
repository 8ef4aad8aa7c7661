package main

import (
	"bytes"
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

// appendScript numbers the events of a timer-source (which counts for the
// run, across plugin restarts) and appends each number as a line to
// out/numbers.log with file-sink's fileExist=Append.
const appendScript = `total, out = int(argv[0]), argv[1]
events = Stream("events", source_config = dict(kind = "timer-source", message = "tick", period = 0, repeatCount = total))
lines = Stream("lines", sink_config = dict(kind = "file-sink", path = out, fileName = "numbers.log", fileExist = "Append", appendChars = "\n"))

def number(state, event):
    n = state["n"]
    state["n"] = n + 1
    return n

events >> Actor(number, init = lambda: {"n": 0}) >> lines
`

// TestFileSinkAppendSurvivesPluginKills SIGKILLs the built-in plugin, which
// serves both the source and the appending file-sink, 3 times while 30,000
// numbered events are appended to one file. The file must then hold every
// number, each on a whole line (a write cut by a kill is cut off before the
// batch is written again), first seen in order; a number may be there twice
// only if its batch was re-sent to the restarted sink.
func TestFileSinkAppendSurvivesPluginKills(t *testing.T) {
	if testing.Short() {
		t.Skip("30,000 events through 3 plugin kills")
	}
	const total = 30000
	dir := t.TempDir()
	script := filepath.Join(dir, "append.star")
	require.NoError(t, os.WriteFile(script, []byte(appendScript), 0o644))
	out := filepath.Join(dir, "out")
	log := filepath.Join(out, "numbers.log")
	lines := func() int {
		b, _ := os.ReadFile(log)
		return bytes.Count(b, []byte("\n"))
	}

	cmd := exec.Command(binary, "run", "--log-level", "info", script, strconv.Itoa(total), out)
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &syncBuffer{}, stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	killed := map[int]bool{}
	written := 0
	for k := 1; k <= 3; k++ {
		var pid int
		require.Eventually(t, func() bool {
			pid = pluginProcess(t, cmd.Process.Pid, "built-in")
			return pid != 0 && !killed[pid] && lines() >= written+2000
		}, 30*time.Second, time.Millisecond, "kill %d: a new plugin runs and appends; stderr:\n%s", k, stderr)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		killed[pid] = true
		written = lines()
	}
	require.NoError(t, waitWithin(t, cmd, 60*time.Second), "the run ends by itself, exit 0; stderr:\n%s", stderr)

	data, err := os.ReadFile(log)
	require.NoError(t, err)
	require.True(t, bytes.HasSuffix(data, []byte("\n")), "the file ends with a whole line")
	counts := map[int]int{}
	next := 0 // the next number not seen yet
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		n, err := strconv.Atoi(line)
		require.NoError(t, err, "line %d is a whole number: %q", i+1, line)
		if counts[n] == 0 {
			require.Equal(t, next, n, "line %d: numbers are first seen in order", i+1)
			next++
		}
		counts[n]++
	}
	require.Equal(t, total, next, "every number reached the file")
	dups := 0
	for _, c := range counts {
		dups += c - 1
	}
	require.Equal(t, 3, strings.Count(stderr.String(), "stopped unexpectedly; restarting it"), "stderr:\n%s", stderr)
	resent := resentEvents(t, stderr.String())
	require.LessOrEqual(t, dups, resent, "only re-sent events can be written twice")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the journal is removed when the sink closes")
	t.Logf("3 kills: %d numbers, %d duplicates, %d events re-sent, cut off after a kill: %d",
		total, dups, resent, strings.Count(stderr.String(), "cut off the part of a write"))
}

package main

// The fault suite: each test runs the rayvens binary on a script of
// testdata/faults/, breaks something while events flow (a plugin
// SIGKILLed, rayvens itself SIGKILLed or stopped, a sink's endpoint down)
// and checks what docs/reliability.md promises: no event lost, duplicates
// only where a re-send allows them (counted and logged), order kept, nothing
// left behind.

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

// TestFaultPluginKills SIGKILLs a plugin process 5 times (the most a
// plugin may die within a minute without failing the run) while 100,000
// numbered events go from a plugin source into a file-sink. Every number
// must reach the files; a number written more than once is a duplicate,
// allowed only for batches the host re-sent to a restarted sink.
//
// The actor that numbers the events runs in rayvens, so a source restarted
// from its beginning shows as events numbered past 99,999 ("extra"), not as
// duplicates.
func TestFaultPluginKills(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 events through 5 plugin kills")
	}
	pluginDir := buildExamplePlugin(t)
	tests := []struct {
		name   string
		source string // the kind of the source
		kill   string // the plugin killed: "built-in" (file-sink, and timer-source) or "example" (dice-source)
	}{
		{name: "sink plugin", source: "dice-source", kill: "built-in"},
		{name: "source plugin", source: "dice-source", kill: "example"},
		{name: "source and sink plugin", source: "timer-source", kill: "built-in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out := t.TempDir()
			cmd := exec.Command(binary, "run", "--log-level", "info", "--plugin-dir", pluginDir,
				"testdata/faults/numbered.star", tt.source, out)
			var stdout, stderr syncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			// Kill after every 40 files (8,000 events) written, each time
			// the process that took over from the one killed before.
			killed := map[int]bool{}
			for k := 1; k <= 5; k++ {
				var pid int
				require.Eventually(t, func() bool {
					pid = pluginProcess(cmd.Process.Pid, tt.kill)
					return pid != 0 && !killed[pid] && countFiles(out) >= 40*k
				}, 30*time.Second, time.Millisecond, "kill %d: a new %s plugin runs and more files are written; stderr:\n%s", k, tt.kill, &stderr)
				require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
				killed[pid] = true
			}
			require.NoError(t, waitWithin(t, cmd, 60*time.Second), "the run ends by itself, exit 0; stderr:\n%s", &stderr)

			counts, files := readNumbers(t, out)
			total := 0
			for n := range counts {
				total = max(total, n+1)
			}
			dups := 0
			for n := 0; n < total; n++ {
				require.NotZero(t, counts[n], "event %d reached the sink", n)
				dups += counts[n] - 1
			}
			require.GreaterOrEqual(t, total, 100000, "the source emitted all its events")
			restarts := strings.Count(stderr.String(), "stopped unexpectedly; restarting it")
			require.Equal(t, 5, restarts, "each kill restarts the plugin once; stderr:\n%s", &stderr)
			resent := resentEvents(t, stderr.String())
			t.Logf("%s killed 5 times in %s: %d files, %d numbers, %d extra (a source restarted from its beginning), "+
				"%d duplicates (%d events re-sent to the sink, of %d numbers each)",
				tt.kill, time.Since(start).Round(time.Millisecond), files, total, total-100000, dups, resent, 200)
			if tt.kill == "example" {
				require.Zero(t, dups, "the sink was never killed, so nothing was written twice")
			}
			require.LessOrEqual(t, dups, resent*200, "only re-sent events can be written twice")
			require.NotContains(t, stderr.String(), "panic")
		})
	}
}

// pluginProcess returns the pid of the live plugin process of rayvens
// (pid) named name ("built-in": rayvens itself serving its connectors, or
// an external plugin such as "example" for rayvens-plugin-example), or 0.
func pluginProcess(pid int, name string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, ppid, ok := procStat(child)
		if !ok || ppid != pid || state == "Z" {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		exe := filepath.Base(string(bytes.SplitN(cmdline, []byte{0}, 2)[0]))
		if (name == "built-in" && exe == filepath.Base(binary)) || exe == "rayvens-plugin-"+name {
			return child
		}
	}
	return 0
}

// countFiles returns how many files a file-sink has written to dir (its
// hidden temporary files left out).
func countFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// readNumbers reads the files of dir, each a list of numbers one per line,
// and returns how often each number occurs, and how many files there are.
func readNumbers(t *testing.T, dir string) (map[int]int, int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	counts := map[int]int{}
	files := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files++
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		for _, line := range strings.Fields(string(data)) {
			n, err := strconv.Atoi(line)
			require.NoError(t, err, "file %s holds numbers", e.Name())
			counts[n]++
		}
	}
	return counts, files
}

// resentEvents adds up what the host logged re-sending to restarted sinks.
func resentEvents(t *testing.T, stderr string) int {
	t.Helper()
	total := 0
	for _, line := range strings.Split(stderr, "\n") {
		_, rest, ok := strings.Cut(line, "re-sending ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.Fields(rest)[0])
		require.NoError(t, err, line)
		total += n
	}
	return total
}

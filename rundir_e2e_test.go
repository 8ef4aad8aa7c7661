package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStaleRunDirAfterGroupKill kills rayvens and its plugin together, as
// `timeout -s KILL` or the OOM killer does: nobody is left to remove the
// run directory, so the next run removes it.
func TestStaleRunDirAfterGroupKill(t *testing.T) {
	// A short TMPDIR, so the run directories go there (see socketBase).
	tmp, err := os.MkdirTemp("", "rvt")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	script := filepath.Join(t.TempDir(), "ticks.star")
	require.NoError(t, os.WriteFile(script, []byte(`ticks = Stream("ticks", source_config=dict(kind="timer-source", message="tick", period=20))
ticks >> (lambda e: print(e))
`), 0o644))

	killed := exec.Command(binary, "run", script)
	killed.Env = append(os.Environ(), "TMPDIR="+tmp)
	killed.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its plugin joins its group
	stdout, err := killed.StdoutPipe()
	require.NoError(t, err)
	killed.Stderr = os.Stderr
	require.NoError(t, killed.Start())
	t.Cleanup(func() { _ = syscall.Kill(-killed.Process.Pid, syscall.SIGKILL) })
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the timer ticks")
	require.Equal(t, "tick", lines.Text())
	plugins := children(t, killed.Process.Pid)
	require.Len(t, plugins, 1, "the built-in plugin serves the timer")
	left, _ := filepath.Glob(filepath.Join(tmp, "rayvens-run-*"))
	require.Len(t, left, 1, "the run directory of the run")

	require.NoError(t, syscall.Kill(-killed.Process.Pid, syscall.SIGKILL))
	_ = killed.Wait()
	require.Eventually(t, func() bool { return !alive(plugins[0]) }, 10*time.Second, 10*time.Millisecond, "the plugin is killed too")
	require.DirExists(t, left[0], "nobody removed the run directory")

	next := exec.Command(binary, "run", "testdata/log_sink.star")
	next.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := next.CombinedOutput()
	require.NoError(t, err, string(out))
	after, _ := filepath.Glob(filepath.Join(tmp, "rayvens-run-*"))
	require.Empty(t, after, "the next run removed the killed run's directory, and its own")
}

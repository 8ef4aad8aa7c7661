package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFaultPluginKilledDuringItsRestart SIGKILLs the built-in plugin while
// numbered events go into a file-sink, then SIGKILLs the process started
// to replace it as soon as it appears, before its handshake is done. Per
// docs/reliability.md a plugin that dies is restarted with backoff (5
// deaths a minute are allowed), so the run goes on and delivers all
// 100,000 events. (It did not: a restart that died in its handshake was
// taken for a broken plugin, and every later event failed.)
func TestFaultPluginKilledDuringItsRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 events through 2 plugin kills")
	}
	cmd, out, stderr := startNumberedRun(t, buildExamplePlugin(t), "dice-source")

	var first int
	require.Eventually(t, func() bool {
		first = pluginProcess(t, cmd.Process.Pid, "built-in")
		return first != 0 && countFiles(out) >= 40
	}, 30*time.Second, time.Millisecond)
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	var second int
	require.Eventually(t, func() bool {
		second = pluginProcess(t, cmd.Process.Pid, "built-in")
		return second != 0 && second != first
	}, 30*time.Second, 100*time.Microsecond)
	require.NoError(t, syscall.Kill(second, syscall.SIGKILL))

	require.NoError(t, waitWithin(t, cmd, 60*time.Second), "the run goes on and ends by itself, exit 0; stderr:\n%s", stderr)
	counts, _ := readNumbers(t, out)
	for n := 0; n < 100000; n++ {
		require.NotZero(t, counts[n], "event %d reached the sink", n)
	}
}

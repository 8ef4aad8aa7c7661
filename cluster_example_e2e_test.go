package main

import (
	"bufio"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rayvens/rayvens/internal/testport"
	"github.com/stretchr/testify/require"
)

// TestClusterExample runs examples/cluster as its README says, on one
// machine: two workers (the first holding the embedded server), the
// producer and the report, whose totals do not depend on which worker
// scored which job.
func TestClusterExample(t *testing.T) {
	port := strconv.Itoa(testport.Free(t))
	url := "nats://127.0.0.1:" + port

	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(binary, args...)
		cmd.Dir = "examples/cluster"
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	worker1 := start("run", "--cluster", "embedded:127.0.0.1:"+port, "--name", "worker-1", "worker.star")
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "the first worker serves NATS")
	worker2 := start("run", "--cluster", url, "--name", "worker-2", "worker.star")

	producer := exec.Command(binary, "run", "--cluster", url, "producer.star", "1000")
	producer.Dir = "examples/cluster"
	out, err := producer.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "appended 1000 jobs; the cluster keeps 1000\n", string(out))

	report := exec.Command(binary, "run", "--cluster", url, "--for", "60s", "report.star")
	report.Dir = "examples/cluster"
	stdout, err := report.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, report.Start())
	t.Cleanup(func() { _ = report.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	var got []string
	for len(got) < 4 && lines.Scan() {
		got = append(got, lines.Text())
	}
	require.Equal(t, []string{"250 scores, 1500 words", "500 scores, 3000 words", "750 scores, 4500 words", "1000 scores, 6000 words"}, got)
	require.NoError(t, report.Process.Signal(syscall.SIGTERM))
	require.NoError(t, report.Wait(), "a graceful stop")
	for _, w := range []*exec.Cmd{worker2, worker1} {
		require.NoError(t, w.Process.Signal(syscall.SIGTERM))
		require.NoError(t, w.Wait(), "a graceful stop")
	}
}

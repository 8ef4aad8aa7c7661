//go:build unix

package file

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// helperEnv makes the test binary a helper process of these tests: it
// names what the helper does, in the directory helperDirEnv names.
const (
	helperEnv    = "RAYVENS_FILE_SINK_HELPER"
	helperDirEnv = "RAYVENS_FILE_SINK_HELPER_DIR"
)

// helper starts this test binary as a helper process doing what.
func helper(t *testing.T, what, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppendHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+what, helperDirEnv+"="+dir)
	return cmd
}

// TestAppendHelperProcess is the helper process, and skipped otherwise.
func TestAppendHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	switch os.Getenv(helperEnv) {
	case "crash":
		// Killed in the middle of appending a batch: after the journal
		// records the write, before all of it is in the file, where a
		// SIGKILL can land.
		s := sdktest.NewSink(t, SinkKind, appendConfig(dir))
		require.NoError(t, sdktest.Write(t, s, text("one", "two")...))
		a := s.(*sink).fixed
		info, err := a.file.Stat()
		require.NoError(t, err)
		batch := []byte("three\nfour\n")
		require.NoError(t, a.record(info.Size(), info.Size()+int64(len(batch))))
		_, err = a.file.Write(batch[:3])
		require.NoError(t, err)
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGKILL))
		select {}
	case "hold":
		// Appends, then keeps the file open until its stdin closes.
		s := sdktest.NewSink(t, SinkKind, appendConfig(dir))
		require.NoError(t, sdktest.Write(t, s, text("held")...))
		_, err := os.Stdout.WriteString("ready\n")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "fsize":
		// A file may not grow past 45 bytes: the fifth event of 10 bytes
		// is cut off by the OS in the middle of the batch's write.
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 45, Max: ^uint64(0)}))
		s := sdktest.NewSink(t, SinkKind, appendConfig(dir))
		err := sdktest.Write(t, s, text("event 01 ", "event 02 ", "event 03 ", "event 04 ", "event 05 ", "event 06 ")...)
		require.ErrorContains(t, err, `file-sink: cannot append to "events.log"`)
		require.False(t, sdk.IsPermanent(err))
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Written, sdktest.Written, sdktest.Written, sdktest.Resent, sdktest.Resent},
			sdktest.Outcomes(6, err), "the events written whole are done, the rest is sent again")
		require.Equal(t, "event 01 \nevent 02 \nevent 03 \nevent 04 \n", files(t, dir)["events.log"], "the torn event is cut off")
	default:
		t.Skip("a helper process of the append tests")
	}
}

// TestSinkRecoversFromAKillMidWrite: the plugin is killed while appending a
// batch, so part of it is in the file; the host sends the batch again to
// the restarted plugin, and the file holds each event once, whole.
func TestSinkRecoversFromAKillMidWrite(t *testing.T) {
	dir := t.TempDir()
	out, err := helper(t, "crash", dir).CombinedOutput()
	t.Logf("helper: %s", out)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "killed mid-write")
	require.Equal(t, "one\ntwo\nthr", files(t, dir)["events.log"], "the write was cut by the kill")

	var logs sdktest.Log
	s := sdktest.NewSink(t, SinkKind, appendConfig(dir), sdktest.LogTo(&logs))
	require.Contains(t, logs.String(), "cut off the part of a write that a crash interrupted")
	require.NoError(t, sdktest.Write(t, s, text("three", "four")...), "the batch sent again")
	require.Equal(t, "one\ntwo\nthree\nfour\n", files(t, dir)["events.log"])
}

// TestSinkAppendRefusesASecondProcess: while another process appends to
// the file, a sink's events are sent again (not failed), and the file is
// not recovered under the other's feet; once it is done, they are written.
func TestSinkAppendRefusesASecondProcess(t *testing.T) {
	dir := t.TempDir()
	other := helper(t, "hold", dir)
	other.Stderr = os.Stderr
	stdin, err := other.StdinPipe()
	require.NoError(t, err)
	stdout, err := other.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, other.Start())
	ready := bufio.NewScanner(stdout)
	require.True(t, ready.Scan())
	require.Equal(t, "ready", ready.Text())

	s := sdktest.NewSink(t, SinkKind, appendConfig(dir))
	err = sdktest.Write(t, s, text("mine")...)
	require.ErrorContains(t, err, "another process is appending to it")
	require.Equal(t, []sdktest.Outcome{sdktest.Resent}, sdktest.Outcomes(1, err))
	require.Equal(t, "held\n", files(t, dir)["events.log"])

	require.NoError(t, stdin.Close())
	require.NoError(t, other.Wait())
	require.NoError(t, sdktest.Write(t, s, text("mine")...))
	require.Equal(t, "held\nmine\n", files(t, dir)["events.log"])
}

// TestSinkAppendFailsPartWay: a write that the OS stops part way (the file
// size limit) acknowledges the events written whole and sends the rest
// again, with no part of an event left in the file.
func TestSinkAppendFailsPartWay(t *testing.T) {
	dir := t.TempDir()
	out, err := helper(t, "fsize", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.FileExists(t, filepath.Join(dir, "events.log"))
}

package plugins

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// shortTempDir makes a temporary directory short enough for socketBase to
// use it, and makes it the process's TMPDIR for the test.
func shortTempDir(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "rvt")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	require.Equal(t, tmp, socketBase(), "the run directories go to the test's directory")
	return tmp
}

// deadPid returns the pid of a process that has ended (and been reaped).
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(filepath.Join(pluginDir, "rayvens-plugin-example")) // refuses to run outside a host
	_ = cmd.Run()
	require.NotNil(t, cmd.ProcessState, "the process ran")
	return cmd.Process.Pid
}

// TestStaleRunDirsAreRemoved: a host removes the run directories of hosts
// that are gone (killed with their plugins, so nobody removed them), and
// nothing else: not a live host's, not an old-style name, not a file or a
// symbolic link.
func TestStaleRunDirsAreRemoved(t *testing.T) {
	tmp := shortTempDir(t)
	me := os.Getpid()
	myStart, haveStart := processStart(me)
	mkdir := func(name string) string {
		dir := filepath.Join(tmp, name)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "plugin-1"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin-1", "plugin123"), nil, 0o600))
		return dir
	}
	stale := []string{mkdir(fmt.Sprintf("rayvens-run-%d-0-1", deadPid(t)))}
	live := []string{
		mkdir(fmt.Sprintf("rayvens-run-%d-%d-2", me, myStart)), // this process's
		mkdir("rayvens-run-3"),                                 // no owner in the name
		mkdir("rayvens-run-x-0-4"),
	}
	if haveStart {
		// The pid is this process's, but it started at another time: the
		// owner is gone and its pid was reused.
		stale = append(stale, mkdir(fmt.Sprintf("rayvens-run-%d-%d-5", me, myStart+1)))
	}
	file := filepath.Join(tmp, fmt.Sprintf("rayvens-run-%d-0-6", deadPid(t)))
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	link := filepath.Join(tmp, fmt.Sprintf("rayvens-run-%d-0-7", deadPid(t)))
	require.NoError(t, os.Symlink(live[0], link))

	h := newHost(t, Options{})
	require.Len(t, h.Plugins(context.Background()), 1, "the example plugin ran")

	for _, dir := range stale {
		require.NoDirExists(t, dir)
	}
	for _, dir := range live {
		require.DirExists(t, dir)
	}
	require.FileExists(t, file)
	_, err := os.Lstat(link)
	require.NoError(t, err, "a symbolic link is not followed nor removed")

	own, err := filepath.Glob(filepath.Join(tmp, fmt.Sprintf("rayvens-run-%d-%d-*", me, myStart)))
	require.NoError(t, err)
	require.Len(t, own, 2, "the host made its own run directory beside the live one")
	for _, dir := range own {
		require.Regexp(t, runDirName, filepath.Base(dir))
	}
	require.NoError(t, h.Close())
	require.NoDirExists(t, h.runDir, "a host removes its own run directory when it closes")
}

// TestRunDirNameIsTheProcess: the name of a host's run directory holds its
// pid and start time, which a later host reads back.
func TestRunDirNameIsTheProcess(t *testing.T) {
	tmp := shortTempDir(t)
	h := newHost(t, Options{})
	dir, _, err := h.runDirectory()
	require.NoError(t, err)
	require.Equal(t, tmp, filepath.Dir(dir))
	m := runDirName.FindStringSubmatch(filepath.Base(dir))
	require.NotNil(t, m, dir)
	require.Equal(t, fmt.Sprint(os.Getpid()), m[1])
	if start, ok := processStart(os.Getpid()); ok {
		require.Equal(t, fmt.Sprint(start), m[2])
		require.Regexp(t, regexp.MustCompile(`^[1-9][0-9]*$`), m[2], "Linux tells the start time")
	}
	require.False(t, ownerGone(os.Getpid(), 0))
	require.True(t, ownerGone(deadPid(t), 0))
}

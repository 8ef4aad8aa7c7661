package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFileCopy runs file-source -> file-sink through the binary: 20 files
// are copied with their names and contents, and the originals are deleted.
func TestFileCopy(t *testing.T) {
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	want := map[string]string{}
	for i := range 20 {
		name := fmt.Sprintf("file-%02d.txt", i)
		want[name] = fmt.Sprintf("content of file %d\n", i)
		require.NoError(t, os.WriteFile(filepath.Join(in, name), []byte(want[name]), 0o644))
	}
	cmd := exec.Command(binary, "run", "--for", "60s", "testdata/file_copy.star", in, out)
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	copied := func() bool {
		left, err := os.ReadDir(in)
		if err != nil || len(left) > 0 {
			return false
		}
		for name, content := range want {
			if got, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(got) != content {
				return false
			}
		}
		return true
	}
	require.Eventually(t, copied, 30*time.Second, 10*time.Millisecond, "output so far:\n%s", &stderr)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, cmd, 10*time.Second), stderr.String())
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, entries, 20, "nothing but the copies: no temporary file is left")
	require.NotContains(t, stderr.String(), "warn")
	require.NotContains(t, stderr.String(), "error")
}

// TestFileSourceMissingDirectory: a source on a folder that does not exist
// does not start, and says why.
func TestFileSourceMissingDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, stderr, code := rayvens(t, "run", "--for", "60s", "testdata/file_copy.star", missing, t.TempDir())
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, `file-source: the directory "`+missing+`" does not exist`)
}

// TestFileWatchExample runs examples/filewatch.star on a folder: creating,
// modifying and deleting a file prints a line each, and SIGTERM ends the run
// cleanly.
func TestFileWatchExample(t *testing.T) {
	dir := t.TempDir()
	// At level info the source logs when it is watching: changes from then
	// on are reported.
	cmd := exec.Command(binary, "run", "--log-level", "info", "--for", "60s", "examples/filewatch.star", dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		for s := bufio.NewScanner(stdout); s.Scan(); {
			lines <- s.Text()
		}
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "info: watching") }, 30*time.Second, 10*time.Millisecond, "stderr:\n%s", &stderr)

	var got []string
	// await reads lines until want, keeping the distinct ones (one write
	// may be reported as several modifications).
	await := func(want string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				require.True(t, ok, "the run ended early; stderr:\n%s", &stderr)
				if len(got) == 0 || got[len(got)-1] != line {
					got = append(got, line)
				}
				if line == want {
					return
				}
			case <-deadline:
				t.Fatalf("no %q within 30s; got %q; stderr:\n%s", want, got, &stderr)
			}
		}
	}
	path := filepath.Join(dir, "a.txt")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	await("CREATE a.txt")
	f, err = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("hello\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	await("MODIFY a.txt")
	require.NoError(t, os.Remove(path))
	await("DELETE a.txt")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	for line := range lines {
		got = append(got, line)
	}
	require.NoError(t, waitWithin(t, cmd, 10*time.Second), stderr.String())
	require.Equal(t, []string{"CREATE a.txt", "MODIFY a.txt", "DELETE a.txt"}, got)
}

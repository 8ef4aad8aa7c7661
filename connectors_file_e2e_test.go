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

// TestFileSourceKeepsAFailedFile: a file whose event a subscriber fails is
// left in place and not read again, while the others are deleted once
// their events are done; the run then exits 1.
func TestFileSourceKeepsAFailedFile(t *testing.T) {
	in := t.TempDir()
	script := filepath.Join(t.TempDir(), "check.star")
	require.NoError(t, os.WriteFile(script, []byte(`
inbox = Stream("inbox", source_config=dict(kind="file-source", path=argv[0], period=50))

def check(event):
    f = json.decode(event)
    if f["filename"] == "bad.txt":
        fail("no bad files")
    print("read", f["filename"])

inbox >> check
`), 0o644))
	write := func(name string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(in, name), []byte("content of "+name), 0o644))
	}
	write("good-1.txt")
	write("bad.txt")
	cmd := exec.Command(binary, "run", script, in)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// processed: the subscriber printed the file and the source deleted it.
	processed := func(name string) func() bool {
		return func() bool {
			_, err := os.Stat(filepath.Join(in, name))
			return strings.Contains(stdout.String(), "read "+name+"\n") && os.IsNotExist(err)
		}
	}
	require.Eventually(t, processed("good-1.txt"), 30*time.Second, 10*time.Millisecond, "stderr:\n%s", &stderr)
	// The source learnt that bad.txt failed: from now on it keeps it.
	require.Eventually(t, func() bool {
		return strings.Contains(stderr.String(), "a file's event failed; the file is left in place") &&
			strings.Contains(stderr.String(), "file=bad.txt")
	}, 30*time.Second, 10*time.Millisecond, "stderr:\n%s", &stderr)
	// Each later file takes a poll or two to be read: bad.txt sees several.
	for _, name := range []string{"good-2.txt", "good-3.txt", "good-4.txt"} {
		write(name)
		require.Eventually(t, processed(name), 30*time.Second, 10*time.Millisecond, "stderr:\n%s", &stderr)
	}

	got, err := os.ReadFile(filepath.Join(in, "bad.txt"))
	require.NoError(t, err, "the failed file stays in place")
	require.Equal(t, "content of bad.txt", string(got))
	reports := 0
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(line, script+":") && strings.Contains(line, `stream "inbox": subscriber "check": fail: no bad files`) {
			reports++
		}
	}
	require.Equal(t, 1, reports, "bad.txt is read once; stderr:\n%s", &stderr)
	require.Equal(t, "read good-1.txt\nread good-2.txt\nread good-3.txt\nread good-4.txt\n", stdout.String())

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = waitWithin(t, cmd, 20*time.Second)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "a run with a failed event exits 1; stderr:\n%s", &stderr)
	require.Equal(t, 1, exit.ExitCode())
	require.Contains(t, stderr.String(), "the run had 1 failure (reported above)")
	require.FileExists(t, filepath.Join(in, "bad.txt"), "nor is it removed at the stop")
}

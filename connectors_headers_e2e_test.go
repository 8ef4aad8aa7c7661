package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSourceWithHeadersThroughPlugins: through the binary and its plugins,
// a file-source with with_headers=True gives the script Messages whose
// headers hold each file's name, and passing them on to a file-sink keeps
// the names: the copies are named as the originals.
func TestSourceWithHeadersThroughPlugins(t *testing.T) {
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	want := map[string]string{}
	for i := range 5 {
		name := fmt.Sprintf("note-%d.txt", i)
		want[name] = fmt.Sprintf("note number %d", i)
		require.NoError(t, os.WriteFile(filepath.Join(in, name), []byte(want[name]), 0o644))
	}
	script := writeScript(t, "headers.star", `
def show(m):
    print("got", m.headers["CamelFileName"], len(m.body), type(m))
files = Stream("files")
files >> show
files.add_sink(dict(kind="file-sink", path=argv[1]))
files.add_source(dict(kind="file-source-raw", path=argv[0], with_headers=True))
`)
	cmd := exec.Command(binary, "run", "--for", "60s", script, in, out)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	copied := func() bool {
		for name, content := range want {
			if got, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(got) != content {
				return false
			}
		}
		return true
	}
	require.Eventually(t, copied, 30*time.Second, 10*time.Millisecond, "stderr so far:\n%s", &stderr)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, cmd, 10*time.Second), stderr.String())
	for name, content := range want {
		require.Contains(t, stdout.String(), fmt.Sprintf("got %s %d Message\n", name, len(content)))
	}
	require.NotContains(t, stderr.String(), "warn")
	require.NotContains(t, stderr.String(), "error")
}

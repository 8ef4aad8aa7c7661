package sdk

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLifelineCleansUpWhenTheHostGoes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		otherSock  bool // another plugin still has its socket directory in the run directory
		runDirGone bool
	}{
		{name: "last plugin out", runDirGone: true},
		{name: "another plugin still there", otherSock: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runDir := filepath.Join(t.TempDir(), "run")
			socketDir := filepath.Join(runDir, "plugin-1")
			require.NoError(t, os.MkdirAll(socketDir, 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(socketDir, "plugin.sock"), nil, 0o600))
			if tc.otherSock {
				require.NoError(t, os.Mkdir(filepath.Join(runDir, "plugin-2"), 0o700))
			}
			r, w, err := os.Pipe()
			require.NoError(t, err)
			l := &lifeline{file: r, runDir: runDir, socketDir: socketDir}
			done := make(chan struct{})
			go func() {
				l.wait()
				l.cleanUp()
				close(done)
			}()

			require.NoError(t, w.Close())
			select {
			case <-done:
			case <-time.After(time.Second):
				t.Fatal("the lifeline did not notice the host going")
			}
			require.NoDirExists(t, socketDir)
			if tc.runDirGone {
				require.NoDirExists(t, runDir)
			} else {
				require.DirExists(t, filepath.Join(runDir, "plugin-2"))
			}
		})
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		dir, path string
		want      bool
	}{
		{"/run/r", "/run/r/p1", true},
		{"/run/r", "/run/r/a/b", true},
		{"/run/r/", "/run/r/p1/", true},
		{"/run/r", "/run/r", false},
		{"/run/r", "/run", false},
		{"/run/r", "/run/r/..", false},
		{"/run/r", "/run/r/../other", false},
		{"/run/r", "/run/r..x", false},
		{"/run/r", "/tmp", false},
		{"", "/run/r/p1", false},
		{"/run/r", "", false},
		{"/run/r", "p1", false},
	} {
		require.Equal(t, tc.want, within(tc.dir, tc.path), "%q in %q", tc.path, tc.dir)
	}
}

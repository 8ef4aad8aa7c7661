package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPluginsDoc follows docs/plugins.md step by step in an empty folder:
// it writes each file the page shows (a code block under an
// <!-- file: PATH --> marker), runs each sh block with bash, and compares
// the output of the last one with the block under <!-- output -->.
func TestPluginsDoc(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module from scratch")
	}
	doc, err := os.ReadFile("docs/plugins.md")
	require.NoError(t, err)
	checkout, err := os.Getwd()
	require.NoError(t, err)
	dir := t.TempDir()
	bin := filepath.Dir(binary)
	env := append(os.Environ(), "RAYVENS="+checkout, "PATH="+bin+":"+os.Getenv("PATH"), "GOFLAGS=-mod=mod")

	blocks := regexp.MustCompile("(?s)(<!-- (file: \\S+|output) -->\\n)?```(\\w*)\\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	require.NotEmpty(t, blocks)
	cwd := dir
	var last, want string
	for _, b := range blocks {
		marker, lang, body := b[2], b[3], b[4]
		switch {
		case strings.HasPrefix(marker, "file: "):
			path := filepath.Join(dir, strings.TrimPrefix(marker, "file: "))
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
		case marker == "output":
			want = body
		case lang == "sh":
			// Each block runs where the previous one left off (cd).
			cmd := exec.Command("bash", "-e", "-c", body+"\npwd >&3")
			cmd.Dir, cmd.Env = cwd, env
			r, w, err := os.Pipe()
			require.NoError(t, err)
			cmd.ExtraFiles = []*os.File{w}
			out, err := cmd.CombinedOutput()
			w.Close()
			pwd := make([]byte, 4096)
			n, _ := r.Read(pwd)
			r.Close()
			require.NoError(t, err, "running:\n%s\noutput:\n%s", body, out)
			cwd = strings.TrimSpace(string(pwd[:n]))
			last = string(out)
		}
	}
	require.NotEmpty(t, want, "the page shows the expected output")
	require.True(t, strings.HasSuffix(last, want), "the last commands print what the page says:\n%s", last)
	require.Contains(t, last, "greeting-source", "rayvens kinds describes the plugin's kind")
}

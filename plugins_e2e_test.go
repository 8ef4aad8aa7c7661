package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors"
)

// buildExamplePlugin builds examples/plugin into a fresh plugin directory.
func buildExamplePlugin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "rayvens-plugin-example"), "./examples/plugin")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return dir
}

// children returns the pids of the live processes whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, ppid, ok := procStat(child)
		if ok && ppid == pid && state != "Z" {
			out = append(out, child)
		}
	}
	return out
}

// procStat reads a process's state and parent pid from /proc.
func procStat(pid int) (state string, ppid int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...; comm may contain spaces.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	ppid, _ = strconv.Atoi(fields[1])
	return fields[0], ppid, true
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != "Z"
}

// startWithPlugins starts rayvens on testdata/plugins.star with a private
// TMPDIR and waits until both plugin processes run and events flow.
func startWithPlugins(t *testing.T) (cmd *exec.Cmd, tmp string, plugins []int) {
	t.Helper()
	pluginDir := buildExamplePlugin(t)
	// A short TMPDIR, so the run directory goes there (see socketBase).
	tmp, err := os.MkdirTemp("", "rvt")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	cmd = exec.Command(binary, "run", "--plugin-dir", pluginDir, "testdata/plugins.star", filepath.Join(t.TempDir(), "rolls.jsonl"))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the timer ticks")
	require.Equal(t, "tick", lines.Text())
	go func() {
		for lines.Scan() {
		}
	}()
	require.Eventually(t, func() bool { plugins = children(t, cmd.Process.Pid); return len(plugins) == 2 },
		10*time.Second, 10*time.Millisecond, "the built-in and the example plugin run")
	runDirs, _ := filepath.Glob(filepath.Join(tmp, "rayvens-run-*"))
	require.Len(t, runDirs, 1, "a private run directory holds the plugin sockets")
	fi, err := os.Stat(runDirs[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	return cmd, tmp, plugins
}

// TestNoOrphansAfterSIGKILL kills rayvens itself: within 2 s no plugin
// process remains and no socket or run directory is left.
func TestNoOrphansAfterSIGKILL(t *testing.T) {
	cmd, tmp, plugins := startWithPlugins(t)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Eventually(t, func() bool {
		for _, pid := range plugins {
			if alive(pid) {
				return false
			}
		}
		return true
	}, 2*time.Second, 10*time.Millisecond, "plugin processes end with rayvens")
	require.Eventually(t, func() bool {
		left, _ := filepath.Glob(filepath.Join(tmp, "rayvens-run-*"))
		return len(left) == 0
	}, 2*time.Second, 10*time.Millisecond, "no socket or run directory is left")
}

// TestNoOrphansAfterSignals stops rayvens with SIGINT and SIGTERM: the run
// ends cleanly, its plugins with it.
func TestNoOrphansAfterSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, tmp, plugins := startWithPlugins(t)
			require.NoError(t, cmd.Process.Signal(sig))
			require.NoError(t, waitWithin(t, cmd, 10*time.Second), "a graceful stop exits 0")
			for _, pid := range plugins {
				require.False(t, alive(pid), "plugin %d ended with the run", pid)
			}
			left, _ := filepath.Glob(filepath.Join(tmp, "rayvens-run-*"))
			require.Empty(t, left)
		})
	}
}

// TestPluginPipeline runs a script through the built-in and the example
// plugin: a source with a count ends, everything drains, the run exits 0.
func TestPluginPipeline(t *testing.T) {
	pluginDir := buildExamplePlugin(t)
	out := filepath.Join(t.TempDir(), "rolls.jsonl")
	stdout, stderr, code := rayvens(t, "run", "--plugin-dir", pluginDir, "testdata/plugin_pipeline.star", out)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "source extra\n", stdout)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 53, "50 rolls and 3 timer events")
	for _, l := range lines {
		require.Regexp(t, `^\{"body":"roll [1-6]"`, l)
	}
}

// TestPluginsAndKindsCommands checks `rayvens plugins` and `rayvens kinds`.
func TestPluginsAndKindsCommands(t *testing.T) {
	pluginDir := buildExamplePlugin(t)
	stdout, stderr, code := rayvens(t, "plugins", "--plugin-dir", pluginDir)
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `(?m)^rayvens\s+\S+\s+built-in\s+.*timer-source`, stdout)
	require.Regexp(t, `(?m)^example\s+v1.0.0\s+`+regexpQuote(filepath.Join(pluginDir, "rayvens-plugin-example"))+`\s+dice-source, jsonl-sink$`, stdout)

	stdout, stderr, code = rayvens(t, "kinds", "--plugin-dir", pluginDir)
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `(?m)^dice-source\s+source\s+example\s+`, stdout)
	require.Regexp(t, `(?m)^jsonl-sink\s+sink\s+example\s+`, stdout)
	require.Regexp(t, `(?m)^timer-source\s+source\s+rayvens\s+`, stdout)

	stdout, stderr, code = rayvens(t, "kinds", "--plugin-dir", pluginDir, "jsonl-sink")
	require.Equal(t, 0, code, stderr)
	// A third-party kind is shown in the format of the built-in ones.
	require.True(t, strings.HasPrefix(stdout, "## jsonl-sink\n\nA sink. "), stdout)
	require.Contains(t, stdout, "| `path` | string | yes |  | ")

	_, stderr, code = rayvens(t, "kinds", "nope-source")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `unknown connector kind "nope-source"`)
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestSinkDisconnect checks disconnect_sink and disconnect_all: each waits
// until the sink has acknowledged everything appended before it.
func TestSinkDisconnect(t *testing.T) {
	pluginDir := buildExamplePlugin(t)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.jsonl"), filepath.Join(dir, "second.jsonl")
	stdout, stderr, code := rayvens(t, "run", "--plugin-dir", pluginDir, "testdata/plugin_disconnect.star", first, second)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "disconnected file after 10 events\nall disconnected\n", stdout)
	data, err := os.ReadFile(first)
	require.NoError(t, err)
	require.Equal(t, 10, strings.Count(string(data), "\n"))
	require.Contains(t, string(data), `"body":"event 9"`)
	data, err = os.ReadFile(second)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 3, "batches of 4, 4 and the flushed 2")
	require.Contains(t, lines[0], `"body":"[0,1,2,3]"`)
	require.Contains(t, lines[2], `"body":"[8,9]"`)
	require.Contains(t, lines[2], `"content_type":"application/json"`)
}

// TestKindsMatchesDocs checks that `rayvens kinds KIND` prints, for every
// built-in kind, its section of docs/connectors.md.
func TestKindsMatchesDocs(t *testing.T) {
	doc, err := os.ReadFile("docs/connectors.md")
	require.NoError(t, err)
	for _, k := range connectors.Catalog().Kinds() {
		stdout, stderr, code := rayvens(t, "kinds", k.Name)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, string(doc), stdout, "the section of %s in docs/connectors.md", k.Name)
		require.True(t, strings.HasPrefix(stdout, "## "+k.Name+"\n"), stdout)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGenericConnectors runs a Python Rayvens script's generic-source and
// generic-sink through the binary: Camel URIs run by the native timer and
// file connectors; and `rayvens check` finds a mistake in a URI's options
// at its line, naming the native kind, without showing the URI.
func TestGenericConnectors(t *testing.T) {
	out := t.TempDir()
	script := writeScript(t, "generic.star", `
ticks = Stream("ticks", source_config=dict(kind="generic-source", uri="timer:tick?period=10&repeatCount=3"))
ticks.add_sink(dict(kind="generic-sink", uri="file:" + argv[0] + "?fileName=ticks.txt&fileExist=Append"))
`)
	_, stderr, code := rayvens(t, "run", "--for", "60s", script, out)
	require.Equal(t, 0, code, stderr)
	got, err := os.ReadFile(filepath.Join(out, "ticks.txt"))
	require.NoError(t, err)
	require.Equal(t, "tickticktick", strings.ReplaceAll(string(got), "\n", ""))

	bad := writeScript(t, "bad.star", `
s = Stream("s", source_config=dict(kind="generic-source", uri="timer:orders?period=5&password=hunter2&fetchMaxBytes=1"))
`)
	_, stderr, code = rayvens(t, "check", bad)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "bad.star:2:")
	require.Contains(t, stderr, `generic-source: timer-source: unknown parameter "fetchMaxBytes"`)
	require.NotContains(t, stderr, "hunter2")
}

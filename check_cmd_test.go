package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins"
	"github.com/rayvens/rayvens/plugins/connectors"
)

// TestCheckNeedsNoHost checks that `rayvens check` validates built-in
// kinds from the catalog alone: without plugin directories no host is ever
// made, whatever the config.
func TestCheckNeedsNoHost(t *testing.T) {
	c := &checkConnectors{catalog: connectors.Catalog(), newHost: func() (*plugins.Host, error) {
		t.Fatal("check made a plugin host")
		return nil, nil
	}}
	defer c.close()
	ctx := t.Context()
	require.NoError(t, c.Check(ctx, "timer-source", camel.Source, map[string]any{"message": "m"}))
	require.EqualError(t, c.Check(ctx, "timer-source", camel.Source, map[string]any{}), `timer-source: missing required parameter "message"`)
	require.EqualError(t, c.Check(ctx, "timer-source", camel.Sink, map[string]any{"message": "m"}), "timer-source is a source, not a sink")
	require.EqualError(t, c.Check(ctx, "timer-sorce", camel.Source, nil), `unknown connector kind "timer-sorce" (did you mean "timer-source"?)`)
	require.Nil(t, c.host)
}

// TestCheckRefusesMissingPluginDir: a plugin directory that is not there
// is said at once, not only when a script uses a kind it would serve.
func TestCheckRefusesMissingPluginDir(t *testing.T) {
	_, stderr, code := rayvens(t, "check", "--plugin-dir", filepath.Join(t.TempDir(), "nope"), "examples/stream.star")
	require.Equal(t, 2, code, "a usage error")
	require.Regexp(t, `^rayvens: check: --plugin-dir .*/nope is not a directory \(see rayvens help\)\n$`, stderr)
	_, stderr, code = rayvens(t, "run", "--plugin-dir", filepath.Join(t.TempDir(), "nope"), "examples/stream.star")
	require.Equal(t, 2, code, "a usage error")
	require.Regexp(t, `^rayvens: run: --plugin-dir .*/nope is not a directory \(see rayvens help\)\n$`, stderr)
	_, stderr, code = rayvens(t, "run", "examples")
	require.Equal(t, 2, code, "a usage error")
	require.Equal(t, "rayvens: run: examples is a directory, not a script (rayvens check takes directories) (see rayvens help)\n", stderr)
}

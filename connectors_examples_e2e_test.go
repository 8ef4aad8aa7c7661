package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConnectorExamples checks the example.star of every connector folder
// (plugins/connectors/*/) with rayvens check: each folder has one, and it
// passes. Checking starts no connector, so the examples need no network
// and no server. Those that need nothing outside the run are run too, and
// print what their comments say.
func TestConnectorExamples(t *testing.T) {
	runs := map[string]struct{ stdout, stderr string }{
		"timer": {stdout: "tick\ntick\ntick\n"},
		"log": {stderr: "rayvens: [rayvens out-log-sink] info: audit: Exchange[ExchangePattern: InOnly, Headers: {}, BodyType: text/plain, Body: hello]\n" +
			"rayvens: [rayvens out-log-sink] info: audit: Exchange[ExchangePattern: InOnly, Headers: {CamelFileName=report.txt}, BodyType: text/plain, Body: report ready]\n"},
	}
	entries, err := os.ReadDir("plugins/connectors")
	require.NoError(t, err)
	var folders []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "gendocs" && e.Name() != "testdata" && e.Name() != "internal" {
			folders = append(folders, e.Name())
		}
	}
	require.NotEmpty(t, folders)
	for _, folder := range folders {
		t.Run(folder, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("plugins", "connectors", folder, "example.star")
			require.FileExists(t, path, "each connector folder has an example.star")
			stdout, stderr, code := rayvens(t, "check", path)
			require.Equal(t, 0, code, "rayvens check %s:\n%s", path, stderr)
			require.Empty(t, stdout+stderr)

			if want, ok := runs[folder]; ok {
				stdout, stderr, code := rayvens(t, "run", "--for", "30s", path)
				require.Equal(t, 0, code, stderr)
				require.Equal(t, want.stdout, stdout)
				require.Equal(t, want.stderr, stderr)
			}
		})
	}
	for folder := range runs {
		require.Contains(t, folders, folder)
	}
}

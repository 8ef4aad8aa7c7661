package connectors

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

// TestConnectorsDoc keeps docs/connectors.md in sync with the catalog.
func TestConnectorsDoc(t *testing.T) {
	got, err := os.ReadFile("../../docs/connectors.md")
	require.NoError(t, err)
	require.Equal(t, Markdown(), string(got), "docs/connectors.md is stale: run go generate ./plugins/connectors")
}

// TestReadmes keeps the parameter tables of the connector READMEs in sync
// with the declarations.
func TestReadmes(t *testing.T) {
	readmes, err := filepath.Glob("*/README.md")
	require.NoError(t, err)
	require.NotEmpty(t, readmes)
	for _, path := range readmes {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		want, err := Readme(string(b))
		require.NoError(t, err, path)
		require.Equal(t, want, string(b), "plugins/connectors/%s is stale: run go generate ./plugins/connectors", path)
	}
}

func TestReadme(t *testing.T) {
	stale := "# timer-source\n\n" +
		`<!-- parameters of timer-source: generated from its declaration by "go generate ./plugins/connectors"; do not edit -->` + "\n" +
		"| an old table |\n\n" + paramsEnd + "\n\nMore text.\n"
	got, err := Readme(stale)
	require.NoError(t, err)
	k, _ := Catalog().Lookup("timer-source")
	require.Equal(t, "# timer-source\n\n"+
		`<!-- parameters of timer-source: generated from its declaration by "go generate ./plugins/connectors"; do not edit -->`+"\n"+
		camel.ParamsMarkdown(k.Params)+"\n"+paramsEnd+"\n\nMore text.\n", got)
	again, err := Readme(got)
	require.NoError(t, err)
	require.Equal(t, got, again, "generating twice changes nothing")

	_, err = Readme(`<!-- parameters of tiemr-source: generated from its declaration; do not edit -->` + "\n" + paramsEnd)
	require.EqualError(t, err, "parameter tables of kinds that are not built in: tiemr-source")
}

package connectors

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

func TestPlugin(t *testing.T) {
	p := Plugin("v1.2.3")
	require.Equal(t, "rayvens", p.Name)
	require.Equal(t, "v1.2.3", p.Version)
	require.Contains(t, kinds(p), "timer-source")
}

// TestReadmesListParameters checks that the parameter table in each
// connector's README is the one its declaration makes. When it fails, paste
// the table from the failure into the README.
func TestReadmesListParameters(t *testing.T) {
	readmes, err := filepath.Glob("*/README.md")
	require.NoError(t, err)
	var all strings.Builder
	for _, name := range readmes {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		all.Write(b)
	}
	for name, ps := range kinds(Plugin("")) {
		if table := paramTable(name, ps); !strings.Contains(all.String(), table) {
			t.Errorf("the README of %s should list its parameters as:\n\n%s", name, table)
		}
	}
}

// kinds returns the parameters of every kind of p by name.
func kinds(p sdk.Plugin) map[string][]sdk.Param {
	out := map[string][]sdk.Param{}
	for _, k := range p.Sources {
		out[k.Name] = k.Params
	}
	for _, k := range p.Sinks {
		out[k.Name] = k.Params
	}
	return out
}

// paramTable renders a kind's parameters as a Markdown table, headed by a
// comment naming the kind.
func paramTable(kind string, ps []sdk.Param) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- the parameters of %s, checked by connectors_test.go -->\n", kind)
	b.WriteString("| parameter | type | required | default | description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, p := range ps {
		name := "`" + p.Name + "`"
		for _, a := range p.Aliases {
			name += " or `" + a + "`"
		}
		typ := string(p.Type)
		if p.Secret {
			typ += ", secret"
		}
		required := "no"
		if p.Required {
			required = "yes"
		}
		def := ""
		switch d := p.Default.(type) {
		case nil:
		case string:
			def = fmt.Sprintf("`%q`", d)
		default:
			def = fmt.Sprintf("`%v`", d)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, typ, required, def, p.Description)
	}
	return b.String()
}

// TestCatalog checks that the catalog is assembled from the declarations:
// every kind of the built-in plugin, with its direction.
func TestCatalog(t *testing.T) {
	var names []string
	for _, k := range Catalog().Kinds() {
		names = append(names, k.Name+" "+string(k.Direction))
	}
	require.Equal(t, []string{
		"file-sink sink", "file-source source", "file-source-raw source", "file-watch-source source",
		"http-sink sink", "http-source source", "log-sink sink", "slack-sink sink", "timer-source source",
		"webhook-source source",
	}, names)
}

package connectors

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

func TestPlugin(t *testing.T) {
	p := Plugin("v1.2.3")
	require.Equal(t, "rayvens", p.Name)
	require.Equal(t, "v1.2.3", p.Version)
	require.True(t, slices.ContainsFunc(p.Sources, func(k sdk.SourceKind) bool { return k.Name == "timer-source" }))
}

// TestCatalog checks that the catalog is assembled from the declarations:
// every kind of the built-in plugin, with its direction.
func TestCatalog(t *testing.T) {
	var names []string
	for _, k := range Catalog().Kinds() {
		names = append(names, k.Name+" "+string(k.Direction))
	}
	require.Equal(t, []string{
		"aws-s3-sink sink",
		"aws-s3-source source",
		"binance-source source",
		"cloud-object-storage-sink sink",
		"cloud-object-storage-source source",
		"cron-source source",
		"file-sink sink",
		"file-source source",
		"file-source-raw source",
		"file-watch-source source",
		"generic-periodic-source source",
		"generic-sink sink",
		"generic-source source",
		"http-sink sink",
		"http-source source",
		"kafka-sink sink",
		"kafka-source source",
		"log-sink sink",
		"mqtt-sink sink",
		"mqtt-source source",
		"nats-sink sink",
		"nats-source source",
		"postgresql-sink sink",
		"postgresql-source source",
		"redis-sink sink",
		"redis-source source",
		"slack-sink sink",
		"telegram-sink sink",
		"telegram-source source",
		"timer-source source",
		"webhook-source source",
	}, names)
}

// notConnectors are the folders here that are not connectors.
var notConnectors = []string{"gendocs", "internal", "testdata"}

// TestConnectorFolders checks that each folder here is one connector: its
// kinds are in Plugin, and it holds a README with their generated
// parameter tables and an example.star (which the root's
// connectors_examples_e2e_test.go runs through rayvens check).
func TestConnectorFolders(t *testing.T) {
	folders := connectorFolders()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(notConnectors, e.Name()) {
			require.Contains(t, folders, e.Name(), "plugins/connectors/%s/ declares no kind of Plugin: add its kinds to Plugin in connectors.go", e.Name())
		}
	}
	for folder, kinds := range folders {
		readme, err := os.ReadFile(filepath.Join(folder, "README.md"))
		require.NoError(t, err, "each connector folder has a README.md")
		for _, kind := range kinds {
			require.Contains(t, string(readme), fmt.Sprintf(paramsStart, kind)+"\n",
				"plugins/connectors/%s/README.md has no generated parameter table of %s: add the lines\n\n%s\n%s\n\nand run go generate ./plugins/connectors",
				folder, kind, fmt.Sprintf(paramsStart, kind), paramsEnd)
		}
		require.FileExists(t, filepath.Join(folder, "example.star"), "each connector folder has an example script")
	}
}

// connectorFolders returns the folders the kinds of Plugin are declared
// in, with their kinds: the package of each kind's New function (or its
// Rewrite, for a kind that stands for others).
func connectorFolders() map[string][]string {
	folders := map[string][]string{}
	add := func(kind string, newFn any) {
		name := runtime.FuncForPC(reflect.ValueOf(newFn).Pointer()).Name() // e.g. "github.com/rayvens/rayvens/plugins/connectors/file.opener.func1"
		folder, _, _ := strings.Cut(strings.TrimPrefix(name, "github.com/rayvens/rayvens/plugins/connectors/"), ".")
		folders[folder] = append(folders[folder], kind)
	}
	p := Plugin("")
	for _, k := range p.Sources {
		if k.New == nil {
			add(k.Name, k.Rewrite)
		} else {
			add(k.Name, k.New)
		}
	}
	for _, k := range p.Sinks {
		if k.New == nil {
			add(k.Name, k.Rewrite)
		} else {
			add(k.Name, k.New)
		}
	}
	return folders
}

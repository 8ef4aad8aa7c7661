package connectors

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

// TestCatalogIsServed checks that the built-in plugin serves exactly the
// kinds of the catalog, each with the catalog's parameters and direction.
func TestCatalogIsServed(t *testing.T) {
	p := Plugin("test")
	served := map[string]camel.Direction{}
	for _, k := range p.Sources {
		served[k.Name] = camel.Source
		want := camel.MustLookup(k.Name)
		require.Equal(t, want.Params, k.Params, "parameters of %s", k.Name)
		require.Equal(t, want.Description, k.Description, "description of %s", k.Name)
	}
	for _, k := range p.Sinks {
		served[k.Name] = camel.Sink
		want := camel.MustLookup(k.Name)
		require.Equal(t, want.Params, k.Params, "parameters of %s", k.Name)
		require.Equal(t, want.Description, k.Description, "description of %s", k.Name)
	}
	for _, k := range camel.Kinds() {
		require.Equal(t, k.Direction, served[k.Name], "kind %s is served as a %s", k.Name, k.Direction)
	}
	require.Len(t, served, len(camel.Kinds()))
}

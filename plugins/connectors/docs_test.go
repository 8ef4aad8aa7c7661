package connectors

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConnectorsDoc keeps docs/connectors.md in sync with the catalog.
func TestConnectorsDoc(t *testing.T) {
	got, err := os.ReadFile("../../docs/connectors.md")
	require.NoError(t, err)
	require.Equal(t, Markdown(), string(got), "docs/connectors.md is stale: run go generate ./plugins/connectors")
}

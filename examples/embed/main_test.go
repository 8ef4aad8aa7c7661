package main

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEmbed builds and runs the program, as a user would.
func TestEmbed(t *testing.T) {
	out, err := exec.Command("go", "run", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "ALERT: attic is hot: 31.5°C\nALERT: attic is hot: 30.5°C\n", string(out))
}

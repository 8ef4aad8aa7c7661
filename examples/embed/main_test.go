package main

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEmbed builds and runs the program, as a user would: the alerts are
// printed by Go on stdout, and logged by the log-sink the program serves
// itself on stderr (nothing else is, at the default log level).
func TestEmbed(t *testing.T) {
	cmd := exec.Command("go", "run", ".")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	require.Equal(t, "ALERT: attic is hot: 31.5°C\nALERT: attic is hot: 30.5°C\n", stdout.String())
	require.Equal(t, "rayvens: [rayvens alerts-log-sink] info: alerts: Exchange[ExchangePattern: InOnly, Body: attic is hot: 31.5°C]\n"+
		"rayvens: [rayvens alerts-log-sink] info: alerts: Exchange[ExchangePattern: InOnly, Body: attic is hot: 30.5°C]\n", stderr.String())
}

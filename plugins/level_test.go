package plugins

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLevelZeroIsWarn checks the documented default of Options.LogLevel:
// the zero value is warn, and ParseLevel still gives every level by name
// (the rayvens --log-level flag).
func TestLevelZeroIsWarn(t *testing.T) {
	var zero Level
	require.Equal(t, LevelWarn, zero)
	require.Equal(t, "warn", zero.String())
	for _, l := range []Level{LevelDebug, LevelInfo, LevelWarn, LevelError, LevelOff} {
		parsed, err := ParseLevel(strings.ToUpper(l.String()))
		require.NoError(t, err)
		require.Equal(t, l, parsed)
	}
	require.True(t, LevelDebug < LevelInfo && LevelInfo < LevelWarn && LevelWarn < LevelError && LevelError < LevelOff)
	_, err := ParseLevel("verbose")
	require.EqualError(t, err, `unknown log level "verbose" (want debug, info, warn, error or off)`)

	// A host made with the zero Options logs warnings, not debug lines.
	var out strings.Builder
	h, err := NewHost(Options{Log: &out})
	require.NoError(t, err)
	defer h.Close()
	h.log.log(LevelDebug, "host", "a debug line")
	h.log.log(LevelInfo, "host", "an info line")
	h.log.log(LevelWarn, "host", "a warning")
	require.Equal(t, "rayvens: [host] warn: a warning\n", out.String())
}

package connectors

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

// TestGenericKindsValidateTheNativeConfig: the catalog follows a generic
// kind's rewrite, so a config is the native kind's, checked as the native
// kind checks it (what `rayvens check` and the host do).
func TestGenericKindsValidateTheNativeConfig(t *testing.T) {
	out, err := Catalog().Validate("generic-source", camel.Source, map[string]any{"uri": "timer:tick?period=2000&repeatCount=3"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"message": "tick", "period": int64(2000), "repeatCount": int64(3), "contentType": "text/plain"}, out)

	out, err = Catalog().Validate("generic-periodic-source", camel.Source, map[string]any{"uri": "http://127.0.0.1:1/q?symbol=AAPL", "period": 500})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1/q?symbol=AAPL", out["url"])
	require.Equal(t, int64(500), out["period"])

	const secret = "hunter2-secret"
	for config, want := range map[string]string{
		"timer:tick?delay=5":                        `generic-source: timer-source: unknown parameter "delay"`,
		"timer:tick?period=soon":                    `generic-source: timer-source: parameter "period" must be an integer`,
		"file:in?noop=" + secret:                    `generic-source: file-source: parameter "keepFile" must be true or false`,
		"jms:q?password=" + secret:                  `generic-source: the URI's scheme jms: has no native source here; the schemes served are `,
		"http://u:" + secret + "@127.0.0.1/x?y=z&w": ``,
	} {
		_, err := Catalog().Validate("generic-source", camel.Source, map[string]any{"uri": config})
		if want == "" {
			require.NoError(t, err, config)
			continue
		}
		require.ErrorContains(t, err, want)
		require.NotContains(t, err.Error(), secret)
	}
	_, err = Catalog().Validate("generic-sink", camel.Sink, map[string]any{"uri": "slack:#c"})
	require.EqualError(t, err, `generic-sink: slack-sink: missing required parameter "webhookUrl"`)
	_, err = Catalog().Validate("generic-sink", camel.Source, map[string]any{"uri": "log:x"})
	require.EqualError(t, err, `generic-sink is a sink, not a source`)
}

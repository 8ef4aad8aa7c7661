package sdk

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

// TestChecks: a Param.Check runs when a config is validated, and its error
// follows the parameter's name, without the value.
func TestChecks(t *testing.T) {
	k := SourceKind{Name: "a-source", Params: []Param{
		{Name: "port", Type: Integer, Default: 80, Check: Between(0, 65535)},
		{Name: "period", Type: Integer, Default: 0, Check: AtLeast(0)},
		{Name: "batch", Type: Integer, Default: 1, Check: AtLeast(1)},
		{Name: "offset", Type: String, Default: "latest", Check: OneOf("earliest", "latest")},
		{Name: "url", Type: String, Secret: true, Check: URL("http", "https")},
	}, New: func(Config, *slog.Logger) (Source, error) { return nil, nil }}
	require.NoError(t, k.Kind().Check())
	for _, c := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"port": 70000}, `a-source: parameter "port" must be between 0 and 65535`},
		{map[string]any{"period": -1}, `a-source: parameter "period" must not be negative`},
		{map[string]any{"batch": 0}, `a-source: parameter "batch" must be at least 1`},
		{map[string]any{"offset": "newest"}, `a-source: parameter "offset" must be one of earliest, latest`},
		{map[string]any{"url": "ftp://user:hunter2@host/"}, `a-source: parameter "url" must be a URL starting with http:// or https://`},
		{map[string]any{"url": "example.com/?token=hunter2"}, `a-source: parameter "url" must be a URL starting with http:// or https://`},
	} {
		_, err := k.Kind().Validate(c.config)
		require.EqualError(t, err, c.want)
	}
	_, err := k.Kind().Validate(map[string]any{"port": 8080, "url": "https://example.com/x", "offset": "earliest"})
	require.NoError(t, err)

	bad := camel.Kind{Name: "b-source", Direction: camel.Source, Params: []Param{{Name: "port", Type: Integer, Default: -5, Check: Between(0, 65535)}}}
	require.EqualError(t, bad.Check(), `b-source: default of parameter "port" must be between 0 and 65535`)
}

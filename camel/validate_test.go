package camel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// httpSource is a kind's parameters as the catalog declares them.
var httpSource = []Param{
	{Name: "url", Type: String, Required: true},
	{Name: "period", Type: Integer, Default: 1000},
	{Name: "timeout", Type: Number, Default: 2.5},
	{Name: "insecure", Type: Boolean, Default: false},
	{Name: "token", Type: String, Secret: true},
	{Name: "webhookUrl", Type: String, Secret: true, Aliases: []string{"webhook_url"}},
}

func TestValidateNormalizes(t *testing.T) {
	got, err := validate("http-source", httpSource, map[string]any{
		"url":         "http://localhost",
		"period":      3000.0, // JSON and protobuf numbers are float64
		"timeout":     1,
		"webhook_url": "https://hooks.example/T0",
	})
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"url":        "http://localhost",
		"period":     int64(3000),
		"timeout":    1.0,
		"insecure":   false,
		"webhookUrl": "https://hooks.example/T0",
	}, got)
}

func TestValidateDefaults(t *testing.T) {
	got, err := validate("http-source", httpSource, map[string]any{"url": "u"})
	require.NoError(t, err)
	require.Equal(t, int64(1000), got["period"], "an int default becomes int64")
	require.Equal(t, 2.5, got["timeout"])
	require.Equal(t, false, got["insecure"])
	require.NotContains(t, got, "token", "no default, not given: absent")
}

func TestValidateIntegers(t *testing.T) {
	for _, v := range []any{7, int64(7), 7.0} {
		got, err := validate("k", []Param{{Name: "n", Type: Integer}}, map[string]any{"n": v})
		require.NoError(t, err, "%T", v)
		require.Equal(t, int64(7), got["n"])
	}
	_, err := validate("k", []Param{{Name: "n", Type: Integer}}, map[string]any{"n": 7.5})
	require.EqualError(t, err, `k: parameter "n" must be an integer, got number`)
	_, err = validate("k", []Param{{Name: "n", Type: Integer}}, map[string]any{"n": 1e300})
	require.EqualError(t, err, `k: parameter "n" must be an integer, got number`, "too large to be exact")
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		err    string
	}{
		{map[string]any{"url": "u", "period": "fast"}, `http-source: parameter "period" must be an integer, got string`},
		{map[string]any{"url": "u", "perod": 5}, `http-source: unknown parameter "perod" (did you mean "period"?)`},
		{map[string]any{"url": "u", "Period": 5}, `http-source: unknown parameter "Period" (did you mean "period"?)`},
		{map[string]any{"url": "u", "webhookurl": "x"}, `http-source: unknown parameter "webhookurl" (did you mean "webhookUrl"?)`},
		{map[string]any{"url": "u", "colour": "red"}, `http-source: unknown parameter "colour"`},
		{map[string]any{"period": 5}, `http-source: missing required parameter "url"`},
		{map[string]any{"url": 5}, `http-source: parameter "url" must be a string, got integer`},
		{map[string]any{"url": "u", "insecure": "yes"}, `http-source: parameter "insecure" must be a boolean, got string`},
		{map[string]any{"url": "u", "timeout": true}, `http-source: parameter "timeout" must be a number, got boolean`},
		{map[string]any{"url": "u", "token": nil}, `http-source: parameter "token" must be a string, got None`},
		{map[string]any{"url": []any{"u"}}, `http-source: parameter "url" must be a string, got list`},
		{map[string]any{"url": "https://x/SECRET\xc3"}, `http-source: parameter "url" must be valid UTF-8 text`},
		{map[string]any{"url": "u", strings.Repeat("p", 5000): 1}, `http-source: unknown parameter "` + strings.Repeat("p", 64) + `"... (5000 bytes)`},
		{
			map[string]any{"url": "u", "webhookUrl": "a", "webhook_url": "b"},
			`http-source: parameter "webhookUrl" given twice (as "webhookUrl" and "webhook_url")`,
		},
	} {
		_, err := validate("http-source", httpSource, tc.config)
		require.EqualError(t, err, tc.err)
	}
}

func TestValidateNeverShowsValues(t *testing.T) {
	_, err := validate("http-source", httpSource, map[string]any{"url": "u", "webhook_url": 12345})
	require.EqualError(t, err, `http-source: parameter "webhook_url" must be a string, got integer`)
	require.NotContains(t, err.Error(), "12345")
}

package connectors

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

// validConfig returns a config with every required parameter of k set to a
// value of its type (one that passes its Check, from checkedSamples).
func validConfig(k camel.Kind) map[string]any {
	cfg := map[string]any{}
	for _, p := range k.Params {
		if p.Required {
			cfg[p.Name] = sample(p.Type)
			if v, ok := checkedSamples[k.Name+"."+p.Name]; ok {
				cfg[p.Name] = v
			}
		}
	}
	return cfg
}

// checkedSamples are valid values of the required parameters that have a
// Check, by "KIND.PARAMETER".
var checkedSamples = map[string]any{
	"cron-source.schedule":  "0/5 * * * * ?",
	"http-source.url":       "http://127.0.0.1:8080/quote",
	"http-sink.url":         "https://example.com/hook",
	"mqtt-source.brokerUrl": "tcp://127.0.0.1:1883",
	"mqtt-sink.brokerUrl":   "tcp://127.0.0.1:1883",
}

func sample(t camel.Type) any {
	switch t {
	case camel.Integer:
		return 7
	case camel.Number:
		return 1.5
	case camel.Boolean:
		return true
	}
	return "x"
}

// wrong returns a value of another type than t, and that type's name.
func wrong(t camel.Type) (any, string) {
	if t == camel.String {
		return 42, "integer"
	}
	return "text", "string"
}

// TestValidationErrorsForEveryKind checks, for every kind of the catalog,
// the three mistakes a script can make, and that a complete config passes.
// The kinds that stand for others (generic-*) have their own tests: their
// configs are valid only when they name a kind that exists.
func TestValidationErrorsForEveryKind(t *testing.T) {
	for _, k := range Catalog().Kinds() {
		if k.Rewrite != nil {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			_, err := Catalog().Validate(k.Name, k.Direction, validConfig(k))
			require.NoError(t, err)

			cfg := validConfig(k)
			cfg["bogusParameter"] = "x"
			_, err = Catalog().Validate(k.Name, k.Direction, cfg)
			require.EqualError(t, err, fmt.Sprintf("%s: unknown parameter %q", k.Name, "bogusParameter"))

			for _, p := range k.Params {
				if p.Required && p.Default == nil {
					cfg := validConfig(k)
					delete(cfg, p.Name)
					_, err := Catalog().Validate(k.Name, k.Direction, cfg)
					require.EqualError(t, err, fmt.Sprintf("%s: missing required parameter %q", k.Name, p.Name))
				}
				cfg := validConfig(k)
				bad, got := wrong(p.Type)
				cfg[p.Name] = bad
				_, err := Catalog().Validate(k.Name, k.Direction, cfg)
				article := "a"
				if p.Type == camel.Integer {
					article = "an"
				}
				require.EqualError(t, err, fmt.Sprintf("%s: parameter %q must be %s %s, got %s", k.Name, p.Name, article, p.Type, got))
				for _, alias := range p.Aliases {
					cfg := validConfig(k)
					delete(cfg, p.Name)
					cfg[alias] = sample(p.Type)
					out, err := Catalog().Validate(k.Name, k.Direction, cfg)
					require.NoError(t, err, "alias %s", alias)
					require.Contains(t, out, p.Name, "alias %s stands for %s", alias, p.Name)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	_, err := Catalog().Validate("slack-sink", camel.Sink, map[string]any{"channel": "#x"})
	require.EqualError(t, err, `slack-sink: missing required parameter "webhookUrl"`)
	_, err = Catalog().Validate("http-source", camel.Source, map[string]any{"url": "http://x", "period": "fast"})
	require.EqualError(t, err, `http-source: parameter "period" must be an integer, got string`)
	_, err = Catalog().Validate("http-source", camel.Source, map[string]any{"uri": "http://x"})
	require.EqualError(t, err, `http-source: unknown parameter "uri" (did you mean "url"?)`)
	_, err = Catalog().Validate("http-sorce", camel.Source, nil)
	require.EqualError(t, err, `unknown connector kind "http-sorce" (did you mean "http-source"?)`)
	_, err = Catalog().Validate("http-source", camel.Sink, map[string]any{"url": "http://x"})
	require.EqualError(t, err, "http-source is a source, not a sink")
	cfg, err := Catalog().Validate("slack-sink", camel.Sink, map[string]any{"channel": "#x", "webhook_url": "https://hooks.example/secret"})
	require.NoError(t, err)
	require.Equal(t, "https://hooks.example/secret", cfg["webhookUrl"], "snake_case alias")
	cfg, err = Catalog().Validate("http-source", camel.Source, map[string]any{"url": "http://x"})
	require.NoError(t, err)
	require.Equal(t, int64(1000), cfg["period"], "Rayvens' default period wins over the Kamelet's")
	cfg, err = Catalog().Validate("file-watch-source", camel.Source, map[string]any{"path": "/tmp"})
	require.NoError(t, err)
	require.Equal(t, "CREATE,MODIFY,DELETE", cfg["events"], "a required parameter with a default takes it")
}

// TestSecretsNeverInErrors makes sure validation errors never echo values.
func TestSecretsNeverInErrors(t *testing.T) {
	const secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
	for _, cfg := range []map[string]any{
		{"webhookUrl": secret},
		{"channel": 3, "webhookUrl": secret},
		{"channel": "#x", "webhookUrl": secret, "webhookURL": secret},
		{"channel": "#x", "webhookUrl": 42, "extra": secret},
	} {
		_, err := Catalog().Validate("slack-sink", camel.Sink, cfg)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "SECRET")
	}
}

package camel

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/params"
)

// validConfig returns a config with every required parameter of k set to a
// value of its type.
func validConfig(k Kind) map[string]any {
	cfg := map[string]any{}
	for _, p := range k.Params {
		if p.Required {
			cfg[p.Name] = sample(p.Type)
		}
	}
	return cfg
}

func sample(t params.Type) any {
	switch t {
	case params.Integer:
		return 7
	case params.Number:
		return 1.5
	case params.Boolean:
		return true
	}
	return "x"
}

// wrong returns a value of another type than t, and that type's name.
func wrong(t params.Type) (any, string) {
	if t == params.String {
		return 42, "integer"
	}
	return "text", "string"
}

// TestValidationErrorsForEveryKind checks, for every kind of the catalog,
// the three mistakes a script can make, and that a complete config passes.
func TestValidationErrorsForEveryKind(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			_, err := Validate(k.Name, validConfig(k))
			require.NoError(t, err)

			cfg := validConfig(k)
			cfg["bogusParameter"] = "x"
			_, err = Validate(k.Name, cfg)
			require.EqualError(t, err, fmt.Sprintf("%s: unknown parameter %q", k.Name, "bogusParameter"))

			for _, p := range k.Params {
				if p.Required && p.Default == nil {
					cfg := validConfig(k)
					delete(cfg, p.Name)
					_, err := Validate(k.Name, cfg)
					require.EqualError(t, err, fmt.Sprintf("%s: missing required parameter %q", k.Name, p.Name))
				}
				cfg := validConfig(k)
				bad, got := wrong(p.Type)
				cfg[p.Name] = bad
				_, err := Validate(k.Name, cfg)
				article := "a"
				if p.Type == params.Integer {
					article = "an"
				}
				require.EqualError(t, err, fmt.Sprintf("%s: parameter %q must be %s %s, got %s", k.Name, p.Name, article, p.Type, got))
				for _, alias := range p.Aliases {
					cfg := validConfig(k)
					delete(cfg, p.Name)
					cfg[alias] = sample(p.Type)
					out, err := Validate(k.Name, cfg)
					require.NoError(t, err, "alias %s", alias)
					require.Contains(t, out, p.Name, "alias %s stands for %s", alias, p.Name)
				}
			}
		})
	}
}

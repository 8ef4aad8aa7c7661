package connectors

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// kamelet is the part of a Kamelet definition the catalog must follow.
type kamelet struct {
	Spec struct {
		Definition struct {
			Required   []string `yaml:"required"`
			Properties map[string]struct {
				Type   string `yaml:"type"`
				Format string `yaml:"format"`
			} `yaml:"properties"`
		} `yaml:"definition"`
	} `yaml:"spec"`
}

// TestKinds compares every kind that follows a Kamelet with it: the same
// parameter names, the same required set, the same types, and password
// fields marked secret. The Kamelets are copies of reference/kamelets in
// testdata (TestKameletCopies keeps them equal to the reference).
func TestKinds(t *testing.T) {
	for _, k := range Catalog().Kinds() {
		if k.Kamelet == "" {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "kamelets", k.Kamelet+".kamelet.yaml"))
			require.NoError(t, err)
			var km kamelet
			require.NoError(t, yaml.Unmarshal(data, &km))
			def := km.Spec.Definition

			var names, wantNames, required []string
			for _, p := range k.Params {
				if _, ok := def.Properties[p.Name]; !ok {
					// Rayvens' own additions are allowed, and listed here.
					require.Contains(t, rayvensOnly[k.Name], p.Name, "parameter %q is not in the Kamelet", p.Name)
					continue
				}
				names = append(names, p.Name)
				prop := def.Properties[p.Name]
				require.Equal(t, prop.Type, string(p.Type), "type of %q", p.Name)
				if prop.Format == "password" {
					require.True(t, p.Secret, "%q is a password in the Kamelet: it must be secret", p.Name)
				}
				if p.Required {
					required = append(required, p.Name)
				}
			}
			for n := range def.Properties {
				wantNames = append(wantNames, n)
			}
			sort.Strings(names)
			sort.Strings(wantNames)
			sort.Strings(required)
			want := append([]string(nil), def.Required...)
			sort.Strings(want)
			require.Equal(t, wantNames, names, "parameter names")
			require.Equal(t, want, nilIfEmpty(required), "required parameters")
		})
	}
}

// rayvensOnly are parameters Rayvens adds to a Kamelet's.
var rayvensOnly = map[string][]string{
	"webhook-source": {"host", "port", "maxBodySize", "authorizationToken"},
	"http-sink":      {"contentType", "authorizationToken", "headers"},

	"telegram-source": {"baseUri"},
	"telegram-sink":   {"baseUri"},
	"redis-source":    {"redisUsername", "redisPassword"},
	"redis-sink":      {"key", "redisUsername", "redisPassword"},
	"mqtt-source":     {"qos"},
	"mqtt-sink":       {"qos"},
	"nats-source":     {"durableName", "queueName", "ackWait", "username", "password", "token", "secure", "tlsCaFile", "connectionTimeout"},
	"nats-sink":       {"username", "password", "token", "secure", "tlsCaFile", "connectionTimeout"},
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestKameletCopies checks the copies in testdata against the reference
// Kamelets, when the reference is beside the checkout (as in CI).
func TestKameletCopies(t *testing.T) {
	ref := filepath.Join("..", "..", "..", "shared", "reference", "kamelets")
	if _, err := os.Stat(ref); err != nil {
		t.Skip("the reference Kamelets are not beside this checkout")
	}
	copies, err := filepath.Glob(filepath.Join("testdata", "kamelets", "*.kamelet.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, copies)
	for _, c := range copies {
		want, err := os.ReadFile(filepath.Join(ref, filepath.Base(c)))
		require.NoError(t, err)
		got, err := os.ReadFile(c)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s differs from the reference", c)
	}
	// Every reference Kamelet of a kind we implement is covered.
	for _, k := range Catalog().Kinds() {
		if _, err := os.Stat(filepath.Join(ref, k.Name+".kamelet.yaml")); err == nil {
			require.Equal(t, k.Name, k.Kamelet, "kind %s has a reference Kamelet", k.Name)
		}
	}
}

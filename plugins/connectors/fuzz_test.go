package connectors

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// FuzzCatalogValidate validates configs against the built-in catalog, as
// `rayvens check` and the host do, and then along the whole way to a
// connector's New (sdktest.Validate: the host's validation, the wire, the
// SDK's validation). The fuzz input is a kind ("#N" is the N-th kind of
// the catalog), a config as a JSON object (JSON numbers are float64, as on
// the wire) and a string, which is given to the first string parameter
// the config leaves out. Nothing panics; an error names the kind, or is
// an unknown kind's with a real suggestion, or a direction's; everything
// an error quotes is a parameter's name, never a value; a config that
// validates validates again to itself, and reaches New the same.
func FuzzCatalogValidate(f *testing.F) {
	catalog := Catalog()
	kinds := catalog.Kinds()
	declared := map[string]interface{ Kind() camel.Kind }{}
	p := Plugin("")
	for _, k := range p.Sources {
		declared[k.Name] = k
	}
	for _, k := range p.Sinks {
		declared[k.Name] = k
	}
	f.Fuzz(func(t *testing.T, kind, config, text string) {
		if n, err := strconv.Atoi(strings.TrimPrefix(kind, "#")); err == nil && strings.HasPrefix(kind, "#") && n >= 0 && n < len(kinds) {
			kind = kinds[n].Name
		}
		var cfg map[string]any
		if json.Unmarshal([]byte(config), &cfg) != nil || cfg == nil {
			cfg = map[string]any{}
		}
		k, known := catalog.Lookup(kind)
		if known {
			// A string that is not UTF-8 cannot cross the wire: the
			// host's error for it shows the value (reported, not
			// covered here). Validation itself is fuzzed with such
			// strings in camel.
			text = strings.ToValidUTF8(text, "?")
			for _, p := range k.Params {
				if _, given := cfg[p.Name]; !given && p.Type == camel.String {
					cfg[p.Name] = text
					break
				}
			}
		}
		for _, dir := range []camel.Direction{camel.Source, camel.Sink} {
			out, err := catalog.Validate(kind, dir, cfg)
			var unknown *camel.UnknownKindError
			switch {
			case !known:
				require.ErrorAs(t, err, &unknown)
				require.Equal(t, kind, unknown.Kind)
				if unknown.Suggestion != "" {
					_, ok := catalog.Lookup(unknown.Suggestion)
					require.True(t, ok, "the suggestion %q is a kind", unknown.Suggestion)
				}
				continue
			case dir != k.Direction:
				require.EqualError(t, err, k.Name+" is a "+string(k.Direction)+", not a "+string(dir))
				continue
			case err != nil && k.Rewrite != nil:
				requireRewriteError(t, catalog, k, cfg, err)
				continue
			case err != nil:
				requireNamesOnly(t, k, cfg, err)
				_, err = sdktest.Validate(declared[kind], cfg)
				require.Error(t, err, "what the host refuses, the whole way refuses")
				requireNamesOnly(t, k, cfg, err)
				continue
			}
			kind := kind
			if k.Rewrite != nil {
				// The config is the kind's it stands for: the rest is
				// about that kind.
				own, err := k.Validate(cfg)
				require.NoError(t, err)
				target, _, err := k.Resolve(own, func(name string) (camel.Kind, error) {
					k, _ := catalog.Lookup(name)
					return k, nil
				})
				require.NoError(t, err)
				kind, cfg = target.Name, out
			}
			again, err := catalog.Validate(kind, dir, out)
			require.NoError(t, err, "a normalized config validates again")
			require.Equal(t, out, again)
			values, err := sdktest.Validate(declared[kind], cfg)
			require.NoError(t, err, "what the host accepts reaches New")
			require.Equal(t, out, values, "New gets what the host validated")
		}
	})
}

// requireRewriteError checks an error of a kind that stands for others
// (generic-*): it starts with the kind, and what it quotes is a name: of
// a parameter of any kind, or an option of the URI.
func requireRewriteError(t *testing.T, catalog *camel.Catalog, k camel.Kind, cfg map[string]any, err error) {
	t.Helper()
	require.True(t, strings.HasPrefix(err.Error(), k.Name+": "), "the error names the kind: %v", err)
	names := map[string]bool{}
	for _, other := range catalog.Kinds() {
		for _, p := range other.Params {
			names[p.Name] = true
			for _, a := range p.Aliases {
				names[a] = true
			}
		}
	}
	for key, v := range cfg {
		names[key] = true
		if s, ok := v.(string); ok {
			_, query, _ := strings.Cut(s, "?")
			for _, pair := range strings.Split(query, "&") {
				name, _, _ := strings.Cut(pair, "=")
				names[name] = true
			}
		}
	}
	msg := err.Error()
	for i := 0; i < len(msg); i++ {
		if msg[i] != '"' {
			continue
		}
		q, qerr := strconv.QuotedPrefix(msg[i:])
		require.NoError(t, qerr, "an unbalanced quote in %v", err)
		s, _ := strconv.Unquote(q)
		require.True(t, names[s] || cutName(s, names) || catalogHas(catalog, s), "the error quotes %q, which is no name: %v", s, err)
		i += len(q) - 1
	}
}

// catalogHas reports whether name is a kind of catalog (an unknown kind's
// error quotes it).
func catalogHas(catalog *camel.Catalog, name string) bool {
	_, ok := catalog.Lookup(name)
	return ok
}

// requireNamesOnly checks a validation error of kind k: it starts with the
// kind, quotes at least one name, and quotes only names that cfg or k has.
func requireNamesOnly(t *testing.T, k camel.Kind, cfg map[string]any, err error) {
	t.Helper()
	msg, ok := strings.CutPrefix(err.Error(), k.Name+": ")
	require.True(t, ok, "the error names the kind: %v", err)
	names := map[string]bool{}
	for key := range cfg {
		names[key] = true
	}
	for _, p := range k.Params {
		names[p.Name] = true
		for _, a := range p.Aliases {
			names[a] = true
		}
	}
	quoted := 0
	for i := 0; i < len(msg); i++ {
		if msg[i] != '"' {
			continue
		}
		q, qerr := strconv.QuotedPrefix(msg[i:])
		require.NoError(t, qerr, "an unbalanced quote in %v", err)
		s, _ := strconv.Unquote(q)
		require.True(t, names[s] || cutName(s, names), "the error quotes %q, which is no parameter's name: %v", s, err)
		quoted++
		i += len(q) - 1
	}
	require.NotZero(t, quoted, "the error names a parameter: %v", err)
}

// cutName reports whether q is the start of one of names longer than the
// 64 bytes an error quotes of a name (camel cuts a long name short).
func cutName(q string, names map[string]bool) bool {
	for n := range names {
		if len(n) > 64 && len(q) <= 64 && strings.HasPrefix(n, q) {
			return true
		}
	}
	return false
}

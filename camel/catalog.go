// Package camel is the connector catalog: every built-in kind, its
// direction, and its parameters named and required as the Apache Camel
// Kamelet of the same name has them (reference/kamelets), with the defaults
// Rayvens chose where it chose one (http-source polls every 1000 ms), the
// snake_case spellings Rayvens used accepted as aliases (webhook_url,
// authorization_token, ...), and secrets marked.
//
// The built-in connectors (plugins/connectors/...) take their declarations
// from here, so the catalog, the validation the host does before any process
// starts, `rayvens kinds` and docs/connectors.md never disagree.
package camel

import (
	"fmt"
	"sort"

	"github.com/rayvens/rayvens/plugins/params"
)

// Direction tells sources from sinks.
type Direction string

// Directions.
const (
	Source Direction = "source"
	Sink   Direction = "sink"
)

// Kind is one connector kind of the catalog.
type Kind struct {
	Name        string
	Direction   Direction
	Description string
	Params      []params.Param
	// Kamelet is the file name of the Apache Kamelet this kind follows,
	// empty for kinds that come from Rayvens alone (file-source, file-sink).
	Kamelet string
	// Events describes what the kind emits or expects, for the docs.
	Events string
}

// Kinds returns every kind of the catalog, sorted by name.
func Kinds() []Kind {
	out := append([]Kind(nil), catalog...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the kind named name.
func Lookup(name string) (Kind, bool) {
	for _, k := range catalog {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// MustLookup returns the kind named name and panics if there is none; for
// the connectors' declarations, which a test checks.
func MustLookup(name string) Kind {
	k, ok := Lookup(name)
	if !ok {
		panic(fmt.Sprintf("camel: no kind %q in the catalog", name))
	}
	return k
}

// Validate checks a config for kind and returns it normalized (canonical
// names, defaults, Go types). Errors name the kind and the parameter, e.g.
// `slack-sink: missing required parameter "webhookUrl"`, and never a value.
func Validate(kind string, config map[string]any) (map[string]any, error) {
	k, ok := Lookup(kind)
	if !ok {
		names := make([]string, len(catalog))
		for i, c := range catalog {
			names[i] = c.Name
		}
		msg := fmt.Sprintf("unknown connector kind %q", kind)
		if s := params.Closest(kind, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return params.Validate(kind, k.Params, config)
}

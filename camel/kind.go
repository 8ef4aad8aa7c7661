package camel

import (
	"errors"
	"fmt"
)

// maxKindName bounds a kind's name: it is quoted whole in every error
// about the kind's parameters.
const maxKindName = 64

// kindNameError says what is wrong with a kind's name, or "": a lowercase
// letter, then lowercase letters, digits and hyphens, at most maxKindName
// bytes, as Kamelet names are (e.g. "aws-s3-source").
func kindNameError(name string) string {
	if len(name) > maxKindName {
		return fmt.Sprintf("is %d bytes long, more than %d", len(name), maxKindName)
	}
	for i, r := range name {
		switch {
		case 'a' <= r && r <= 'z':
		case i > 0 && ('0' <= r && r <= '9' || r == '-'):
		default:
			return fmt.Sprintf("has %q at byte %d: a name is a lowercase letter, then lowercase letters, digits and hyphens", r, i)
		}
	}
	return ""
}

// Direction tells sources from sinks.
type Direction string

// Directions.
const (
	Source Direction = "source"
	Sink   Direction = "sink"
)

// Kind is the declaration of one connector kind: what `rayvens kinds`, the
// docs and validation know of it. Built-in kinds declare theirs next to
// their code (plugins/connectors/*); plugins send theirs when described.
type Kind struct {
	Name        string
	Direction   Direction
	Description string
	// Events says what the kind emits or expects, for the docs, e.g. "the
	// body of each POST, as a string".
	Events string
	// Kamelet names the Apache Camel Kamelet the kind follows (e.g.
	// "http-source"), empty for kinds of Rayvens' own.
	Kamelet string
	Params  []Param
	// Rewrite, when set, makes the kind stand for others, as
	// generic-source stands for the connector of a Camel URI's scheme: the
	// host validates a config against Params, then opens the kind Rewrite
	// names with the config it returns, validated in turn against that
	// kind. It is a function in the host's process, so only the kinds the
	// host knows without asking a plugin (the built-in ones) can have one;
	// the plugin protocol does not carry it.
	Rewrite Rewrite
}

// A Rewrite turns a validated config into the kind and the parameters of
// the connector that serves it. The parameters are text, as in a URI's
// query: the host reads each as its parameter's type (see ParseText).
// Errors, like a validation's, name parameters and never show a value.
type Rewrite func(config map[string]any) (kind string, params map[string]string, err error)

// Validate checks config against the kind's parameters and returns it
// normalized: aliases replaced by canonical names, defaults filled in,
// values converted to string, int64, float64 or bool. Errors name the kind
// and the parameter, e.g. `slack-sink: missing required parameter
// "webhookUrl"`, and never include a value (it may be a secret).
func (k Kind) Validate(config map[string]any) (map[string]any, error) {
	return validate(k.Name, k.Params, config)
}

// Check reports the mistakes in a declaration that would otherwise show
// only when an instance is opened, or never: no name, a name that is not
// a lowercase letter followed by lowercase letters, digits and hyphens, a
// direction other than Source or Sink, a parameter name or alias used
// twice, a default of the wrong type.
func (k Kind) Check() error {
	switch {
	case k.Name == "":
		return errors.New("a kind has no name")
	case kindNameError(k.Name) != "":
		return fmt.Errorf("the kind %s: its name %s", quote(k.Name), kindNameError(k.Name))
	case k.Direction != Source && k.Direction != Sink:
		return fmt.Errorf("%s: direction must be %q or %q, not %q", k.Name, Source, Sink, k.Direction)
	}
	names := map[string]bool{}
	for _, p := range k.Params {
		for _, name := range append([]string{p.Name}, p.Aliases...) {
			if names[name] {
				return fmt.Errorf("%s: parameter name %q is declared twice", k.Name, name)
			}
			names[name] = true
		}
		if p.Default != nil {
			v, err := convert(p.Type, p.Default)
			if err == nil && p.Check != nil {
				err = p.Check(v)
			}
			if err != nil {
				return fmt.Errorf("%s: default of parameter %q %w", k.Name, p.Name, err)
			}
		} else if _, err := convert(p.Type, sampleOf(p.Type)); err != nil {
			return fmt.Errorf("%s: parameter %q %w", k.Name, p.Name, err)
		}
	}
	return nil
}

// sampleOf is a value of t, to check that t is a known type.
func sampleOf(t Type) any {
	switch t {
	case Integer:
		return 0
	case Number:
		return 0.0
	case Boolean:
		return false
	}
	return ""
}

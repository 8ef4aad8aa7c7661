package camel

import (
	"fmt"
	"sort"
)

// Catalog is a set of kinds, looked up by name: the built-in connectors'
// (plugins/connectors.Catalog), or any other set a program assembles.
type Catalog struct {
	kinds map[string]Kind
}

// NewCatalog checks each kind (see [Kind.Check]) and returns the catalog of
// them; a name declared twice is an error.
func NewCatalog(kinds ...Kind) (*Catalog, error) {
	c := &Catalog{kinds: make(map[string]Kind, len(kinds))}
	for _, k := range kinds {
		if err := k.Check(); err != nil {
			return nil, err
		}
		if _, dup := c.kinds[k.Name]; dup {
			return nil, fmt.Errorf("kind %q is declared twice", k.Name)
		}
		c.kinds[k.Name] = k
	}
	return c, nil
}

// Kinds returns every kind of the catalog, sorted by name.
func (c *Catalog) Kinds() []Kind {
	out := make([]Kind, 0, len(c.kinds))
	for _, k := range c.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the kind named name.
func (c *Catalog) Lookup(name string) (Kind, bool) {
	k, ok := c.kinds[name]
	return k, ok
}

// Validate checks a config for the kind named kind, which must have the
// direction dir, and returns it normalized (see [Kind.Validate]). An
// unknown kind is an [*UnknownKindError]. For a kind that stands for
// another (Kind.Rewrite), the other's config is checked too (see
// [Kind.Resolve]), and returned.
func (c *Catalog) Validate(kind string, dir Direction, config map[string]any) (map[string]any, error) {
	k, err := c.find(kind)
	if err != nil {
		return nil, err
	}
	if err := k.Is(dir); err != nil {
		return nil, err
	}
	cfg, err := k.Validate(config)
	if err != nil {
		return nil, err
	}
	_, cfg, err = k.Resolve(cfg, c.find)
	return cfg, err
}

// find returns the kind named name, or an [*UnknownKindError].
func (c *Catalog) find(name string) (Kind, error) {
	if k, ok := c.kinds[name]; ok {
		return k, nil
	}
	names := make([]string, 0, len(c.kinds))
	for n := range c.kinds {
		names = append(names, n)
	}
	return Kind{}, &UnknownKindError{Kind: name, Suggestion: Closest(name, names)}
}

// Is checks that k has direction dir.
func (k Kind) Is(dir Direction) error {
	if k.Direction != dir {
		return fmt.Errorf("%s is a %s, not a %s", k.Name, k.Direction, dir)
	}
	return nil
}

// UnknownKindError is the error for a kind nobody declared.
type UnknownKindError struct {
	Kind       string
	Suggestion string // the closest known kind, or ""
}

func (e *UnknownKindError) Error() string {
	msg := "unknown connector kind " + quote(e.Kind)
	if e.Suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.Suggestion)
	}
	return msg
}

// Resolve follows k's Rewrite, if it has one, from config (already
// validated against k): it finds the kind the rewrite names with lookup,
// reads the rewritten parameters as that kind's types and validates them.
// It returns the kind to open and its config: k and config themselves when
// k has no Rewrite. Errors start with k's name, then the other's:
// `generic-source: kafka-source: missing required parameter "topic"`.
func (k Kind) Resolve(config map[string]any, lookup func(name string) (Kind, error)) (Kind, map[string]any, error) {
	if k.Rewrite == nil {
		return k, config, nil
	}
	to, text, err := k.Rewrite(config)
	if err != nil {
		return Kind{}, nil, fmt.Errorf("%s: %w", k.Name, err)
	}
	target, err := lookup(to)
	if err != nil {
		return Kind{}, nil, fmt.Errorf("%s: %w", k.Name, err)
	}
	if err := target.Is(k.Direction); err != nil {
		return Kind{}, nil, fmt.Errorf("%s: %w", k.Name, err)
	}
	if target.Rewrite != nil {
		return Kind{}, nil, fmt.Errorf("%s: stands for %s, which stands for another kind in turn", k.Name, to)
	}
	params, err := target.ParseText(text)
	if err == nil {
		params, err = target.Validate(params)
	}
	if err != nil {
		return Kind{}, nil, fmt.Errorf("%s: %w", k.Name, err)
	}
	return target, params, nil
}

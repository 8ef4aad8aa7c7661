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
// unknown kind is an [*UnknownKindError].
func (c *Catalog) Validate(kind string, dir Direction, config map[string]any) (map[string]any, error) {
	k, ok := c.kinds[kind]
	if !ok {
		names := make([]string, 0, len(c.kinds))
		for n := range c.kinds {
			names = append(names, n)
		}
		return nil, &UnknownKindError{Kind: kind, Suggestion: Closest(kind, names)}
	}
	if err := k.Is(dir); err != nil {
		return nil, err
	}
	return k.Validate(config)
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

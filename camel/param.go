package camel

// Type is a parameter's type, named as in the Kamelet catalog.
type Type string

// Parameter types.
const (
	String  Type = "string"
	Integer Type = "integer"
	Number  Type = "number"
	Boolean Type = "boolean"
)

// Param declares one parameter of a kind.
type Param struct {
	Name string
	Type Type
	// Required parameters must be given, unless they have a Default (as
	// some Kamelets declare them): then they take it.
	Required    bool
	Default     any // nil: no default; otherwise a value of Type
	Secret      bool
	Description string
	Aliases     []string // other accepted names, e.g. "webhook_url" for "webhookUrl"
}

// Optional reports whether a config may leave the parameter out.
func (p Param) Optional() bool { return !p.Required || p.Default != nil }

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
	// Check, when set, checks a value beyond its type (a cron expression,
	// a port's range, a URL), so that `rayvens check` finds the mistake
	// without opening anything. It gets the value converted to Type and
	// says what is wrong in words that the error puts after the
	// parameter's name (`cron-source: parameter "schedule" ` + err); for a
	// Secret parameter it must not show the value. It is a function in the
	// declaring process: the plugin protocol does not carry it, so the
	// host's own validation applies it to built-in kinds, and the SDK to
	// every kind when an instance is opened.
	Check func(value any) error
}

// Optional reports whether a config may leave the parameter out.
func (p Param) Optional() bool { return !p.Required || p.Default != nil }

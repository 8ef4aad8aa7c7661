// Package camel is the connector schema: what a connector kind is and how
// a script's config for it is checked, in the words of Apache Camel's
// Kamelets. It is plain data and validation; it imports no other package
// of this project and no RPC code, so anything may use it.
//
//   - [Kind] declares a kind: its name, [Direction], description, the
//     events it emits or expects, the Kamelet it follows, and its [Param]s
//     (name, [Type], required, default, secret, aliases such as Rayvens'
//     snake_case spellings).
//   - [Kind.Validate] normalizes a config (canonical names, defaults, Go
//     types); its errors name the kind and the parameter, never a value.
//   - [Catalog] is a set of kinds looked up by name, with "did you mean"
//     for unknown ones ([UnknownKindError]) and direction checks.
//   - [Event] is an event as connectors see it, and [Encode] turns Go values
//     into one.
//   - [KindMarkdown] renders a kind, the one format of connector READMEs,
//     docs/connectors.md and `rayvens kinds KIND`.
//
// The built-in kinds are declared in their connectors' folders and
// assembled by plugins/connectors.Catalog; third-party plugins describe
// theirs over the wire.
package camel

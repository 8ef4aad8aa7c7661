package camel

import (
	"fmt"
	"strings"
)

// KindMarkdown renders one kind: its heading, direction, description,
// events, the Kamelet it follows and its parameter table. It is the one
// rendering of a kind, in docs/connectors.md, in connector READMEs and in
// `rayvens kinds KIND`.
func KindMarkdown(k Kind) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", k.Name)
	fmt.Fprintf(&b, "A %s. %s\n\n", k.Direction, k.Description)
	if k.Events != "" {
		fmt.Fprintf(&b, "Events: %s.\n\n", k.Events)
	}
	if k.Kamelet != "" {
		fmt.Fprintf(&b, "Follows the Apache Camel Kamelet `%s`.\n\n", k.Kamelet)
	}
	b.WriteString(ParamsMarkdown(k.Params))
	return b.String()
}

// ParamsMarkdown renders a parameter table. A parameter that is required
// but has a default (as some Kamelets declare) is shown as not required:
// a config may leave it out.
func ParamsMarkdown(ps []Param) string {
	if len(ps) == 0 {
		return "No parameters.\n"
	}
	var b strings.Builder
	b.WriteString("| parameter | type | required | default | description |\n|---|---|---|---|---|\n")
	for _, p := range ps {
		name := "`" + p.Name + "`"
		for _, a := range p.Aliases {
			name += " (`" + a + "`)"
		}
		req := "yes"
		if p.Optional() {
			req = "no"
		}
		def := ""
		if p.Default != nil {
			def = fmt.Sprintf("`%v`", p.Default)
		}
		desc := p.Description
		if p.Secret {
			desc = "Secret. " + desc
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, p.Type, req, def, Cell(desc))
	}
	return b.String()
}

// Cell escapes s for a Markdown table cell.
func Cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// FirstSentence returns the first sentence of s, for one-line listings.
func FirstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

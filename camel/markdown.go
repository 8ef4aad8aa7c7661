package camel

import (
	"fmt"
	"strings"

	"github.com/rayvens/rayvens/plugins/params"
)

//go:generate go run ./gendocs ../docs/connectors.md

// Markdown renders the whole catalog: the text of docs/connectors.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString(`# Connectors

<!-- Generated from the catalog in camel/kinds.go by "go generate ./camel"; do not edit. -->

Connectors are configured with a dict: its ` + "`kind`" + `, an optional ` + "`name`" + `
for the instance, and the kind's parameters. Parameter names are the Apache
Camel Kamelets' (camelCase); the snake_case names Rayvens used are accepted as
aliases. A wrong name, a missing required parameter or a value of the wrong
type is an error at the script position, before any connector starts.
Secret parameters never appear in logs or error messages.

` + "```python" + `
source = Stream("quotes", source_config=dict(kind="http-source", url="http://127.0.0.1:8080/quote", period=3000))
sink = Stream("slack", sink_config=dict(kind="slack-sink", channel="#alerts", webhookUrl=env("SLACK_WEBHOOK", "https://hooks.slack.com/services/T0/B0/XXXX")))
` + "```" + `

Events from sources reach scripts as strings. Events sent to sinks: a string
is sent as text, bytes as bytes, dicts and lists as JSON, and an
` + "`OutputEvent(data, headers)`" + ` as its data with its headers.
` + "`rayvens kinds KIND`" + ` prints the section of a kind below.

| kind | direction | description |
|---|---|---|
`)
	for _, k := range Kinds() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", k.Name, k.Name, k.Direction, cell(firstSentence(k.Description)))
	}
	for _, k := range Kinds() {
		b.WriteString("\n")
		b.WriteString(KindMarkdown(k))
	}
	return b.String()
}

// KindMarkdown renders one kind: what `rayvens kinds KIND` prints.
func KindMarkdown(k Kind) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", k.Name)
	fmt.Fprintf(&b, "A %s. %s\n\n", k.Direction, k.Description)
	if k.Events != "" {
		fmt.Fprintf(&b, "Events: %s.\n\n", k.Events)
	}
	if k.Kamelet != "" {
		fmt.Fprintf(&b, "Follows the Apache Camel Kamelet `%s`.\n\n", strings.TrimSuffix(k.Kamelet, ".kamelet.yaml"))
	}
	b.WriteString(ParamsMarkdown(k.Params))
	return b.String()
}

// ParamsMarkdown renders a parameter table, as connector READMEs have it.
func ParamsMarkdown(ps []params.Param) string {
	var b strings.Builder
	b.WriteString("| parameter | type | required | default | description |\n|---|---|---|---|---|\n")
	for _, p := range ps {
		name := "`" + p.Name + "`"
		for _, a := range p.Aliases {
			name += " (`" + a + "`)"
		}
		req := "no"
		if p.Required {
			req = "yes"
		}
		def := ""
		if p.Default != nil {
			def = fmt.Sprintf("`%v`", p.Default)
		}
		desc := p.Description
		if p.Secret {
			desc = "Secret. " + desc
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, p.Type, req, def, cell(desc))
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

package connectors

import (
	"fmt"
	"strings"

	"github.com/rayvens/rayvens/camel"
)

//go:generate go run ./gendocs ../../docs/connectors.md

// Markdown renders the catalog of built-in kinds: the text of
// docs/connectors.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString(`# Connectors

<!-- Generated from the declarations in plugins/connectors/*/ by "go generate ./plugins/connectors"; do not edit. -->

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
	for _, k := range Catalog().Kinds() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", k.Name, k.Name, k.Direction, camel.Cell(camel.FirstSentence(k.Description)))
	}
	for _, k := range Catalog().Kinds() {
		b.WriteString("\n")
		b.WriteString(camel.KindMarkdown(k))
	}
	return b.String()
}

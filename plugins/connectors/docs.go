package connectors

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/rayvens/rayvens/camel"
)

//go:generate go run ./gendocs ../../docs/connectors.md .

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

// A connector README holds the parameter table of each of its kinds between
// these markers; Readme rewrites what is between them.
const (
	paramsStart = `<!-- parameters of %s: generated from its declaration by "go generate ./plugins/connectors"; do not edit -->`
	paramsEnd   = `<!-- end of generated parameters -->`
)

// paramsBlock matches a generated table, with the kind its marker names.
// It is compiled on first use: only go generate and the tests need it, and
// every rayvens process links this package.
var paramsBlock = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?s)<!-- parameters of (\S+?): generated [^>]*-->\n.*?` + regexp.QuoteMeta(paramsEnd))
})

// Readme returns the text of a connector's README with the parameter table
// of each kind its markers name rewritten from the kind's declaration, with
// camel.ParamsMarkdown. A marker naming a kind that is not built in is an
// error.
func Readme(text string) (string, error) {
	var unknown []string
	out := paramsBlock().ReplaceAllStringFunc(text, func(block string) string {
		name := paramsBlock().FindStringSubmatch(block)[1]
		k, ok := Catalog().Lookup(name)
		if !ok {
			unknown = append(unknown, name)
			return block
		}
		return fmt.Sprintf(paramsStart, name) + "\n" + camel.ParamsMarkdown(k.Params) + "\n" + paramsEnd
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("parameter tables of kinds that are not built in: %s", strings.Join(unknown, ", "))
	}
	return out, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rayvens/rayvens/builtins"
	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins"
	"github.com/rayvens/rayvens/plugins/connectors"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// graphFormats are the formats of `rayvens graph`, the default first.
var graphFormats = map[string]func(builtins.Graph) (string, error){
	"mermaid": func(g builtins.Graph) (string, error) { return g.Mermaid(), nil },
	"dot":     func(g builtins.Graph) (string, error) { return g.DOT(), nil },
	"json": func(g builtins.Graph) (string, error) {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // a derived stream's name has >>
		enc.SetIndent("", "  ")
		err := enc.Encode(g)
		return b.String(), err
	},
}

func graphCommand() *cli.Command {
	return &cli.Command{
		Name:      "graph",
		Usage:     "print the pipeline a script builds (streams, operators, subscribers, sources and sinks), running no connector",
		ArgsUsage: "SCRIPT [ARGS...]  (ARGS become its argv, as with rayvens run)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "format", Value: "mermaid", Usage: "`FORMAT` of the output: mermaid (a flowchart), dot (Graphviz) or json"},
		}, pluginFlags()...),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			format, ok := graphFormats[c.String("format")]
			if !ok {
				return usageError{fmt.Errorf("graph: unknown --format %q: mermaid, dot or json", c.String("format"))}
			}
			if !c.Args().Present() {
				return usageError{errors.New("graph: missing SCRIPT")}
			}
			script := c.Args().First()
			if fi, err := os.Stat(script); err != nil {
				return usageError{fmt.Errorf("graph: cannot read script %s", script)}
			} else if fi.IsDir() {
				return usageError{fmt.Errorf("graph: %s is a directory, not a script", script)}
			}
			if _, err := plugins.ParseLevel(c.String("log-level")); err != nil {
				return usageError{err}
			}
			if err := checkPluginDirs(c); err != nil {
				return err
			}
			conns := graphConnectors{&checkConnectors{
				catalog:  connectors.Catalog(),
				external: len(c.StringSlice("plugin-dir")) > 0 || os.Getenv(plugins.EnvPluginPath) != "",
				newHost:  func() (*plugins.Host, error) { return newHost(c) },
			}}
			defer conns.close()
			g, err := rstarlark.GraphOf(c.Context, script, nil, rstarlark.Options{
				Argv:       c.Args().Tail(),
				Stderr:     c.App.ErrWriter,
				Connectors: conns,
			})
			if err != nil {
				return err
			}
			out, err := format(g)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, out)
			return err
		},
	}
}

// graphConnectors are the connectors of `rayvens check`, which also declare
// kinds (builtins.Describer), so that the graph shows the parameters that
// are not secret.
type graphConnectors struct{ *checkConnectors }

// Kind returns the declaration of the kind named name: from the catalog,
// or from the plugin host the check made for a kind the catalog lacks.
func (c graphConnectors) Kind(ctx context.Context, name string) (camel.Kind, error) {
	if k, ok := c.catalog.Lookup(name); ok {
		return k, nil
	}
	if c.host == nil {
		return camel.Kind{}, &camel.UnknownKindError{Kind: name}
	}
	return c.host.Kind(ctx, name)
}

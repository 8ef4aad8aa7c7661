package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins"
	"github.com/rayvens/rayvens/plugins/connectors"
	"github.com/rayvens/rayvens/plugins/params"
	"github.com/rayvens/rayvens/plugins/sdk"
)

// servePluginName is the hidden subcommand with which rayvens serves its
// built-in connectors as a plugin process of its own (one binary is the
// whole install).
const servePluginName = "serve-connectors"

func pluginFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "plugin-dir", Usage: "look for connector plugins (rayvens-plugin-*) in `DIR` (repeatable; also $RAYVENS_PLUGIN_PATH)"},
		&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "connector log `LEVEL`: debug, info, warn, error or off"},
	}
}

// pluginOptions configures the plugin host from the command line.
func pluginOptions(c *cli.Context) (*plugins.Options, error) {
	level, err := plugins.ParseLevel(c.String("log-level"))
	if err != nil {
		return nil, usageError{err}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the rayvens executable to serve built-in connectors: %w", err)
	}
	return &plugins.Options{
		PluginDirs:     c.StringSlice("plugin-dir"),
		Builtin:        connectors.Plugin(versionString()),
		BuiltinCommand: []string{self, servePluginName},
		Log:            c.App.ErrWriter,
		LogLevel:       level,
	}, nil
}

func newHost(c *cli.Context) (*plugins.Host, error) {
	opts, err := pluginOptions(c)
	if err != nil {
		return nil, err
	}
	return plugins.NewHost(*opts)
}

func pluginsCommand() *cli.Command {
	return &cli.Command{
		Name:         "plugins",
		Usage:        "list connector plugins: path, version and kinds",
		Flags:        pluginFlags(),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			host, err := newHost(c)
			if err != nil {
				return err
			}
			defer host.Close()
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PLUGIN\tVERSION\tPATH\tKINDS")
			var failed []string
			for _, p := range host.Plugins(context.Background()) {
				if p.Err != nil {
					failed = append(failed, p.Err.Error())
					continue
				}
				kinds := make([]string, len(p.Kinds))
				for i, k := range p.Kinds {
					kinds[i] = k.Name
				}
				sort.Strings(kinds)
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, p.Version, p.Path, strings.Join(kinds, ", "))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if len(failed) > 0 {
				return fmt.Errorf("%s", strings.Join(failed, "\n"))
			}
			return nil
		},
	}
}

func kindsCommand() *cli.Command {
	return &cli.Command{
		Name:         "kinds",
		Usage:        "list connector kinds, or describe one kind's parameters",
		ArgsUsage:    "[KIND]",
		Flags:        pluginFlags(),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			host, err := newHost(c)
			if err != nil {
				return err
			}
			defer host.Close()
			if c.Args().Present() {
				k, err := host.Kind(context.Background(), c.Args().First())
				if err != nil {
					return err
				}
				if ck, ok := camel.Lookup(k.Name); ok && k.Path == "built-in" {
					// The same text as the kind's section of docs/connectors.md.
					_, err := fmt.Fprint(c.App.Writer, camel.KindMarkdown(ck))
					return err
				}
				return describeKind(c, k)
			}
			var failed []string
			for _, p := range host.Plugins(context.Background()) {
				if p.Err != nil {
					failed = append(failed, p.Err.Error())
				}
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KIND\tDIRECTION\tPLUGIN\tDESCRIPTION")
			for _, k := range host.Kinds() {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", k.Name, k.Direction, k.Plugin, firstSentence(k.Description))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if len(failed) > 0 {
				return fmt.Errorf("%s", strings.Join(failed, "\n"))
			}
			return nil
		},
	}
}

// describeKind prints one kind and its parameters.
func describeKind(c *cli.Context, k *plugins.Kind) error {
	out := c.App.Writer
	fmt.Fprintf(out, "%s (%s, plugin %s)\n", k.Name, k.Direction, k.Plugin)
	if k.Description != "" {
		fmt.Fprintf(out, "\n%s\n", k.Description)
	}
	fmt.Fprintln(out, "\nParameters:")
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  NAME\tTYPE\tREQUIRED\tDEFAULT\tSECRET\tDESCRIPTION")
	for _, p := range k.Params {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", paramName(p), p.Type, yesNo(p.Required), defaultText(p), yesNo(p.Secret), p.Description)
	}
	return w.Flush()
}

func paramName(p params.Param) string {
	if len(p.Aliases) == 0 {
		return p.Name
	}
	return p.Name + " (" + strings.Join(p.Aliases, ", ") + ")"
}

func defaultText(p params.Param) string {
	if p.Default == nil {
		return "-"
	}
	return fmt.Sprint(p.Default)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func servePluginCommand() *cli.Command {
	return &cli.Command{
		Name:   servePluginName,
		Hidden: true,
		Usage:  "serve the built-in connectors as a plugin (started by rayvens itself)",
		Action: func(c *cli.Context) error {
			sdk.Serve(connectors.Plugin(versionString()))
			return nil
		},
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins"
	"github.com/rayvens/rayvens/plugins/connectors"
	"github.com/rayvens/rayvens/plugins/sdk"
)

// servePluginName is the hidden subcommand with which rayvens serves its
// built-in connectors as a plugin process of its own (one binary is the
// whole install): the argument connectors.Command starts it with.
const servePluginName = connectors.ServeArg

func pluginFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "plugin-dir", Usage: "look for connector plugins (rayvens-plugin-*) in `DIR` (repeatable; also $RAYVENS_PLUGIN_PATH)"},
		&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "connector log `LEVEL`: debug, info, warn, error or off"},
	}
}

// newHost makes the plugin host the command line asks for; it starts no
// process until a kind is used.
func newHost(c *cli.Context) (*plugins.Host, error) {
	level, err := plugins.ParseLevel(c.String("log-level"))
	if err != nil {
		return nil, usageError{err}
	}
	if err := checkPluginDirs(c); err != nil {
		return nil, err
	}
	return plugins.NewHost(plugins.Options{
		PluginDirs:     c.StringSlice("plugin-dir"),
		Builtin:        connectors.Plugin(versionString()),
		BuiltinCommand: connectors.Command(),
		Log:            c.App.ErrWriter,
		LogLevel:       level,
	})
}

// checkPluginDirs refuses a --plugin-dir that is not a directory: a
// mistake in the command line.
func checkPluginDirs(c *cli.Context) error {
	for _, d := range c.StringSlice("plugin-dir") {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return usageError{fmt.Errorf("%s: --plugin-dir %s is not a directory", c.Command.Name, d)}
		}
	}
	return nil
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
				return errors.New(strings.Join(failed, "\n"))
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
				// Built-in and third-party kinds alike, in the format of
				// docs/connectors.md and the connector READMEs.
				k, err := host.Kind(context.Background(), c.Args().First())
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(c.App.Writer, camel.KindMarkdown(k))
				return err
			}
			type row struct{ kind, direction, plugin, description string }
			var rows []row
			var failed []string
			for _, p := range host.Plugins(context.Background()) {
				if p.Err != nil {
					failed = append(failed, p.Err.Error())
				}
				for _, k := range p.Kinds {
					rows = append(rows, row{k.Name, string(k.Direction), p.Name, camel.FirstSentence(k.Description)})
				}
			}
			sort.Slice(rows, func(i, j int) bool { return rows[i].kind < rows[j].kind })
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KIND\tDIRECTION\tPLUGIN\tDESCRIPTION")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.kind, r.direction, r.plugin, r.description)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if len(failed) > 0 {
				return errors.New(strings.Join(failed, "\n"))
			}
			return nil
		},
	}
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

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins"
	"github.com/rayvens/rayvens/plugins/connectors"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:         "check",
		Usage:        "validate scripts without running them: syntax, names, load()s, connector kinds and parameters",
		ArgsUsage:    "SCRIPT|DIR|./...  (a directory, or DIR/..., is searched for *.star files recursively)",
		Flags:        pluginFlags(),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return usageError{errors.New("check: missing SCRIPT or DIR")}
			}
			var files []string
			for _, arg := range c.Args().Slice() {
				found, err := scripts(arg)
				if err != nil {
					return usageError{err}
				}
				files = append(files, found...)
			}
			if _, err := plugins.ParseLevel(c.String("log-level")); err != nil {
				return usageError{err}
			}
			if err := checkPluginDirs(c); err != nil {
				return err
			}
			conns := &checkConnectors{
				catalog:  connectors.Catalog(),
				external: len(c.StringSlice("plugin-dir")) > 0 || os.Getenv(plugins.EnvPluginPath) != "",
				newHost:  func() (*plugins.Host, error) { return newHost(c) },
			}
			defer conns.close()
			failed := 0
			for _, f := range files {
				err := rstarlark.Check(c.Context, f, nil, rstarlark.Options{Stderr: c.App.ErrWriter, Connectors: conns})
				if err != nil {
					failed++
					fmt.Fprintln(c.App.ErrWriter, errorText(err))
				}
			}
			if failed > 0 {
				return checkFailed{failed, len(files)}
			}
			return nil
		},
	}
}

// checkConnectors validates connector configs for `rayvens check`: against
// the catalog of built-in kinds, with no plugin host; only a kind the
// catalog lacks, when plugin directories are given, makes a host describe
// the plugins found there (which starts them, but opens no instance).
type checkConnectors struct {
	catalog  *camel.Catalog
	external bool // plugin directories are given
	newHost  func() (*plugins.Host, error)
	host     *plugins.Host
}

// Check validates config for kind.
func (c *checkConnectors) Check(ctx context.Context, kind string, dir camel.Direction, config map[string]any) error {
	_, err := c.catalog.Validate(kind, dir, config)
	var unknown *camel.UnknownKindError
	if !errors.As(err, &unknown) || !c.external {
		return err
	}
	if c.host == nil {
		if c.host, err = c.newHost(); err != nil {
			return err
		}
	}
	return c.host.Check(ctx, kind, dir, config)
}

// OpenSource is never called: a check opens nothing.
func (c *checkConnectors) OpenSource(context.Context, string, string, map[string]any) (engine.Source, error) {
	return nil, errors.New("rayvens check opens no connector")
}

// OpenSink is never called: a check opens nothing.
func (c *checkConnectors) OpenSink(context.Context, string, string, map[string]any, camel.Encoder) (engine.Sink, error) {
	return nil, errors.New("rayvens check opens no connector")
}

func (c *checkConnectors) close() {
	if c.host != nil {
		_ = c.host.Close()
	}
}

// checkFailed is the outcome of a check that found problems; each was
// printed already.
type checkFailed struct{ failed, total int }

func (e checkFailed) Error() string {
	return fmt.Sprintf("%d of %d scripts have problems", e.failed, e.total)
}

// scripts expands one argument: a file, a directory (searched recursively
// for *.star files), or a path ending in /... (the same).
func scripts(arg string) ([]string, error) {
	dir, recursive := strings.CutSuffix(arg, "...")
	if recursive {
		dir = filepath.Clean(dir)
		if dir == "" {
			dir = "."
		}
	} else {
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("check: cannot read %s", arg)
		}
		if !fi.IsDir() {
			return []string{arg}, nil
		}
	}
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".star") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check: cannot read %s", dir)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("check: no .star files in %s", dir)
	}
	return out, nil
}

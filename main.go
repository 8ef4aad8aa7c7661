// Command rayvens runs Rayvens scripts: Starlark programs that build event
// pipelines. main only wires the commands; the work is in the packages
// starlark (scripts), builtins (predeclared names) and engine (streams).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rayvens/rayvens/builtins"
	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/internal/lines"
	"github.com/rayvens/rayvens/plugins"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ error }

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the CLI and maps its outcome to an exit status: 0 success,
// 1 script or runtime error, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return 0
	}
	if errors.As(err, new(reported)) {
		return 1
	}
	fmt.Fprintln(stderr, errorText(err))
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

func errorText(err error) string {
	var u usageError
	if errors.As(err, &u) {
		return "rayvens: " + u.Error() + " (see rayvens help)"
	}
	var cf checkFailed
	if errors.As(err, &cf) {
		return "rayvens: " + cf.Error()
	}
	var se *rstarlark.Error
	var sl rstarlark.ErrorList
	if errors.As(err, &se) || errors.As(err, &sl) {
		return err.Error()
	}
	// A forced stop says, one line per stream, what it abandoned.
	var lost *engine.UndeliveredError
	var b strings.Builder
	if errors.As(err, &lost) {
		for _, l := range lost.Streams {
			b.WriteString("rayvens: " + l.String() + "\n")
		}
	}
	return b.String() + "rayvens: " + err.Error()
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:   "rayvens",
		Usage:  "run event pipelines written in Starlark",
		Writer: stdout,
		// One line writer for everything that reports on stderr (failure
		// reports, plugin logs), so that their lines never interleave.
		ErrWriter: lines.New(stderr),
		// Errors are printed once, by run, with the right exit status.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		HideVersion:          true,
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			runCommand(),
			checkCommand(),
			testCommand(),
			graphCommand(),
			pluginsCommand(),
			kindsCommand(),
			versionCommand(),
			completionCommand(),
			servePluginCommand(),
		},
		CommandNotFound: func(c *cli.Context, name string) {},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{fmt.Errorf("unknown command %q", c.Args().First())}
			}
			return cli.ShowAppHelp(c)
		},
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a script; ARGS become its argv",
		ArgsUsage: "SCRIPT [ARGS...]",
		Flags: append([]cli.Flag{
			&cli.DurationFlag{Name: "for", Usage: "stop the run gracefully after `DURATION` (e.g. 30s, 5m)"},
			&cli.DurationFlag{Name: "drain-timeout", Value: rstarlark.DefaultDrainTimeout, Usage: "a graceful stop (--for, a first signal) that has not drained after `DURATION` becomes a forced one (0: wait until drained or a second signal)"},
			&cli.Uint64Flag{Name: "max-steps", Usage: "stop any one callback (subscriber, operator, actor method) after `N` computation steps with an error (0: no limit)"},
			maxMemoryFlag(),
		}, append(append(pluginFlags(), clusterFlags()...), observeFlags()...)...),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return usageError{errors.New("run: missing SCRIPT")}
			}
			if d := c.Duration("for"); d < 0 {
				return usageError{fmt.Errorf("run: --for must be positive, got %s", d)}
			}
			drain := c.Duration("drain-timeout")
			switch {
			case drain < 0:
				return usageError{fmt.Errorf("run: --drain-timeout must not be negative, got %s", drain)}
			case drain == 0:
				drain = -1 // no bound: until drained, or a second signal
			}
			script := c.Args().First()
			if fi, err := os.Stat(script); err != nil {
				return usageError{fmt.Errorf("run: cannot read script %s", script)}
			} else if fi.IsDir() {
				return usageError{fmt.Errorf("run: %s is a directory, not a script (rayvens check takes directories)", script)}
			}
			maxMemory, err := maxMemory(c)
			if err != nil {
				return err
			}
			if err := checkHTTPAddr(c.String("http")); err != nil {
				return err
			}
			host, err := newHost(c)
			if err != nil {
				return err
			}
			defer host.Close()
			stop, kill, release := lifecycle(c.Duration("for"), c.App.ErrWriter)
			defer release()
			var shared builtins.Cluster
			cl, err := connectCluster(stop, c, host, script)
			if err != nil {
				return err
			}
			if cl != nil {
				// Closed before the host (defers run last first): the
				// embedded store may be in the host's run directory.
				defer cl.Close()
				shared = scriptCluster{cl}
			}
			conns := &watchedRun{ScriptConnectors: plugins.ScriptConnectors{Host: host}}
			stdout, stderr := c.App.Writer, c.App.ErrWriter
			var stats *liveStats
			if c.Bool("stats") {
				if c.Duration("stats-interval") <= 0 {
					return usageError{fmt.Errorf("run: --stats-interval must be positive, got %s", c.Duration("stats-interval"))}
				}
				stats, stdout = newLiveStats(stdout, stderr, c.Duration("stats-interval"))
				stderr = stats.wrapStderr(stderr)
			}
			run, err := rstarlark.New(rstarlark.Options{
				Cluster:          shared,
				Argv:             c.Args().Tail(),
				Stdout:           stdout,
				Stderr:           stderr,
				Kill:             kill,
				DrainTimeout:     drain,
				MaxCallbackSteps: c.Uint64("max-steps"),
				MaxMemory:        maxMemory,
				Connectors:       conns,
			})
			if err != nil {
				return err
			}
			started, unwatch, err := conns.watch(c, run, stats)
			if err != nil {
				return err
			}
			defer unwatch()
			if err := run.Start(stop, script, nil); err != nil {
				return err
			}
			started()
			return run.Wait()
		},
	}
}

// forceExitDelay is how long a forced stop may take before the process
// exits regardless.
const forceExitDelay = 3 * time.Second

// lifecycle returns the graceful-stop context (ended by the first SIGINT or
// SIGTERM, or when limit elapses) and the kill context (ended by a second
// signal).
func lifecycle(limit time.Duration, stderr io.Writer) (stop, kill context.Context, release func()) {
	stop, stopFn := context.WithCancel(context.Background())
	kill, killFn := context.WithCancel(context.Background())
	var timer *time.Timer
	if limit > 0 {
		timer = time.AfterFunc(limit, stopFn)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case sig := <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(stderr, "rayvens: %s: stopping (draining in-flight events; signal again to force)\n", sig)
					stopFn()
				} else {
					fmt.Fprintf(stderr, "rayvens: %s: forcing exit\n", sig)
					killFn()
					// Callbacks are cancelled and plugins killed; if some Go
					// code still does not return, exit anyway.
					time.AfterFunc(forceExitDelay, func() { os.Exit(1) })
					return
				}
			case <-done:
				return
			}
		}
	}()
	return stop, kill, func() {
		signal.Stop(sigs)
		close(done)
		if timer != nil {
			timer.Stop()
		}
		stopFn()
		killFn()
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "rayvens %s\n", versionString())
			return nil
		},
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins"
	"github.com/rayvens/rayvens/plugins/connectors"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

func testCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run the tests of *_test.star files (each test_* function, in a fresh run); see docs/testing.md",
		ArgsUsage: "[PATH...]  (files, or directories searched recursively; default .)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run only the tests whose name matches `REGEX`"},
			&cli.BoolFlag{Name: "v", Usage: "print every test's name, outcome and output"},
			&cli.DurationFlag{Name: "timeout", Value: rstarlark.DefaultTestTimeout, Usage: "fail a test that runs for longer than `DURATION`"},
		}, pluginFlags()...),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Action: func(c *cli.Context) error {
			var match *regexp.Regexp
			if r := c.String("run"); r != "" {
				var err error
				if match, err = regexp.Compile(r); err != nil {
					return usageError{fmt.Errorf("test: bad -run pattern %q: %v", r, err)}
				}
			}
			if d := c.Duration("timeout"); d <= 0 {
				return usageError{fmt.Errorf("test: --timeout must be positive, got %s", d)}
			}
			paths := c.Args().Slice()
			if len(paths) == 0 {
				paths = []string{"."}
			}
			var files []string
			for _, p := range paths {
				found, err := testFiles(p)
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
			run := func(ctx context.Context, file string) *rstarlark.TestFile {
				conns := newTestConnectors(c)
				defer conns.close()
				return rstarlark.RunTests(ctx, file, rstarlark.TestOptions{
					Options: rstarlark.Options{Connectors: conns},
					Match:   match,
					Timeout: c.Duration("timeout"),
				})
			}
			stop, _, release := lifecycle(0, c.App.ErrWriter)
			defer release()
			passed, failed := runTestFiles(stop, files, run, c.App.Writer, c.Bool("v"))
			fmt.Fprintf(c.App.Writer, "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return reported{fmt.Errorf("%d tests failed", failed)}
			}
			return nil
		},
	}
}

// reported is an outcome the command has reported in full already: the
// exit status is 1, and nothing more is printed.
type reported struct{ error }

// runTestFiles runs the files, as many at a time as GOMAXPROCS, and
// prints their reports in the order of files, each as soon as it and
// those before it are done. It returns how many tests passed and failed
// (a file that cannot be loaded counts as one failure).
func runTestFiles(ctx context.Context, files []string, run func(context.Context, string) *rstarlark.TestFile, w io.Writer, verbose bool) (passed, failed int) {
	results := make([]chan *rstarlark.TestFile, len(files))
	for i := range results {
		results[i] = make(chan *rstarlark.TestFile, 1)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range work {
				results[i] <- run(ctx, files[i])
			}
		})
	}
	go func() {
		for i := range files {
			work <- i
		}
		close(work)
	}()
	for _, ch := range results {
		f := <-ch
		p, n := reportFile(w, f, verbose)
		passed += p
		failed += n
	}
	wg.Wait()
	return passed, failed
}

// reportFile prints the report of one file, as go test does a package's.
func reportFile(w io.Writer, f *rstarlark.TestFile, verbose bool) (passed, failed int) {
	if f.Err != nil {
		fmt.Fprintf(w, "--- FAIL: %s\n", f.Path)
		indent(w, "    ", f.Err.Error())
		fmt.Fprintf(w, "FAIL %s %s\n", f.Path, seconds(f.Elapsed))
		return 0, 1
	}
	for _, t := range f.Tests {
		if verbose {
			fmt.Fprintf(w, "=== RUN   %s\n", t.Name)
		}
		if verbose || t.Err != nil {
			io.WriteString(w, t.Output)
		}
		if t.Err == nil {
			passed++
			if verbose {
				fmt.Fprintf(w, "--- PASS: %s (%s)\n", t.Name, seconds(t.Elapsed))
			}
			continue
		}
		failed++
		fmt.Fprintf(w, "--- FAIL: %s (%s:%d)\n", t.Name, t.Pos.Filename(), t.Pos.Line)
		msg := t.Err.Msg
		if t.Broke {
			msg = "error: " + msg
		}
		indent(w, "    ", msg)
		if len(t.Err.Backtrace) > 0 {
			fmt.Fprintln(w, "    Traceback (most recent call last):")
			for _, fr := range t.Err.Backtrace {
				fmt.Fprintf(w, "      %s: in %s\n", fr.Pos, fr.Name)
			}
		}
	}
	status := "ok  "
	if failed > 0 {
		status = "FAIL"
	}
	note := ""
	if len(f.Tests) == 0 {
		note = " [no tests to run]"
	}
	fmt.Fprintf(w, "%s %s %s%s\n", status, f.Path, seconds(f.Elapsed), note)
	return passed, failed
}

// indent prints each line of text after prefix.
func indent(w io.Writer, prefix, text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintln(w, prefix+line)
	}
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// testFiles expands one argument of rayvens test: a test file, or a
// directory (or DIR/...) searched recursively for *_test.star files,
// skipping hidden directories and, below it, testdata ones.
func testFiles(arg string) ([]string, error) {
	dir, _ := strings.CutSuffix(arg, "...")
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("test: cannot read %s", arg)
	}
	if !fi.IsDir() {
		if !rstarlark.IsTestFile(dir) {
			return nil, fmt.Errorf("test: %s is not a test file (its name must end in %s)", arg, rstarlark.TestSuffix)
		}
		return []string{arg}, nil
	}
	var out []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && rstarlark.IsTestFile(path) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("test: cannot read %s", dir)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("test: no *%s files in %s", rstarlark.TestSuffix, arg)
	}
	sort.Strings(out)
	return out, nil
}

// testConnectors serve the connectors of one test file: configs are
// validated as rayvens check validates them (see checkConnectors), and a
// real connector, which a test that does not fake its connectors uses,
// starts the file's plugin host on first use.
type testConnectors struct {
	check   *checkConnectors
	newHost func() (*plugins.Host, error)

	mu   sync.Mutex // Check and Open may come from callbacks
	host *plugins.Host
}

func newTestConnectors(c *cli.Context) *testConnectors {
	newHost := func() (*plugins.Host, error) { return newHost(c) }
	return &testConnectors{
		check: &checkConnectors{
			catalog:  connectors.Catalog(),
			external: len(c.StringSlice("plugin-dir")) > 0 || os.Getenv(plugins.EnvPluginPath) != "",
			newHost:  newHost,
		},
		newHost: newHost,
	}
}

// Check validates config for kind.
func (t *testConnectors) Check(ctx context.Context, kind string, dir camel.Direction, config map[string]any) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.check.Check(ctx, kind, dir, config)
}

// OpenSource opens a real source, through the plugin host.
func (t *testConnectors) OpenSource(ctx context.Context, kind, name string, config map[string]any) (engine.Source, error) {
	conns, err := t.open()
	if err != nil {
		return nil, err
	}
	return conns.OpenSource(ctx, kind, name, config)
}

// OpenSink opens a real sink, through the plugin host.
func (t *testConnectors) OpenSink(ctx context.Context, kind, name string, config map[string]any, encode camel.Encoder) (engine.Sink, error) {
	conns, err := t.open()
	if err != nil {
		return nil, err
	}
	return conns.OpenSink(ctx, kind, name, config, encode)
}

func (t *testConnectors) open() (plugins.ScriptConnectors, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.host == nil {
		h, err := t.newHost()
		if err != nil {
			return plugins.ScriptConnectors{}, err
		}
		t.host = h
	}
	return plugins.ScriptConnectors{Host: t.host}, nil
}

func (t *testConnectors) close() {
	t.check.close()
	if t.host != nil {
		_ = t.host.Close()
	}
}

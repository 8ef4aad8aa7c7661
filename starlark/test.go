package starlark

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/rayvens/rayvens/builtins"
)

// TestSuffix ends the name of every test file.
const TestSuffix = "_test.star"

// IsTestFile reports whether path names a test file.
func IsTestFile(path string) bool { return strings.HasSuffix(path, TestSuffix) }

// TestOptions configure [RunTests].
type TestOptions struct {
	// Options are those of each test's run; Stdout and Stderr are ignored
	// (a test's output is kept in its TestResult).
	Options
	// Match selects the tests to run by name; nil runs them all.
	Match *regexp.Regexp
	// DrainWait bounds how long a test's pipeline may take to drain once
	// the test function has returned; default builtins.DefaultDrainWait.
	DrainWait time.Duration
	// Timeout bounds each test, from its top level to its drain (a test
	// that loops forever); default DefaultTestTimeout.
	Timeout time.Duration
}

// DefaultTestTimeout is how long a test may run when TestOptions.Timeout
// is not set.
const DefaultTestTimeout = time.Minute

// TestFile is the outcome of the tests of one file.
type TestFile struct {
	Path string
	// Err is set when the file could not be loaded: a syntax error, or a
	// top level that fails. Then no test ran.
	Err     error
	Tests   []TestResult
	Elapsed time.Duration
}

// Failed reports whether the file or one of its tests failed.
func (f *TestFile) Failed() bool {
	if f.Err != nil {
		return true
	}
	for _, t := range f.Tests {
		if t.Err != nil {
			return true
		}
	}
	return false
}

// TestResult is the outcome of one test function.
type TestResult struct {
	Name string
	// Pos is where the test failed: the failing assertion, the call that
	// failed, or the test function itself when its pipeline failed after
	// it returned.
	Pos syntax.Position
	// Err is nil when the test passed; else its message and Starlark
	// backtrace.
	Err *Error
	// Broke tells an error (a runtime error, a failing subscriber) from a
	// failed assertion.
	Broke bool
	// Output is what the test printed and the failure reports of its
	// pipeline, in order.
	Output  string
	Elapsed time.Duration
}

// RunTests runs the tests of a test file (its name ends in _test.star):
// each global function whose name starts with test_ and that opts
// selects, in the order of the file. The file is first checked as [Check]
// does; a file that does not load is TestFile.Err, and no test runs.
//
// Each test runs in a fresh run of its own (a new engine and runtime):
// the file's top level executes, then the test function is called on the
// same thread, as the end of the top level. So the streams, sources and
// modules (load) of the top level are fresh for every test, and the
// sources start when the test first waits (drain()) or returns, as in a
// run. Once the test function has returned, the run drains, as a run
// does; what fails then (a subscriber) fails the test too. A test is
// bounded by TestOptions.Timeout.
//
// Test files see, besides the names of every script, those of
// builtins.Runtime.TestPredeclared (assert, collect, drain, fake_source,
// fake_sink, fake_connectors, sink_events) and run_script(path, *args).
func RunTests(ctx context.Context, filename string, opts TestOptions) *TestFile {
	start := time.Now()
	out := &TestFile{Path: filename}
	defer func() { out.Elapsed = time.Since(start) }()
	src, err := os.ReadFile(filename)
	if err != nil {
		out.Err = fmt.Errorf("cannot read %s", filename)
		return out
	}
	names, err := testNames(ctx, filename, src, opts)
	if err != nil {
		out.Err = err
		return out
	}
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		out.Tests = append(out.Tests, runTest(ctx, filename, src, name, opts))
	}
	return out
}

// testNames checks the file as `rayvens check` does (its top level runs,
// nothing starts) and returns the names of its tests that opts selects,
// in the order of the file.
func testNames(ctx context.Context, filename string, src []byte, opts TestOptions) ([]string, error) {
	type test struct {
		name string
		pos  syntax.Position
	}
	var tests []test
	check := opts.Options
	check.Stderr = &bytes.Buffer{}
	check.test = func(_ *starlark.Thread, globals starlark.StringDict) error {
		for name, v := range globals {
			fn, ok := v.(*starlark.Function)
			if ok && strings.HasPrefix(name, "test_") && (opts.Match == nil || opts.Match.MatchString(name)) {
				tests = append(tests, test{name, fn.Position()})
			}
		}
		return nil
	}
	if err := Check(ctx, filename, src, check); err != nil {
		return nil, err
	}
	sort.Slice(tests, func(i, j int) bool {
		a, b := tests[i].pos, tests[j].pos
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	names := make([]string, len(tests))
	for i, t := range tests {
		names[i] = t.name
	}
	return names, nil
}

// runTest runs the test function name in a run of its own.
func runTest(parent context.Context, filename string, src []byte, name string, topts TestOptions) TestResult {
	start := time.Now()
	res := TestResult{Name: name}
	var output lockedBuffer
	opts := topts.Options
	opts.Stdout, opts.Stderr = &output, &output
	var testErr error // the test function's own
	var fnPos syntax.Position
	opts.test = func(thread *starlark.Thread, globals starlark.StringDict) error {
		fn, ok := globals[name].(*starlark.Function)
		if !ok {
			testErr = fmt.Errorf("%s is no longer a function in this run", name)
			return testErr
		}
		fnPos = fn.Position()
		_, testErr = starlark.Call(thread, fn, nil, nil)
		return testErr
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	timeout := topts.Timeout
	if timeout <= 0 {
		timeout = DefaultTestTimeout
	}
	var late atomic.Bool // past timeout
	deadline := time.AfterFunc(timeout, func() { late.Store(true); cancel() })
	defer deadline.Stop()
	s, err := New(opts)
	if err == nil {
		err = s.Start(ctx, filename, src)
	}
	wait := topts.DrainWait
	if wait <= 0 {
		wait = builtins.DefaultDrainWait
	}
	var busy atomic.Bool // still draining after wait
	if err == nil {
		timer := time.AfterFunc(wait, func() { busy.Store(true); cancel() })
		err = s.Wait()
		timer.Stop()
	}
	res.Elapsed = time.Since(start)
	res.Output = output.String()
	switch {
	case late.Load():
		res.Broke = true
		res.Err = &Error{Pos: fnPos, Msg: fmt.Sprintf("the test did not finish within %s", timeout)}
	case parent.Err() != nil:
		res.Broke = true
		res.Err = &Error{Pos: fnPos, Msg: "the test was interrupted"}
	case testErr != nil:
		res.Err, res.Broke = testError(testErr)
	case err != nil:
		res.Broke = true
		var failures *FailuresError
		if errors.As(err, &failures) {
			err = fmt.Errorf("the test's pipeline had %s (reported above)", plural(failures.N, "failure"))
		}
		if e := (*Error)(nil); errors.As(scriptError(err, ""), &e) {
			res.Err = e
		} else {
			res.Err = &Error{Pos: fnPos, Msg: err.Error()}
		}
	case busy.Load():
		res.Broke = true
		res.Err = &Error{Pos: fnPos, Msg: fmt.Sprintf("the pipeline was still busy %s after the test returned (a source that never ends? fake it, or disconnect it)", wait)}
	}
	if res.Err != nil {
		res.Pos = res.Err.Pos
		if !res.Pos.IsValid() {
			res.Pos = fnPos
		}
	}
	return res
}

// testError turns the error of a test function into its report: the
// position of the innermost call of the script, the message and the whole
// backtrace; broke is false for a failed assertion.
func testError(err error) (e *Error, broke bool) {
	var ae *builtins.AssertionError
	broke = !errors.As(err, &ae)
	var ee *starlark.EvalError
	if !errors.As(err, &ee) {
		return &Error{Msg: err.Error()}, broke
	}
	e = evalError(ee, "", true)
	if !broke {
		e.Msg = ae.Msg
	}
	return e, broke
}

// runScript is run_script(path, *args): it executes the script at path
// (relative to the calling file) in the test's run, with argv set to args,
// and returns its globals as a struct. Unlike load, the script runs at
// each call, with the arguments given, as `rayvens run path args...`
// would run it.
func runScript(ld *loader) *starlark.Builtin {
	return starlark.NewBuiltin("run_script", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("%s: missing the script's path", b.Name())
		}
		if len(kwargs) > 0 {
			return nil, fmt.Errorf("%s: unexpected keyword argument %s", b.Name(), kwargs[0][0])
		}
		path, ok := args[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: the path must be a string, got %s", b.Name(), args[0].Type())
		}
		argv := make([]starlark.Value, len(args)-1)
		for i, a := range args[1:] {
			s, ok := a.(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: the script's arguments are strings, got %s", b.Name(), a.Type())
			}
			argv[i] = s
		}
		file := string(path)
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(thread.CallFrame(1).Pos.Filename()), file)
		}
		predeclared := make(starlark.StringDict, len(ld.predeclared))
		for k, v := range ld.predeclared {
			predeclared[k] = v
		}
		list := starlark.NewList(argv)
		list.Freeze()
		predeclared["argv"] = list
		t := ld.newThread("run_script " + file)
		t.Load = ld.load
		stop := context.AfterFunc(ld.stop, func() { t.Cancel("the run was stopped") })
		defer stop()
		_, globals, err := execFile(t, file, nil, predeclared)
		if err != nil {
			return nil, scriptError(err, "")
		}
		return starlarkstruct.FromStringDict(starlark.String(file), globals), nil
	})
}

// lockedBuffer is a test's output: its print output and its failure
// reports come from several goroutines, a whole line at a time.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func plural(n uint64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

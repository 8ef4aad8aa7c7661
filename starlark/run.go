package starlark

import (
	"context"
	"errors"
	"io"
	"time"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/builtins"
)

// Connectors is what scripts need from connectors; see
// [builtins.Connectors].
type Connectors = builtins.Connectors

// Options configure [Run]. The zero value runs with the process's stdout,
// stderr and environment and no arguments.
type Options struct {
	// Argv becomes the script's argv.
	Argv []string
	// Stdout receives print output, Stderr failure reports. Default: the
	// process's own.
	Stdout, Stderr io.Writer
	// LookupEnv serves env(); default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Kill, when it ends, stops the run at once: callbacks are cancelled and
	// events still in flight are abandoned (and counted in the error).
	// Default: never.
	Kill context.Context
	// DrainTimeout bounds the graceful stop: once Start's context has ended
	// (or a connector failed for good), the run has this long to deliver
	// what it accepted; then it is killed as by Kill, and Wait returns an
	// error that is ErrDrainTimeout and an *engine.UndeliveredError counting
	// the events abandoned. Zero means DefaultDrainTimeout (10 s), or no
	// bound when Kill is given (the caller forces the stop itself, as the
	// rayvens command does on a second signal). Negative means no bound.
	DrainTimeout time.Duration
	// Connectors serves source_config, sink_config, add_source and
	// add_sink; nil means scripts cannot use connectors. The rayvens
	// command passes its plugin host (plugins.ScriptConnectors); the caller
	// owns it and closes it after the run. If it implements
	// builtins.Failing, a failure for good stops the run with its error.
	Connectors Connectors
	// Cluster, when set, makes every stream made with Stream(name) (not
	// local=True) a cluster stream, shared with the other processes of the
	// cluster; see [builtins.Cluster] and docs/cluster.md. The caller owns
	// it and closes it after the run. Check ignores it.
	Cluster builtins.Cluster
	// MaxSteps, when positive, bounds the computation steps of the top
	// level: a script that runs past it is stopped with a clear error.
	MaxSteps uint64
	// MaxCallbackSteps, when positive, bounds the steps of each callback
	// (subscriber, operator, actor method): a runaway loop fails that call
	// with a clear error instead of hanging the stream.
	MaxCallbackSteps uint64
	// MaxMemory, when positive, is the memory (bytes) the run may use. An
	// operation that would allocate more than is left at once (`[0] *
	// 1000000000`, list(range(n))) fails with an error at its position; a
	// run whose live heap grows past 90% of the limit in small steps is
	// stopped as by Kill, and Wait returns a *MemoryError. The limit is the
	// whole process's heap, since the Go runtime measures nothing finer:
	// set it in a process that runs one script, and set the Go runtime's
	// soft limit to the same value (debug.SetMemoryLimit), as the rayvens
	// command does, so that the garbage collector works to stay under it.
	MaxMemory uint64
	// Predeclared adds the host program's own names (builtins, modules,
	// values) to those every script sees; they win over the built-in ones.
	Predeclared starlark.StringDict

	dryRun bool
	// test, when set, makes the run a test's: the test names are
	// predeclared, and test is called with the globals once the top level
	// has run, on its thread (see RunTests).
	test func(thread *starlark.Thread, globals starlark.StringDict) error
}

// Run executes a script and then keeps the run going until it has drained:
// no source connected and no event in flight. src is the script text (string
// or []byte), or nil to read filename. It is New, Start and Wait in one.
//
// Cancelling ctx stops the run gracefully: the top level is interrupted,
// sources stop, and events already accepted still reach their subscribers,
// within Options.DrainTimeout; a graceful stop is not an error. Run returns
// an *Error or ErrorList for a problem in the script, a *FailuresError if
// subscribers failed, an ErrDrainTimeout error if the graceful stop took
// too long, nil otherwise.
func Run(ctx context.Context, filename string, src any, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	if err := s.Start(ctx, filename, src); err != nil {
		return err
	}
	return s.Wait()
}

// failureMessage formats a failure reported by the engine, with the
// position and backtrace of the Starlark code that failed when there is one.
func failureMessage(err error) string {
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e := evalError(ee, "", true)
		// An error of Starlark code run for Go (json.encode of an event for
		// a sink) has no script position: it reads as the runtime's own.
		if e.Pos.IsValid() {
			e.Msg = withHint(err.Error(), true)
			return e.Error()
		}
	}
	return "rayvens: " + err.Error()
}

// errorText is a failure's message with the position of the Starlark code
// that failed, when there is one, and no backtrace: the "error" of a
// dead-letter record.
func errorText(err error) string {
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e := evalError(ee, "", false)
		e.Backtrace = nil
		return e.Error()
	}
	return err.Error()
}

// CheckSteps is how far Check runs a script's top level: enough for any
// pipeline set-up, and a bound for a top level that loops forever.
const CheckSteps = 10_000_000

// Check validates a script without running its pipeline: syntax, names,
// load()s, and the top level executed against a dry runtime in which
// connector configs are validated (kinds and parameters) but no connector
// starts, appended events go nowhere, and sleep returns at once. A top level
// still running after CheckSteps steps (a producer loop) is not an error:
// what ran until then was checked. It returns nil, an *Error or an
// ErrorList, or ctx's error if ctx ended before the check was complete.
func Check(ctx context.Context, filename string, src any, opts Options) error {
	if IsTestFile(filename) && opts.test == nil {
		// A test file is checked with the names tests see.
		opts.test = func(*starlark.Thread, starlark.StringDict) error { return nil }
	}
	_, err := GraphOf(ctx, filename, src, opts) // the check, and the graph it built
	return err
}

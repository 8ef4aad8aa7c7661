package starlark

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/builtins"
	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins"
)

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
	// Connectors configures the plugin host that serves source_config,
	// sink_config, add_source and add_sink; nil means scripts cannot use
	// connectors. Log defaults to Stderr; OnFatal is set by Run (a plugin
	// that fails for good stops the run with its error).
	Connectors *plugins.Options
	// MaxSteps, when positive, bounds the computation steps of the top
	// level: a script that runs past it is stopped with a clear error.
	MaxSteps uint64

	dryRun bool
}

// Run executes a script and then keeps the run going until it has drained:
// no source connected and no event in flight. src is the script text (string
// or []byte), or nil to read filename.
//
// Cancelling ctx stops the run gracefully: the top level is interrupted,
// sources stop, and events already accepted still reach their subscribers;
// a graceful stop is not an error. Run returns an *Error or ErrorList for a
// problem in the script, a *FailuresError if subscribers failed, nil
// otherwise.
func Run(ctx context.Context, filename string, src any, opts Options) error {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Kill == nil {
		opts.Kill = context.Background()
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var fatal atomic.Pointer[error]
	stderr := &syncWriter{w: opts.Stderr}
	eng := engine.New(engine.Options{OnError: func(err error) {
		stderr.writeLine(failureMessage(err))
	}})
	rt := builtins.NewRuntime(eng, opts.Stdout)
	rt.Stop, rt.Kill, rt.Argv, rt.DryRun = ctx, opts.Kill, opts.Argv, opts.dryRun
	if opts.LookupEnv != nil {
		rt.LookupEnv = opts.LookupEnv
	}
	if opts.Connectors != nil {
		po := *opts.Connectors
		if po.Log == nil {
			po.Log = stderr
		}
		po.OnFatal = func(err error) {
			fatal.CompareAndSwap(nil, &err)
			stop()
		}
		host, err := plugins.NewHost(po)
		if err != nil {
			return err
		}
		defer host.Close()
		rt.Host = host
	}
	predeclared := rt.Predeclared()
	ld := &loader{predeclared: predeclared, newThread: rt.NewThread, cache: map[string]*module{}, stop: ctx}

	thread := rt.NewThread("main")
	thread.Load = ld.load
	if opts.MaxSteps > 0 {
		thread.SetMaxExecutionSteps(opts.MaxSteps)
	}
	stopTop := context.AfterFunc(ctx, func() { thread.Cancel("the run was stopped") })
	rt.Acquire()
	_, execErr := starlark.ExecFileOptions(FileOptions, thread, filename, src, predeclared)
	rt.EndTopLevel()
	stopTop()
	if execErr != nil && ctx.Err() != nil && fatal.Load() == nil {
		execErr = nil // the top level was interrupted by a graceful stop
	}

	if execErr == nil && !opts.dryRun {
		// The script ran: the run lasts until it drains or is stopped.
		_ = eng.Wait(ctx)
	}
	shutdownErr := eng.Shutdown(opts.Kill)
	if err := rt.CloseConnectors(opts.Kill); err != nil && shutdownErr == nil {
		shutdownErr = err
	}

	switch {
	case fatal.Load() != nil:
		return *fatal.Load()
	case execErr != nil:
		return scriptError(execErr, "")
	case shutdownErr != nil:
		return shutdownErr
	case eng.Errors() > 0:
		return &FailuresError{N: eng.Errors()}
	}
	return nil
}

// failureMessage formats a failure reported by the engine, with the
// position and backtrace of the Starlark code that failed when there is one.
func failureMessage(err error) string {
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e := evalError(ee, "", true)
		e.Msg = withHint(err.Error(), true)
		return e.Error()
	}
	return "rayvens: " + err.Error()
}

// syncWriter writes whole multi-line messages atomically.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) writeLine(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = io.WriteString(s.w, msg+"\n")
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
// ErrorList.
func Check(filename string, src any, opts Options) error {
	opts.dryRun = true
	opts.MaxSteps = CheckSteps
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	err := Run(context.Background(), filename, src, opts)
	var e *Error
	if errors.As(err, &e) && strings.Contains(e.Msg, "too many steps") {
		return nil
	}
	return err
}

package builtins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/internal/lines"
)

// Config is what a [Runtime] runs with, fixed when it is made.
type Config struct {
	// Engine runs the streams the script creates.
	Engine *engine.Engine
	// Stdout receives print output, one whole line at a time.
	Stdout io.Writer
	// Stop ends when the run is asked to stop gracefully: blocking builtins
	// on the main thread give up. Callbacks keep running until the
	// engine's context ends (a forced shutdown).
	// Default: never.
	Stop context.Context
	// Argv is the script's argument list.
	Argv []string
	// LookupEnv reads environment variables for env(); default
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Connectors opens connector instances; nil means scripts cannot use
	// connectors.
	Connectors Connectors
	// Cluster, when set, shares the streams the script makes with
	// Stream(name) with the other processes of the cluster (see Cluster);
	// nil keeps them in this process. A check ignores it.
	Cluster Cluster
	// DryRun makes the run a check: the top level executes, connector
	// configs are validated but no instance is opened, appended events go
	// nowhere, and sleep and the disconnect methods return at once.
	DryRun bool
	// MaxCallbackSteps, when positive, bounds the computation steps of each
	// callback; a callback past it fails with a clear error.
	MaxCallbackSteps uint64
	// MaxMemory, when positive, is the memory (bytes) the run may use: an
	// operation that would allocate more than is left at once fails with a
	// clear error. Scripts must be parsed with GuardAllocations for `*`
	// to be checked.
	MaxMemory uint64
}

// Runtime connects the predeclared values of one script run to its engine,
// its output, its connectors and its lifecycle.
type Runtime struct {
	cfg   Config
	conns connectors

	stdout   *lines.Writer
	lock     gil
	threads  sync.Pool // idle threads of Call
	handlers handlerThreads

	// started is closed when the sources may run: when the top level ends
	// or first waits (see holdUntilStarted).
	started   chan struct{}
	startOnce sync.Once
	links     sharedLinks // between cluster streams
	graph     graphBook   // what the script built, for Graph
}

// handlerThreads are the threads that run the callbacks the engine calls
// (subscribers, operators, actor methods, tasks): one call at a time each,
// reused, since a thread's set-up is not free. Every one made is known, so
// that one cancellation, when the engine's context ends (a forced stop),
// reaches them all: no per-call registration with the context.
type handlerThreads struct {
	mu     sync.Mutex
	free   []*handlerThread
	all    []*starlark.Thread
	killed atomic.Bool
}

// handlerThread is a handler thread and the buffer of its calls'
// arguments. An engine goroutine keeps one for its calls (engine.Local);
// one that finds it busy (a call within a call) takes one from the free
// list for that call.
type handlerThread struct {
	*starlark.Thread
	args  [2]starlark.Value
	busy  bool // in a call
	owned bool // kept by an engine goroutine, never on the free list
}

// NewRuntime returns a runtime for one run.
func NewRuntime(cfg Config) *Runtime {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stop == nil {
		cfg.Stop = context.Background()
	}
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	rt := &Runtime{cfg: cfg, stdout: lines.New(cfg.Stdout), started: make(chan struct{})}
	if cfg.Engine != nil {
		// The engine takes the interpreter lock for the callbacks it runs,
		// a batch of events at a time (see gil.Lock).
		rt.lock.callbacks = cfg.Engine.Context()
		cfg.Engine.SetInterlock(&rt.lock)
		context.AfterFunc(cfg.Engine.Context(), rt.killHandlers)
	}
	return rt
}

// NewThread returns a thread for one goroutine of this run: print goes to the
// run's stdout. Use one thread per goroutine.
func (rt *Runtime) NewThread(name string) *starlark.Thread {
	return &starlark.Thread{
		Name:  name,
		Print: func(_ *starlark.Thread, msg string) { rt.stdout.Println(msg) },
	}
}

// Acquire takes the interpreter lock for the main thread before the top
// level runs; blocking builtins on the main thread give up when Stop ends.
// EndTopLevel gives the lock up for good.
func (rt *Runtime) Acquire() { rt.lock.acquire(rt.cfg.Stop) }

// EndTopLevel is called by the main thread once the top level has returned
// and the globals are frozen: callbacks then run in parallel, and the
// sources the top level attached start, if they have not yet (see
// Stream.add_source).
func (rt *Runtime) EndTopLevel() {
	rt.lock.switchOff()
	rt.startSources()
}

// startSources lets the sources attached so far run, and those attached
// later start at once.
func (rt *Runtime) startSources() { rt.startOnce.Do(func() { close(rt.started) }) }

// holdUntilStarted makes src wait, before it runs, until the top level has
// ended or first waits (sleep, disconnect_all, a full append...), as a Camel
// route starts with its context: so the subscribers and sinks the script
// declares after the source, as in Rayvens' own examples
// (`Stream("s", source_config=...)` then `s >> f`), see its first events,
// which would otherwise reach nobody and be acknowledged upstream as done.
// A source attached once the run goes on (from a callback) starts at once.
func (rt *Runtime) holdUntilStarted(src engine.Source) engine.Source {
	select {
	case <-rt.started:
		return src
	default:
	}
	return engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		select {
		case <-rt.started:
		case <-ctx.Done():
			return nil // disconnected before it started
		}
		return src.Run(ctx, emit)
	})
}

// Call runs fn on a new thread for the current goroutine, taking the
// interpreter lock while the top level is running; when ctx ends, the call
// is cancelled. ctx is the one the engine gives the callback: it ends when
// a shutdown is forced, after the engine has counted what it abandons, so
// the count does not depend on which of the two happens first. Errors keep
// the Starlark backtrace (*starlark.EvalError).
func (rt *Runtime) Call(ctx context.Context, name string, fn starlark.Callable, args ...starlark.Value) (starlark.Value, error) {
	thread := rt.callbackThread(name)
	stop := context.AfterFunc(ctx, func() { thread.Cancel("the run was stopped") })
	release := rt.lock.acquire(ctx)
	v, err := starlark.Call(thread, fn, args, nil)
	release()
	if stop() {
		// The run was not killed: the thread can serve another call, once
		// a step-budget cancellation of this call is forgotten.
		thread.Uncancel()
		rt.threads.Put(thread)
	}
	return v, err
}

// callHandler calls fn with args (at most 2) for the engine, which holds
// the interpreter lock for it while the top level runs (see
// Config.Engine); ctx is the handler's, and a forced stop of the engine
// cancels the call.
func (rt *Runtime) callHandler(ctx context.Context, name string, fn starlark.Callable, args ...engine.Event) (starlark.Value, error) {
	thread := rt.handlerThread(ctx)
	thread.busy = true
	thread.Name = name
	thread.Steps = 0
	thread.SetMaxExecutionSteps(rt.nextPause(0, rt.cfg.MaxCallbackSteps))
	defer rt.idleHandlerThread(thread)
	var vals starlark.Tuple
	if _, ok := fn.(*starlark.Function); ok {
		// A Starlark function copies its arguments into its frame: the
		// thread's buffer serves each call. Builtins may keep theirs.
		vals = thread.args[:len(args)]
		defer clear(vals)
	} else {
		vals = make(starlark.Tuple, len(args))
	}
	for i, a := range args {
		v, err := ToStarlark(a)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return starlark.Call(thread.Thread, fn, vals, nil)
}

// handlerThread returns the thread of the engine goroutine whose handler
// context ctx is, or an idle thread, or a new one.
func (rt *Runtime) handlerThread(ctx context.Context) *handlerThread {
	slot := engine.Local(ctx)
	if slot != nil {
		if thread, _ := (*slot).(*handlerThread); thread != nil && !thread.busy {
			return thread
		}
	}
	h := &rt.handlers
	h.mu.Lock()
	var thread *handlerThread
	if n := len(h.free); n > 0 {
		thread = h.free[n-1]
		h.free = h.free[:n-1]
	}
	h.mu.Unlock()
	if thread == nil {
		thread = &handlerThread{Thread: rt.newCallbackThread("callback")}
		h.mu.Lock()
		h.all = append(h.all, thread.Thread)
		h.mu.Unlock()
		if h.killed.Load() {
			thread.Cancel(errStopped.Error())
		}
	}
	if slot != nil && *slot == nil {
		*slot, thread.owned = thread, true
	}
	return thread
}

// idleHandlerThread takes thread back after a call, unless the engine was
// stopped (then the thread stays cancelled).
func (rt *Runtime) idleHandlerThread(thread *handlerThread) {
	thread.busy = false
	if rt.cfg.Engine.Context().Err() != nil {
		return
	}
	// A cancellation by the step budget is forgotten, one by killHandlers
	// (which may have run meanwhile) is not.
	thread.Uncancel()
	if rt.handlers.killed.Load() {
		thread.Cancel(errStopped.Error())
	}
	if !thread.owned {
		h := &rt.handlers
		h.mu.Lock()
		h.free = append(h.free, thread)
		h.mu.Unlock()
	}
}

// killHandlers cancels every handler thread, for good: the engine was
// stopped by force.
func (rt *Runtime) killHandlers() {
	h := &rt.handlers
	h.mu.Lock()
	defer h.mu.Unlock()
	h.killed.Store(true)
	for _, t := range h.all {
		t.Cancel(errStopped.Error())
	}
}

// callbackThread returns a thread for one callback on the current
// goroutine: threads are reused, one call at a time, since a callback is
// short and a thread's set-up is not free.
func (rt *Runtime) callbackThread(name string) *starlark.Thread {
	thread, _ := rt.threads.Get().(*starlark.Thread)
	if thread == nil {
		thread = rt.newCallbackThread(name)
	}
	thread.Name = name
	thread.Steps = 0
	thread.SetMaxExecutionSteps(rt.nextPause(0, rt.cfg.MaxCallbackSteps))
	return thread
}

// newCallbackThread makes a thread for callbacks: marked as one (see
// notInCallback), bounded by the step budget, sharing the lock fairly.
func (rt *Runtime) newCallbackThread(name string) *starlark.Thread {
	thread := rt.NewThread(name)
	thread.SetLocal(callbackKey, true)
	rt.Pace(thread, rt.cfg.MaxCallbackSteps, func(t *starlark.Thread) {
		t.Cancel(fmt.Sprintf("%s ran past its budget of %d steps (a runaway loop?)", t.Name, rt.cfg.MaxCallbackSteps))
	})
	return thread
}

// stepQuantum is how many steps a thread runs, while the interpreter lock
// is on, before it hands the lock on to a thread waiting for it: with a
// step costing tens of nanoseconds, a turn lasts well under a millisecond.
const stepQuantum = 10_000

// Pace bounds thread to max computation steps (0: no bound), calling past
// once it runs past them, and makes it share the interpreter lock fairly
// while the top level runs: every stepQuantum steps, the thread hands the
// lock on to a thread that waits for it, so that a loop that never blocks
// (`while True: pass`) freezes neither the top level nor other callbacks.
// Call it once, before the thread first runs.
func (rt *Runtime) Pace(thread *starlark.Thread, max uint64, past func(*starlark.Thread)) {
	thread.OnMaxSteps = func(t *starlark.Thread) {
		if max > 0 && t.Steps >= max {
			past(t)
			return
		}
		rt.lock.yield()
		t.SetMaxExecutionSteps(rt.nextPause(t.Steps, max))
	}
	thread.SetMaxExecutionSteps(rt.nextPause(thread.Steps, max))
}

// nextPause is the step count at which a thread at steps, bounded to max,
// next stops to hand the lock on or to be stopped.
func (rt *Runtime) nextPause(steps, max uint64) uint64 {
	next := uint64(math.MaxUint64)
	if !rt.lock.off.Load() {
		next = steps + stepQuantum
	}
	if max > 0 && max < next {
		next = max
	}
	return next
}

// block runs fn, which may block, with the interpreter lock given up, and
// turns a stop into a clear error.
func (rt *Runtime) block(fn func(ctx context.Context) error) error {
	// Whatever the top level waits for may need the sources' events.
	rt.startSources()
	var stopped context.Context
	// Once the top level is over, blocking builtins run in callbacks: they
	// give up when the engine's context ends (a forced stop), as the
	// callbacks themselves do (see Call).
	err := rt.lock.blocking(rt.cfg.Engine.Context(), func(ctx context.Context) error {
		stopped = ctx
		return fn(ctx)
	})
	if err != nil && stopped.Err() != nil && errors.Is(err, stopped.Err()) {
		return errStopped
	}
	return err
}

var errStopped = errors.New("the run was stopped")

// callbackKey marks the threads that run callbacks.
const callbackKey = "rayvens.callback"

// notInCallback refuses operations that wait for a stream to drain: called
// from a callback, they would wait for the very event being processed.
func notInCallback(thread *starlark.Thread, what string) error {
	if thread.Local(callbackKey) == true {
		return fmt.Errorf("%s waits for streams to drain, so it cannot be called from a subscriber or operator; call it from the top level", what)
	}
	return nil
}

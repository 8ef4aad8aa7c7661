package starlark

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/rayvens/rayvens/builtins"
	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/internal/lines"
)

// Script is one script run, in three steps a Go program can come between:
// New prepares it (the program may then create streams on its engine,
// subscribe Go code to them and Define them for the script), Start runs the
// top level (the program may then subscribe Go code to the streams the
// script made, found with Stream, and append to them), and Wait runs the
// pipeline until it drains.
//
// Every event on a stream the script can see (one it made, or one given
// with Define) is a frozen starlark.Value, whoever appended it: Go values
// are converted when they are appended (builtins.AcceptEvent), and a value
// that cannot be converted is refused there, with an error naming its Go
// type. Go subscribers turn events into plain Go with GoValue.
type Script struct {
	opts    Options
	eng     *engine.Engine
	rt      *builtins.Runtime
	shown   atomic.Pointer[builtins.Runtime] // rt, for Graph from any goroutine
	stderr  *lines.Writer
	extra   starlark.StringDict
	defined map[string]*engine.Stream // wrapped for the script at Start

	ctx            context.Context
	stop           context.CancelFunc
	kill           context.Context // ends when the run is killed
	killRun        context.CancelFunc
	fatal          atomic.Pointer[error]
	watching       chan struct{} // closed when watch returns
	watchingMemory chan struct{} // closed when watchMemory returns
	finished       chan struct{} // closed when the engine is shut down
	bounding       chan struct{} // closed when bound returns
	timedOut       atomic.Bool   // bound killed the run
	pastMaxSteps   atomic.Bool   // the top level ran past Options.MaxSteps
	state          int           // 0 new, 1 started, 2 done
}

// New prepares a script run; nothing runs yet.
func New(opts Options) (*Script, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	s := &Script{opts: opts, stderr: lines.New(opts.Stderr), extra: starlark.StringDict{}, defined: map[string]*engine.Stream{}}
	s.eng = engine.New(engine.Options{
		OnError:   func(err error) { s.stderr.Println(failureMessage(err)) },
		ErrorText: errorText,
	})
	for name, v := range opts.Predeclared {
		s.extra[name] = v
	}
	return s, nil
}

// Engine returns the engine the script's streams run on.
func (s *Script) Engine() *engine.Engine { return s.eng }

// Define makes a Go value visible to the script under name, before Start:
// an *engine.Stream (the script sees a Stream it can append to and
// subscribe to), or any starlark.Value (a builtin, a module, a constant).
//
// A stream given to the script converts the events appended to it from now
// on to frozen Starlark values (Define sets its Accept function to
// builtins.AcceptEvent), so Go code subscribed to it sees the same values
// as the script. Defining a stream is also how Go code sees the events the
// script's top level appends: subscribe to the stream before Start.
func (s *Script) Define(name string, v any) error {
	if s.state != 0 {
		return fmt.Errorf("define %q: %w", name, ErrStarted)
	}
	switch v := v.(type) {
	case *engine.Stream:
		v.SetAccept(builtins.AcceptEvent)
		s.defined[name] = v
	case starlark.Value:
		s.extra[name] = v
	default:
		return fmt.Errorf("define %q: a %T is neither an *engine.Stream nor a starlark.Value", name, v)
	}
	return nil
}

// Stream returns the stream named name (made by the script or the Go
// program), or nil. A stream the script makes exists once Start has
// returned, and Go code subscribed to it then sees the events appended from
// then on only: what the top level appended to it before has gone to the
// subscribers it had. To see those events too, create the stream in Go,
// subscribe to it and Define it before Start.
func (s *Script) Stream(name string) *engine.Stream { return s.eng.Stream(name) }

// Start runs the script's top level. Cancelling ctx later stops the run
// gracefully (see Run). If the script fails, Start shuts the run down (what
// was accepted is still delivered) and returns the error; Wait then returns
// ErrFinished. Start a second time is ErrStarted.
func (s *Script) Start(ctx context.Context, filename string, src any) error {
	if s.state != 0 {
		return ErrStarted
	}
	s.state = 1
	s.ctx, s.stop = context.WithCancel(ctx)
	s.kill, s.killRun = context.WithCancel(orBackground(s.opts.Kill))
	s.finished = make(chan struct{})
	if d := s.opts.drainTimeout(); d > 0 {
		s.bounding = make(chan struct{})
		go s.bound(d)
	}
	s.rt = builtins.NewRuntime(builtins.Config{
		Engine:           s.eng,
		Stdout:           s.opts.Stdout,
		Stop:             s.ctx,
		Argv:             s.opts.Argv,
		LookupEnv:        s.opts.LookupEnv,
		Connectors:       s.opts.Connectors,
		Cluster:          s.opts.Cluster,
		DryRun:           s.opts.dryRun,
		MaxCallbackSteps: s.opts.MaxCallbackSteps,
		MaxMemory:        s.opts.MaxMemory,
	})
	s.shown.Store(s.rt)
	if f, ok := s.opts.Connectors.(builtins.Failing); ok {
		s.watching = make(chan struct{})
		go s.watch(f)
	}
	if s.opts.MaxMemory > 0 {
		s.watchingMemory = make(chan struct{})
		go s.watchMemory()
	}
	predeclared := s.rt.Predeclared()
	if s.opts.test != nil {
		for name, v := range s.rt.TestPredeclared() {
			predeclared[name] = v
		}
	}
	for name, v := range s.extra {
		predeclared[name] = v
	}
	for name, v := range s.defined {
		predeclared[name] = builtins.NewStream(s.rt, v)
	}
	ld := &loader{predeclared: predeclared, newThread: s.rt.NewThread, cache: map[string]*module{}, stop: s.ctx}
	if s.opts.test != nil {
		predeclared["run_script"] = runScript(ld)
	}
	// Each file's top level (this one's and every loaded one's) has the
	// step budget and hands the interpreter lock on as it goes.
	ld.pace = func(t *starlark.Thread) {
		s.rt.Pace(t, s.opts.MaxSteps, func(t *starlark.Thread) {
			s.pastMaxSteps.Store(true)
			t.Cancel("too many steps")
		})
	}
	thread := s.rt.NewThread("main")
	thread.Load = ld.load
	ld.pace(thread)
	stopTop := context.AfterFunc(s.ctx, func() { thread.Cancel("the run was stopped") })
	s.rt.Acquire()
	file, globals, err := execFile(thread, filename, src, predeclared)
	if err == nil && s.opts.test != nil {
		// A test function runs as the end of the top level (see test.go).
		err = s.opts.test(thread, globals)
	}
	s.rt.EndTopLevel()
	stopTop()
	if err != nil && s.ctx.Err() != nil && s.fatal.Load() == nil {
		err = nil // the top level was interrupted by a graceful stop
	}
	if err != nil {
		_ = s.finish()
		if f := s.fatal.Load(); f != nil {
			// Say where the top level was when the failure stopped it:
			// what comes after that line did not run.
			var e *Error
			if errors.As(scriptError(err, ""), &e) && e.Pos.IsValid() {
				return fmt.Errorf("%w; %s", *f, stoppedAt(file, e))
			}
			return *f
		}
		err = scriptError(err, "")
		if e := (*Error)(nil); s.pastMaxSteps.Load() && errors.As(err, &e) {
			e.kind = ErrMaxSteps
		}
		return err
	}
	return nil
}

// Wait runs the pipeline until it has drained (no source connected, no event
// in flight) or Start's context ends, then shuts everything down: after
// Start's context ended, within Options.DrainTimeout. It returns a
// *FailuresError if subscribers failed, the error of a plugin that failed
// for good, an error that is ErrDrainTimeout and an *engine.UndeliveredError
// if the drain took too long, or nil. Wait before Start is ErrNotStarted,
// and after the run is over ErrFinished.
func (s *Script) Wait() error {
	switch s.state {
	case 0:
		return ErrNotStarted
	case 2:
		return ErrFinished
	}
	if !s.opts.dryRun {
		_ = s.eng.Wait(s.ctx)
	}
	shutdownErr := s.finish()
	switch {
	case s.fatal.Load() != nil:
		return *s.fatal.Load()
	case shutdownErr != nil:
		return shutdownErr
	case s.eng.Errors() > 0:
		return &FailuresError{N: s.eng.Errors()}
	}
	return nil
}

// watch stops the run with the error of connectors that fail for good.
func (s *Script) watch(f builtins.Failing) {
	defer close(s.watching)
	select {
	case <-f.Failed():
		err := f.Err()
		s.fatal.CompareAndSwap(nil, &err)
		s.stop()
	case <-s.ctx.Done():
	}
}

// finish drains and stops the engine and closes the sinks; the connectors
// themselves belong to the caller.
func (s *Script) finish() error {
	s.state = 2
	err := s.eng.Shutdown(s.kill)
	if cerr := s.rt.CloseConnectors(s.kill); cerr != nil && err == nil {
		err = cerr
	}
	close(s.finished)
	s.stop()
	if s.watching != nil {
		<-s.watching
	}
	if s.watchingMemory != nil {
		<-s.watchingMemory
	}
	if s.bounding != nil {
		<-s.bounding
	}
	s.killRun()
	return s.drainError(err)
}

// orBackground returns ctx, or a context that never ends when ctx is nil.
func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// execFile executes a script file's top level on thread, the way
// starlark.ExecFileOptions does, with its allocations guarded when the run
// has a memory limit (builtins.GuardAllocations).
func execFile(thread *starlark.Thread, filename string, src any, predeclared starlark.StringDict) (*syntax.File, starlark.StringDict, error) {
	if src == nil {
		b, err := os.ReadFile(filename)
		if err != nil {
			return nil, nil, err
		}
		src = b
	}
	if err := checkText(filename, src); err != nil {
		return nil, nil, err
	}
	f, err := FileOptions.Parse(filename, src, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := checkNames(f); err != nil {
		return f, nil, err
	}
	builtins.GuardAllocations(f, predeclared)
	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		return f, nil, err
	}
	g, err := prog.Init(thread, predeclared)
	g.Freeze()
	return f, g, err
}

// stoppedAt says where an interrupted top level of f was (e is its
// error) and how many of its statements did not run.
func stoppedAt(f *syntax.File, e *Error) string {
	pos := e.Pos
	if len(e.Backtrace) > 0 { // the outermost frame is the top level's
		pos = e.Backtrace[0].Pos
	}
	at := -1
	for i, st := range f.Stmts {
		if start, _ := st.Span(); start.Line <= pos.Line {
			at = i
		}
	}
	msg := fmt.Sprintf("the top level was stopped at %s", pos)
	if at < 0 {
		return msg
	}
	start, _ := f.Stmts[at].Span()
	if start.Line != pos.Line {
		msg += fmt.Sprintf(", in the statement of line %d", start.Line)
	}
	switch n := len(f.Stmts) - at - 1; n {
	case 0:
		return msg + ", its last statement"
	case 1:
		return msg + ", and the 1 top-level statement after it did not run"
	default:
		return msg + fmt.Sprintf(", and the %d top-level statements after it did not run", n)
	}
}

// checkText refuses a script with a NUL byte, which Starlark's scanner
// takes for the end of the file, so that what follows it would silently
// not run; a binary file given as a script is the usual cause.
func checkText(filename string, src any) error {
	var text []byte
	switch src := src.(type) {
	case []byte:
		text = src
	case string:
		text = []byte(src)
	default:
		return nil
	}
	i := bytes.IndexByte(text, 0)
	if i < 0 {
		return nil
	}
	line := 1 + bytes.Count(text[:i], []byte("\n"))
	col := 1 + i - (bytes.LastIndexByte(text[:i], '\n') + 1)
	return syntax.Error{Pos: syntax.MakePosition(&filename, int32(line), int32(col)), Msg: "the script holds a NUL byte (is it a binary file?)"}
}

// maxName bounds the names a script may use: the resolver compares an
// undefined name with every known one ("did you mean"), in time that grows
// with the square of their length.
const maxName = 1000

// checkNames refuses names longer than maxName.
func checkNames(f *syntax.File) error {
	var err error
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && len(id.Name) > maxName && err == nil {
			err = syntax.Error{Pos: id.NamePos, Msg: fmt.Sprintf("a name of %d bytes is too long (at most %d)", len(id.Name), maxName)}
		}
		return err == nil
	})
	return err
}

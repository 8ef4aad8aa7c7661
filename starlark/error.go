package starlark

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The errors of a Script's lifecycle, checked with errors.Is.
var (
	// ErrStarted is the error of Start, and of Define, once Start has been
	// called.
	ErrStarted = errors.New("the script has already started")
	// ErrNotStarted is the error of Wait before Start.
	ErrNotStarted = errors.New("the script has not started")
	// ErrFinished is the error of Wait once the run is over: Wait has
	// returned already, or Start failed (and shut the run down).
	ErrFinished = errors.New("the run is over")
	// ErrMaxSteps is what an [*Error] is when the top level ran past
	// Options.MaxSteps.
	ErrMaxSteps = errors.New("the top level ran past its step budget")
	// ErrDrainTimeout is what the error of Wait is when the run, once
	// stopped, did not drain within Options.DrainTimeout and was killed;
	// the error is also an *engine.UndeliveredError counting the events
	// abandoned.
	ErrDrainTimeout = errors.New("the run was stopped and did not drain")
)

// Error is a problem in a script at a position: a syntax or resolve error,
// or a runtime error with the Starlark backtrace that led to it.
type Error struct {
	Pos syntax.Position
	Msg string
	// Backtrace is the call stack, outermost first, when the error happened
	// inside a function call; empty for errors at the top level.
	Backtrace []starlark.CallFrame

	kind error // a sentinel this error is an instance of, or nil
}

// Unwrap returns the sentinel the error is an instance of (ErrMaxSteps), or
// nil.
func (e *Error) Unwrap() error { return e.kind }

func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos.IsValid() {
		fmt.Fprintf(&b, "%s: ", e.Pos)
	}
	b.WriteString(e.Msg)
	if len(e.Backtrace) > 0 {
		b.WriteString("\nTraceback (most recent call last):")
		frames := e.Backtrace
		const keep = 10 // frames shown at each end of a deep stack (runaway recursion)
		for i, fr := range frames {
			if len(frames) > 2*keep+1 && i == keep {
				fmt.Fprintf(&b, "\n  ... %d more calls ...", len(frames)-2*keep)
			}
			if len(frames) > 2*keep+1 && i >= keep && i < len(frames)-keep {
				continue
			}
			fmt.Fprintf(&b, "\n  %s: in %s", fr.Pos, fr.Name)
		}
	}
	return b.String()
}

// ErrorList is several script errors, such as every resolve error of a file.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// FailuresError reports that the run completed but N subscriber, operator or
// source failures happened; each was reported when it happened.
type FailuresError struct{ N uint64 }

func (e *FailuresError) Error() string {
	if e.N == 1 {
		return "the run had 1 failure (reported above)"
	}
	return fmt.Sprintf("the run had %d failures (reported above)", e.N)
}

// scriptError converts an error from the interpreter into an *Error or an
// ErrorList; other errors are returned unchanged. msg, when not empty,
// replaces the message (to add context such as the failing subscriber).
func scriptError(err error, msg string) error {
	var (
		synErr syntax.Error
		resErr resolve.ErrorList
		evlErr *starlark.EvalError
	)
	switch {
	case errors.As(err, &evlErr):
		return evalError(evlErr, msg, false)
	case errors.As(err, &synErr):
		return &Error{Pos: synErr.Pos, Msg: synErr.Msg}
	case errors.As(err, &resErr):
		list := make(ErrorList, len(resErr))
		for i, e := range resErr {
			list[i] = &Error{Pos: e.Pos, Msg: e.Msg}
		}
		return list
	}
	return err
}

// evalError positions an evaluation error at the innermost script frame. The
// backtrace is kept when the error is inside a function, or always when
// alwaysTrace is set (callback failures, whose backtrace tells which
// function failed).
func evalError(e *starlark.EvalError, msg string, alwaysTrace bool) *Error {
	if msg == "" {
		msg = e.Msg
	}
	msg = withHint(msg, alwaysTrace)
	stack := e.CallStack
	if n := len(stack); n > 0 && stack[n-1].Pos.Filename() == "<builtin>" {
		// A name with "$" is an operator the runtime checks (see
		// builtins.GuardAllocations): the message is the operator's own.
		name := stack[n-1].Name
		if !strings.HasPrefix(name, "$") && !strings.HasPrefix(msg, name+":") && !strings.Contains(msg, name+": ") {
			msg = "in " + name + ": " + msg
		}
		stack = stack[:n-1]
	}
	out := &Error{Msg: msg}
	if n := len(stack); n > 0 {
		out.Pos = stack[n-1].Pos
	}
	// A nested error (from a loaded module) carries its own position.
	var inner *starlark.EvalError
	if errors.As(e.Unwrap(), &inner) && inner != e {
		return evalError(inner, msg, alwaysTrace)
	}
	if len(stack) > 1 || (alwaysTrace && len(stack) > 0) {
		out.Backtrace = append([]starlark.CallFrame(nil), stack...)
	}
	return out
}

// hints explain interpreter messages that are accurate but puzzling in a
// Rayvens script.
// callback tells whether the message comes from a callback, where a frozen
// value is most likely a global.
func withHint(msg string, callback bool) string {
	hint := ""
	switch {
	case strings.Contains(msg, "got Stream, want int"):
		hint = "a stream goes on the left of << and >> (stream << event, stream >> subscriber)"
	case strings.Contains(msg, "frozen") && callback:
		hint = "events and the values subscribers return are frozen, and so are globals once the top level has finished; keep mutable state in an Actor and return copies of it"
	case strings.Contains(msg, "frozen"):
		hint = "events appended to a stream are frozen, and so are argv and the globals of loaded files"
	}
	if hint == "" || strings.Contains(msg, hint) {
		return msg
	}
	return msg + " (" + hint + ")"
}

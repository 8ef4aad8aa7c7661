package builtins

import (
	"context"
	"fmt"
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/rayvens/rayvens/engine"
)

// Predeclared returns the names every script sees, bound to rt.
func (rt *Runtime) Predeclared() starlark.StringDict {
	argv := make([]starlark.Value, len(rt.cfg.Argv))
	for i, a := range rt.cfg.Argv {
		argv[i] = starlark.String(a)
	}
	argvList := starlark.NewList(argv)
	argvList.Freeze()
	d := starlark.StringDict{
		"Stream":      starlark.NewBuiltin("Stream", rt.makeStream),
		"Actor":       starlark.NewBuiltin("Actor", rt.makeActor),
		"Task":        starlark.NewBuiltin("Task", rt.makeTask),
		"OutputEvent": starlark.NewBuiltin("OutputEvent", makeOutputEvent),
		"sleep":       starlark.NewBuiltin("sleep", rt.sleep),
		"env":         starlark.NewBuiltin("env", rt.env),
		"argv":        argvList,
		"json":        json.Module,
		"time":        starlarktime.Module,
		"math":        math.Module,
		"struct":      starlark.NewBuiltin("struct", starlarkstruct.Make),
	}
	if rt.cfg.MaxMemory > 0 {
		d[mulName] = starlark.NewBuiltin(mulName, rt.mul)
		for _, name := range sizedBuiltins {
			d[name] = rt.guardSized(name)
		}
	}
	return d
}

// sleep(seconds) pauses the calling thread, letting callbacks run meanwhile.
func (rt *Runtime) sleep(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var secs starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &secs); err != nil {
		return nil, err
	}
	f, ok := starlark.AsFloat(secs)
	if !ok {
		return nil, fmt.Errorf("%s: seconds must be a number, got %s", b.Name(), secs.Type())
	}
	if f < 0 {
		return nil, fmt.Errorf("%s: seconds must not be negative, got %v", b.Name(), secs)
	}
	d := time.Duration(f * float64(time.Second))
	if rt.cfg.DryRun {
		return starlark.None, nil
	}
	err := rt.block(func(ctx context.Context) error { return engine.Sleep(ctx, d) })
	return starlark.None, err
}

// env(name, default=None) reads an environment variable.
func (rt *Runtime) env(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
		return nil, err
	}
	if v, ok := rt.cfg.LookupEnv(name); ok {
		return starlark.String(v), nil
	}
	return def, nil
}

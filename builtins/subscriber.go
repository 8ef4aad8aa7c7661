package builtins

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/engine"
)

// subscriber turns what a script puts on the right of >> into an engine
// subscriber: a Stream, an Actor (its append method), an actor method, a
// Task, or any callable (function, lambda, builtin).
func (rt *Runtime) subscriber(v starlark.Value) (engine.Subscriber, error) {
	switch v := v.(type) {
	case *Stream:
		return engine.Forward(v.s), nil
	case *Actor:
		m, ok := v.methods["append"]
		if !ok {
			return nil, fmt.Errorf("actor %q has no append method: subscribe one of its methods, e.g. stream >> actor.%s", v.a.Name(), v.anyMethod())
		}
		return v.method("append", m), nil
	case *ActorMethod:
		return v.actor.method(v.name, v.fn), nil
	case *Task:
		return v.pool, nil
	case starlark.Callable:
		return engine.Func(v.Name(), func(ctx context.Context, ev engine.Event) (engine.Event, error) {
			return rt.callEvent(ctx, v.Name(), v, ev)
		}), nil
	}
	return nil, fmt.Errorf("cannot subscribe a %s: a subscriber is a function, an Actor, an actor method, a Task or a Stream", v.Type())
}

// callEvent calls fn(ev) for the engine (see callHandler) and converts the
// result for the engine: None becomes nil (dropped), anything else is
// frozen so it can cross goroutines.
func (rt *Runtime) callEvent(ctx context.Context, name string, fn starlark.Callable, args ...engine.Event) (engine.Event, error) {
	res, err := rt.callHandler(ctx, name, fn, args...)
	return result(res, err)
}

func result(res starlark.Value, err error) (engine.Event, error) {
	if err != nil {
		return nil, err
	}
	if res == nil || res == starlark.None {
		return nil, nil
	}
	res.Freeze()
	return res, nil
}

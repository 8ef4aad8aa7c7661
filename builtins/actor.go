package builtins

import (
	"context"
	"fmt"
	"sort"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/engine"
)

// Actor is a stateful subscriber: Actor(append=None, init=None, **methods).
// init() runs once on the actor's goroutine and returns the state (default:
// a new empty dict); each method is called as method(state, event) on that
// same goroutine, one event at a time.
type Actor struct {
	a       *engine.Actor
	methods map[string]starlark.Callable
	rt      *Runtime
}

var _ starlark.HasAttrs = (*Actor)(nil)

func (a *Actor) String() string        { return fmt.Sprintf("Actor(%q)", a.a.Name()) }
func (a *Actor) Type() string          { return "Actor" }
func (a *Actor) Freeze()               {} // its state lives on its own goroutine
func (a *Actor) Truth() starlark.Bool  { return starlark.True }
func (a *Actor) Hash() (uint32, error) { return starlark.String(a.a.Name()).Hash() }

// Attr returns the actor method name, to subscribe with stream >> actor.name.
func (a *Actor) Attr(name string) (starlark.Value, error) {
	if fn, ok := a.methods[name]; ok {
		return &ActorMethod{actor: a, name: name, fn: fn}, nil
	}
	return nil, nil
}

// AttrNames lists the actor's methods.
func (a *Actor) AttrNames() []string {
	names := make([]string, 0, len(a.methods))
	for n := range a.methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a *Actor) anyMethod() string {
	if names := a.AttrNames(); len(names) > 0 {
		return names[0]
	}
	return "method"
}

func (a *Actor) method(name string, fn starlark.Callable) engine.Subscriber {
	qualified := a.a.Name() + "." + name
	return a.a.Method(name, func(ctx context.Context, state any, ev engine.Event) (engine.Event, error) {
		return a.rt.callEvent(ctx, qualified, fn, state, ev)
	})
}

// ActorMethod is actor.name: a subscriber that calls that method.
type ActorMethod struct {
	actor *Actor
	name  string
	fn    starlark.Callable
}

func (m *ActorMethod) String() string        { return fmt.Sprintf("%s.%s", m.actor, m.name) }
func (m *ActorMethod) Type() string          { return "ActorMethod" }
func (m *ActorMethod) Freeze()               {}
func (m *ActorMethod) Truth() starlark.Bool  { return starlark.True }
func (m *ActorMethod) Hash() (uint32, error) { return starlark.String(m.String()).Hash() }

func (rt *Runtime) makeActor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 1 {
		return nil, fmt.Errorf("%s: got %d positional arguments, want at most 1 (append)", b.Name(), len(args))
	}
	methods := map[string]starlark.Callable{}
	var init starlark.Callable
	add := func(name string, v starlark.Value) error {
		fn, ok := v.(starlark.Callable)
		if !ok {
			return fmt.Errorf("%s: %s must be a function, got %s", b.Name(), name, v.Type())
		}
		if name == "init" {
			init = fn
		} else {
			methods[name] = fn
		}
		return nil
	}
	if len(args) == 1 && args[0] != starlark.None {
		if err := add("append", args[0]); err != nil {
			return nil, err
		}
	}
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		if name == "append" && len(args) == 1 {
			return nil, fmt.Errorf("%s: append given both by position and by name", b.Name())
		}
		if kv[1] == starlark.None {
			continue
		}
		if err := add(name, kv[1]); err != nil {
			return nil, err
		}
	}
	if len(methods) == 0 {
		return nil, fmt.Errorf("%s: an actor needs at least one method, e.g. Actor(fn) or Actor(accept=fn)", b.Name())
	}
	name := "actor"
	if fn, ok := methods["append"]; ok {
		name = fn.Name()
	}
	stateInit := func(ctx context.Context) (any, error) {
		if init == nil {
			return starlark.NewDict(0), nil
		}
		return rt.Call(ctx, name+".init", init)
	}
	a, err := rt.cfg.Engine.NewActor(name, stateInit, 0)
	if err != nil {
		return nil, err
	}
	return &Actor{a: a, methods: methods, rt: rt}, nil
}

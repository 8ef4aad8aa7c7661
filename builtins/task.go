package builtins

import (
	"context"
	"fmt"
	"runtime"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/engine"
)

// Task is Task(fn, parallelism=N): a subscriber that runs fn on a pool of N
// goroutines, with no ordering between events. The default parallelism is
// the number of CPUs Go may use (GOMAXPROCS).
type Task struct {
	pool *engine.Pool
}

func (t *Task) String() string        { return fmt.Sprintf("Task(%q)", t.pool.Name()) }
func (t *Task) Type() string          { return "Task" }
func (t *Task) Freeze()               {}
func (t *Task) Truth() starlark.Bool  { return starlark.True }
func (t *Task) Hash() (uint32, error) { return starlark.String(t.pool.Name()).Hash() }

func (rt *Runtime) makeTask(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	parallelism := runtime.GOMAXPROCS(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "parallelism?", &parallelism); err != nil {
		return nil, err
	}
	if parallelism < 1 {
		return nil, fmt.Errorf("%s: parallelism must be at least 1, got %d", b.Name(), parallelism)
	}
	name := fn.Name()
	pool, err := rt.cfg.Engine.NewPool(name, func(ctx context.Context, ev engine.Event) (engine.Event, error) {
		return rt.callEvent(ctx, name, fn, ev)
	}, parallelism)
	if err != nil {
		return nil, err
	}
	return &Task{pool: pool}, nil
}

package starlark

import (
	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/builtins"
	"github.com/rayvens/rayvens/engine"
)

// GoValue returns an event of a stream the script can see as plain Go, for
// Go subscribers: None is nil, and strings, bytes, bools, ints, floats,
// lists and tuples, and dicts with string keys become string, []byte,
// bool, int64, float64, []any and map[string]any (see
// builtins.FromStarlark). A batch of a stream the Go program made with a
// BatchSize, which is a []engine.Event, becomes a []any of its events
// converted. Any other value is returned as it is.
func GoValue(ev engine.Event) any {
	switch ev := ev.(type) {
	case starlark.Value:
		return builtins.FromStarlark(ev)
	case []engine.Event:
		out := make([]any, len(ev))
		for i, e := range ev {
			out[i] = GoValue(e)
		}
		return out
	}
	return ev
}

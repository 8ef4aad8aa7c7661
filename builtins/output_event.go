package builtins

import (
	"fmt"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// OutputEvent is OutputEvent(data, headers={}): an event with headers for the
// connector that receives it (for example CamelFileName for file-sink).
// Headers are strings; the value is frozen at creation.
type OutputEvent struct {
	Data    starlark.Value
	Headers map[string]string
	headers *starlark.Dict
}

var _ starlark.HasAttrs = (*OutputEvent)(nil)

func (e *OutputEvent) String() string {
	return fmt.Sprintf("OutputEvent(%s, headers=%s)", e.Data, e.headers)
}
func (e *OutputEvent) Type() string         { return "OutputEvent" }
func (e *OutputEvent) Freeze()              {}
func (e *OutputEvent) Truth() starlark.Bool { return starlark.True }
func (e *OutputEvent) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: OutputEvent")
}

// Attr returns data or headers.
func (e *OutputEvent) Attr(name string) (starlark.Value, error) {
	switch name {
	case "data":
		return e.Data, nil
	case "headers":
		return e.headers, nil
	}
	return nil, nil
}

// AttrNames lists data and headers.
func (e *OutputEvent) AttrNames() []string { return []string{"data", "headers"} }

func makeOutputEvent(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starlark.Value
	headers := new(starlark.Dict)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data", &data, "headers?", &headers); err != nil {
		return nil, err
	}
	ev := &OutputEvent{Data: data, Headers: map[string]string{}, headers: new(starlark.Dict)}
	for _, kv := range headers.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: header names must be strings, got %s", b.Name(), kv[0].Type())
		}
		v, ok := kv[1].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: header %q must be a string, got %s", b.Name(), string(k), kv[1].Type())
		}
		// Headers travel as text: protobuf, HTTP and Camel take nothing
		// else. The value is not shown: it may be a secret.
		if !utf8.ValidString(string(k)) {
			return nil, fmt.Errorf("%s: header names must be valid UTF-8 text, got %q", b.Name(), string(k))
		}
		if !utf8.ValidString(string(v)) {
			return nil, fmt.Errorf("%s: header %q must be valid UTF-8 text", b.Name(), string(k))
		}
		ev.Headers[string(k)] = string(v)
		_ = ev.headers.SetKey(k, v)
	}
	data.Freeze()
	ev.headers.Freeze()
	return ev, nil
}

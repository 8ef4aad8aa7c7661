package builtins

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// ToStarlark converts an event appended from Go to the value a script sees.
// Starlark values pass unchanged; nil is None; strings, []byte, bools,
// integers and floats (and Go types defined on them) become their Starlark
// kinds; a time.Time becomes its RFC 3339 text (with nanoseconds when it has
// them); slices and arrays become lists, and maps with string keys dicts
// (keys sorted), recursively and frozen; a connector event becomes its body
// as a string. Anything else (a struct, a pointer, a channel, a map with
// other keys) is an error naming its Go type.
func ToStarlark(v any) (starlark.Value, error) {
	sv, err := toStarlark(v, "")
	if err != nil { // only then: errors.As would allocate on the hot path
		var u *unsupported
		if errors.As(err, &u) {
			return nil, u.explain(v)
		}
		return nil, err
	}
	return sv, nil
}

// supported is what the errors of ToStarlark suggest.
const supported = "use a string, number, bool, []byte, time.Time, a slice or a map with string keys of those, or a starlark.Value"

// unsupported is a value ToStarlark cannot convert: a Go type at path
// inside the event ("" for the event itself, then "[2]", `["key"]`), or
// a map whose keys are not strings.
type unsupported struct {
	path, typ string
	keys      bool
}

func (u *unsupported) Error() string { return "a " + u.typ + " is not supported" }

func (u *unsupported) explain(event any) error {
	switch {
	case u.path == "" && u.keys:
		return fmt.Errorf("a Go %T cannot be an event for a script: its keys are not strings (%s)", event, supported)
	case u.path == "":
		return fmt.Errorf("a Go %T cannot be an event for a script (%s)", event, supported)
	case u.keys:
		return fmt.Errorf("a Go %T cannot be an event for a script: %s is a %s, whose keys are not strings (%s)", event, u.path, u.typ, supported)
	}
	return fmt.Errorf("a Go %T cannot be an event for a script: %s is a %s (%s)", event, u.path, u.typ, supported)
}

// toStarlark converts v, found at path in the event.
func toStarlark(v any, path string) (starlark.Value, error) {
	switch v := v.(type) { // the common types, without reflection
	case starlark.Value:
		return v, nil
	case nil:
		return starlark.None, nil
	case string:
		return starlark.String(v), nil
	case []byte:
		return starlark.Bytes(v), nil
	case bool:
		return starlark.Bool(v), nil
	case int:
		return starlark.MakeInt(v), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case float64:
		return starlark.Float(v), nil
	case time.Time:
		return starlark.String(v.Format(time.RFC3339Nano)), nil
	case camel.Event:
		return starlark.String(v.Body), nil
	}
	return reflected(reflect.ValueOf(v), path)
}

// reflected converts the values of the Go types toStarlark has no case for.
func reflected(rv reflect.Value, path string) (starlark.Value, error) {
	switch rv.Kind() {
	case reflect.String:
		return starlark.String(rv.String()), nil
	case reflect.Bool:
		return starlark.Bool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return starlark.MakeInt64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return starlark.MakeUint64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return starlark.Float(rv.Float()), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return starlark.Bytes(rv.Bytes()), nil
		}
		elems := make([]starlark.Value, rv.Len())
		for i := range elems {
			e, err := element(rv.Index(i), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			elems[i] = e
		}
		l := starlark.NewList(elems)
		l.Freeze()
		return l, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, &unsupported{path: path, typ: rv.Type().String(), keys: true}
		}
		keys := make([]reflect.Value, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		d := starlark.NewDict(len(keys))
		for _, k := range keys {
			e, err := element(rv.MapIndex(k), fmt.Sprintf("%s[%q]", path, k.String()))
			if err != nil {
				return nil, err
			}
			_ = d.SetKey(starlark.String(k.String()), e) // cannot fail: the dict is not frozen yet and strings hash
		}
		d.Freeze()
		return d, nil
	}
	return nil, &unsupported{path: path, typ: rv.Type().String()}
}

// element converts an element of a slice or a map, found at path.
func element(rv reflect.Value, path string) (starlark.Value, error) {
	if rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return starlark.None, nil
		}
		rv = rv.Elem()
	}
	return toStarlark(rv.Interface(), path)
}

// AcceptEvent is the Accept function (see [engine.StreamConfig]) of every
// stream a script can see: the streams it makes and those a Go program
// gives it. It converts a Go event with ToStarlark and freezes it, so that
// every event on those streams is a frozen starlark.Value whoever appended
// it; an event ToStarlark cannot convert is refused at Append.
func AcceptEvent(ev engine.Event) (engine.Event, error) {
	if v, ok := ev.(starlark.Value); ok && v != starlark.None { // what scripts append
		v.Freeze()
		return v, nil
	}
	v, err := ToStarlark(ev)
	if err != nil {
		return nil, err
	}
	if v == starlark.None {
		return nil, nil // as a script's s << None: nothing is appended
	}
	v.Freeze()
	return v, nil
}

// FromStarlark converts a script's event to plain Go for Go subscribers:
// None is nil, strings, bytes, bools, ints (int64, or *big.Int-backed
// values as their decimal string when too large), floats, lists, tuples and
// dicts with string keys become string, []byte, bool, int64, float64, []any
// and map[string]any; an OutputEvent becomes its data, a Message the
// camel.Event it shows; any other value its Starlark text.
func FromStarlark(v starlark.Value) any {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.String:
		return string(v)
	case starlark.Bytes:
		return []byte(v)
	case starlark.Bool:
		return bool(v)
	case starlark.Int:
		if i, ok := v.Int64(); ok {
			return i
		}
		return v.String()
	case starlark.Float:
		return float64(v)
	case *starlark.List:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = FromStarlark(v.Index(i))
		}
		return out
	case starlark.Tuple:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = FromStarlark(e)
		}
		return out
	case *starlark.Dict:
		out := make(map[string]any, v.Len())
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return v.String()
			}
			out[string(k)] = FromStarlark(kv[1])
		}
		return out
	case *OutputEvent:
		return FromStarlark(v.Data)
	case *Message:
		return v.ev
	}
	return v.String()
}

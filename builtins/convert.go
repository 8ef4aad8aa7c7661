package builtins

import (
	"fmt"
	"sort"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
)

// ToStarlark converts an event appended from Go to the value a script sees.
// Starlark values pass unchanged; nil is None; strings, []byte, bools,
// integers and floats become their Starlark kinds; []any and map[string]any
// become (frozen) lists and dicts, recursively; a connector event becomes its
// body as a string. Anything else is an error naming its Go type.
func ToStarlark(v any) (starlark.Value, error) {
	switch v := v.(type) {
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
	case uint64:
		return starlark.MakeUint64(v), nil
	case int32:
		return starlark.MakeInt(int(v)), nil
	case float64:
		return starlark.Float(v), nil
	case float32:
		return starlark.Float(v), nil
	case camel.Event:
		return starlark.String(v.Body), nil
	case []any:
		elems := make([]starlark.Value, len(v))
		for i, e := range v {
			sv, err := ToStarlark(e)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		l := starlark.NewList(elems)
		l.Freeze()
		return l, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(v))
		for _, k := range keys {
			sv, err := ToStarlark(v[k])
			if err != nil {
				return nil, err
			}
			_ = d.SetKey(starlark.String(k), sv)
		}
		d.Freeze()
		return d, nil
	}
	return nil, fmt.Errorf("a Go %T cannot be an event for a script (use a string, number, bool, []byte, []any, map[string]any or a starlark.Value)", v)
}

// FromStarlark converts a script's event to plain Go for Go subscribers:
// None is nil, strings, bytes, bools, ints (int64, or *big.Int-backed
// values as their decimal string when too large), floats, lists, tuples and
// dicts with string keys become string, []byte, bool, int64, float64, []any
// and map[string]any; an OutputEvent becomes its data; any other value its
// Starlark text.
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
	}
	return v.String()
}

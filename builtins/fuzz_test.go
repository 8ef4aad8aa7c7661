package builtins

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
)

// FuzzEventBodies follows arbitrary bytes (not UTF-8, NUL, anything) the
// ways an event goes between connectors, scripts and Go: a source's event
// reaches a script as its body, and a script's string, bytes or
// OutputEvent reaches a sink with that body, its content type and its
// headers, unchanged; Go subscribers see the same bytes.
func FuzzEventBodies(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, contentType, header, value string) {
		// A source's event, as a script sees it, and on to a sink.
		seen, err := AcceptEvent(camel.Event{Body: body, ContentType: contentType, Headers: map[string]string{header: value}})
		require.NoError(t, err)
		require.Equal(t, starlark.String(body), seen, "a script sees the body")
		require.Equal(t, string(body), FromStarlark(seen.(starlark.Value)), "a Go subscriber sees the body")
		ev, err := encodeEvent(seen)
		require.NoError(t, err)
		requireEvent(t, body, "text/plain", nil, ev)

		// Bytes.
		ev, err = encodeEvent(starlark.Bytes(body))
		require.NoError(t, err)
		requireEvent(t, body, "application/octet-stream", nil, ev)
		back, err := ToStarlark(FromStarlark(starlark.Bytes(body)))
		require.NoError(t, err)
		require.Equal(t, starlark.Bytes(body), back)

		// An OutputEvent, made as a script makes it.
		headers := starlark.NewDict(1)
		require.NoError(t, headers.SetKey(starlark.String(header), starlark.String(value)))
		oe, err := starlark.Call(new(starlark.Thread), starlark.NewBuiltin("OutputEvent", makeOutputEvent),
			starlark.Tuple{starlark.String(body)}, []starlark.Tuple{{starlark.String("headers"), headers}})
		if !utf8.ValidString(header) || !utf8.ValidString(value) {
			// Headers travel as text: refused where they are made, the
			// value never shown.
			require.ErrorContains(t, err, "must be valid UTF-8 text")
			if len(value) >= 3 && utf8.ValidString(header) && !strings.Contains(header, value) {
				require.NotContains(t, err.Error(), value)
			}
			return
		}
		require.NoError(t, err)
		ev, err = encodeEvent(oe)
		require.NoError(t, err)
		requireEvent(t, body, "text/plain", map[string]string{header: value}, ev)
		require.Equal(t, string(body), FromStarlark(oe), "a Go subscriber sees an OutputEvent's data")
	})
}

// requireEvent checks what a sink gets.
func requireEvent(t *testing.T, body []byte, contentType string, headers map[string]string, ev camel.Event) {
	t.Helper()
	require.Equal(t, string(body), string(ev.Body), "the body is unchanged")
	require.Equal(t, contentType, ev.ContentType)
	require.Equal(t, headers, ev.Headers)
}

// FuzzEventValues decodes JSON text into a script's value and sends it the
// ways a value goes: to a sink as JSON (which decodes back to an equal
// value), to a Go subscriber and back (equal again), into a connector's
// config (scalars only, errors naming the parameter). Text that is not
// JSON is sent as a string. Nothing panics.
func FuzzEventValues(f *testing.F) {
	decode := json.Module.Members["decode"]
	f.Fuzz(func(t *testing.T, text string) {
		thread := new(starlark.Thread)
		v, err := starlark.Call(thread, decode, starlark.Tuple{starlark.String(text)}, nil)
		if err != nil {
			v = starlark.String(text)
		}
		v.Freeze()

		ev, err := encodeEvent(v)
		if err != nil {
			require.Contains(t, err.Error(), "cannot send a", "the error says what cannot be sent")
		} else if _, isString := v.(starlark.String); !isString {
			require.Equal(t, "application/json", ev.ContentType)
			// go.starlark.net's json.encode writes DEL as \x7f, which is
			// not JSON (reported; not fixed here).
			if !strings.Contains(string(ev.Body), `\x7f`) {
				again, err := starlark.Call(thread, decode, starlark.Tuple{starlark.String(ev.Body)}, nil)
				require.NoError(t, err, "a sink gets JSON: %s", ev.Body)
				requireEqual(t, v, again)
			}
		}

		if !hasBigInt(v) { // FromStarlark gives those as decimal text
			back, err := ToStarlark(FromStarlark(v))
			require.NoError(t, err)
			requireEqual(t, v, back)
		}

		if d, ok := v.(*starlark.Dict); ok {
			config := starlark.NewDict(d.Len() + 1)
			for _, kv := range d.Items() {
				require.NoError(t, config.SetKey(kv[0], kv[1]))
			}
			if _, hasKind, _ := config.Get(starlark.String("kind")); !hasKind {
				require.NoError(t, config.SetKey(starlark.String("kind"), starlark.String("timer-source")))
			}
			_, _, params, _, err := connectorConfig("source config", config)
			if err != nil {
				require.True(t, strings.HasPrefix(err.Error(), "source config"), err.Error())
				return
			}
			for name, p := range params {
				switch p.(type) {
				case string, int64, float64, bool:
				default:
					t.Fatalf("parameter %q is a %T", name, p)
				}
			}
		}
	})
}

// requireEqual checks that Starlark values are equal.
func requireEqual(t *testing.T, want, got starlark.Value) {
	t.Helper()
	eq, err := starlark.Equal(want, got)
	require.NoError(t, err)
	require.True(t, eq, "want %s, got %s", want, got)
}

// hasBigInt reports whether v holds an int that int64 does not.
func hasBigInt(v starlark.Value) bool {
	switch v := v.(type) {
	case starlark.Int:
		_, ok := v.Int64()
		return !ok
	case *starlark.List:
		for i := range v.Len() {
			if hasBigInt(v.Index(i)) {
				return true
			}
		}
	case *starlark.Dict:
		for _, kv := range v.Items() {
			if hasBigInt(kv[1]) {
				return true
			}
		}
	}
	return false
}

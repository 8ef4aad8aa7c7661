package plugins

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/rayvens/rayvens/camel"
)

// Event is an event as connectors see it: a body, a content type and
// string headers. Sources emit Event values into their stream.
type Event = camel.Event

// wireError says why ev cannot be sent to a plugin, or is nil. The
// protocol's strings (the content type, header names and values) must be
// valid UTF-8: a batch holding one that is not cannot be encoded at all,
// so such an event is refused before it joins one, and fails alone. The
// error names the header and never shows its value, which may be a
// secret.
func wireError(ev Event) error {
	if !utf8.ValidString(ev.ContentType) {
		return errors.New("the content type is not valid UTF-8")
	}
	valid := true
	for name, value := range ev.Headers {
		valid = valid && utf8.ValidString(name) && utf8.ValidString(value)
	}
	if valid {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(ev.Headers)) { // the same header named every time
		switch {
		case !utf8.ValidString(name):
			return fmt.Errorf("header name %q is not valid UTF-8", name)
		case !utf8.ValidString(ev.Headers[name]):
			return fmt.Errorf("header %q is not valid UTF-8", name)
		}
	}
	return nil
}

package wire

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/rayvens/rayvens/camel"
)

// CheckEvent says why ev cannot be sent over the wire (by the host to a
// sink, or by a plugin's source to the host), or is nil. The
// protocol's strings (the content type, header names and values) must be
// valid UTF-8: a batch holding one that is not cannot be encoded at all,
// so such an event is refused before it joins one, and fails alone. The
// error names the header and never shows its value, which may be a
// secret.
func CheckEvent(ev camel.Event) error {
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

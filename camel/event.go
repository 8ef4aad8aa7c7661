package camel

import (
	"encoding/json"
	"fmt"
)

// Event is an event as connectors see it: a body, its content type (e.g.
// "text/plain", "application/json") and string headers (e.g.
// "CamelFileName"), as a Camel message has them.
type Event struct {
	Body        []byte
	ContentType string
	Headers     map[string]string
}

// An Encoder turns a stream's event into what a sink writes.
type Encoder func(ev any) (Event, error)

// Encode is the [Encoder] for Go values: an Event as it is, a string as
// text, []byte as bytes, anything else as JSON.
func Encode(v any) (Event, error) {
	switch v := v.(type) {
	case Event:
		return v, nil
	case string:
		return Event{Body: []byte(v), ContentType: "text/plain"}, nil
	case []byte:
		return Event{Body: v, ContentType: "application/octet-stream"}, nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return Event{}, fmt.Errorf("cannot send a %T to a sink: %w", v, err)
	}
	return Event{Body: body, ContentType: "application/json"}, nil
}

package sdk

import "github.com/rayvens/rayvens/camel"

// eventsFromWire converts a batch from the wire.
func eventsFromWire(evs []camel.Event) []Event {
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = Event{Body: e.Body, ContentType: e.ContentType, Headers: e.Headers}
	}
	return out
}

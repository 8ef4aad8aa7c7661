package sdk

import (
	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
)

// toProto converts an event for the wire. The body is not copied: a source
// hands its event over when it emits it.
func (ev Event) toProto() *proto.Event {
	return wire.EventToProto(camel.Event{Body: ev.Body, ContentType: ev.ContentType, Headers: ev.Headers})
}

// eventsFromProto converts a batch from the wire.
func eventsFromProto(pes []*proto.Event) []Event {
	out := make([]Event, len(pes))
	for i, pe := range pes {
		e := wire.EventFromProto(pe)
		out[i] = Event{Body: e.Body, ContentType: e.ContentType, Headers: e.Headers}
	}
	return out
}

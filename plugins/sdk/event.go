package sdk

import "github.com/rayvens/rayvens/plugins/proto"

// toProto converts an event for the wire. The body is not copied: a source
// hands its event over when it emits it.
func (ev Event) toProto() *proto.Event {
	return &proto.Event{Body: ev.Body, ContentType: ev.ContentType, Headers: ev.Headers}
}

// eventsFromProto converts a batch from the wire.
func eventsFromProto(pes []*proto.Event) []Event {
	out := make([]Event, len(pes))
	for i, pe := range pes {
		out[i] = Event{Body: pe.GetBody(), ContentType: pe.GetContentType(), Headers: pe.GetHeaders()}
	}
	return out
}

package plugins

import "github.com/rayvens/rayvens/plugins/proto"

// Event is an event as connectors see it: a body, a content type and
// string headers.
type Event struct {
	Body        []byte
	ContentType string
	Headers     map[string]string
}

func fromProto(e *proto.Event) Event {
	return Event{Body: e.GetBody(), ContentType: e.GetContentType(), Headers: e.GetHeaders()}
}

func toProto(e Event) *proto.Event {
	return &proto.Event{Body: e.Body, ContentType: e.ContentType, Headers: e.Headers}
}

package sdktest

import (
	"fmt"

	protobuf "google.golang.org/protobuf/proto"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
	"github.com/rayvens/rayvens/plugins/sdk"
)

// overTheWire returns ev as the other end of the wire receives it: encoded
// and decoded as gRPC does. The body and headers are copies; empty ones
// are nil; Ack does not travel. An event the wire cannot carry (a header
// that is not UTF-8) is an error, as it would break the instance's stream.
func overTheWire(ev sdk.Event) (sdk.Event, error) {
	b, err := protobuf.Marshal(wire.EventToProto(camel.Event{Body: ev.Body, ContentType: ev.ContentType, Headers: ev.Headers}))
	if err != nil {
		return sdk.Event{}, fmt.Errorf("the event cannot be sent over the wire: %w", err)
	}
	var pe proto.Event
	if err := protobuf.Unmarshal(b, &pe); err != nil {
		return sdk.Event{}, fmt.Errorf("the event cannot be sent over the wire: %w", err)
	}
	e := wire.EventFromProto(&pe)
	return sdk.Event{Body: e.Body, ContentType: e.ContentType, Headers: e.Headers}, nil
}

package sdktest

import (
	"fmt"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/sdk"
)

// overTheWire returns ev as the other end of the wire receives it: encoded
// and decoded in a batch as the host and the SDK do. The body and headers
// are copies; empty ones are nil; Ack does not travel. An event the wire
// cannot carry (a header that is not UTF-8) is an error, as it would break
// the instance's stream.
func overTheWire(ev sdk.Event) (sdk.Event, error) {
	var codec wire.Codec
	data, err := codec.Marshal(&wire.SinkBatch{Batch: wire.Batch{Seq: 1, Events: []camel.Event{{Body: ev.Body, ContentType: ev.ContentType, Headers: ev.Headers}}}})
	if err != nil {
		return sdk.Event{}, fmt.Errorf("the event cannot be sent over the wire: %w", err)
	}
	defer data.Free()
	var back wire.SinkBatch
	if err := codec.Unmarshal(data, &back); err != nil {
		return sdk.Event{}, fmt.Errorf("the event cannot be sent over the wire: %w", err)
	}
	e := back.Events[0]
	return sdk.Event{Body: e.Body, ContentType: e.ContentType, Headers: e.Headers}, nil
}

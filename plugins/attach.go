package plugins

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rayvens/rayvens/engine"
)

// EngineSource adapts the source instance to an [engine.Source] whose
// events are [Event] values, for Go programs that attach connectors to
// engine streams: stream.AddSource(src.Name(), src.EngineSource()).
func (s *Source) EngineSource() engine.Source {
	return engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		return s.Run(ctx, func(ctx context.Context, ev Event) error { return emit(ctx, ev) })
	})
}

// Subscriber adapts the sink instance to an [engine.Subscriber] with
// acknowledgements: stream.Subscribe(sink.Name(), sink.Subscriber()). Each
// event is encoded with [EncodeEvent]; the stream counts it in flight until
// the plugin has acknowledged it.
func (s *Sink) Subscriber() engine.Subscriber {
	return engine.Async(s.name, func(ev engine.Event, done func(error)) {
		pe, err := EncodeEvent(ev)
		if err != nil {
			done(err)
			return
		}
		if err := s.Deliver(s.ctx, pe, done); err != nil {
			done(err)
		}
	})
}

// EncodeEvent turns a Go value into a connector event: an Event as it is, a
// string as text, []byte as bytes, anything else as JSON.
func EncodeEvent(v any) (Event, error) {
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
		return Event{}, fmt.Errorf("cannot encode a %T for a sink: %v", v, err)
	}
	return Event{Body: body, ContentType: "application/json"}, nil
}

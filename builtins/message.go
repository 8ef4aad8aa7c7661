package builtins

import (
	"context"
	"fmt"
	"sort"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// Message is a source's event with its metadata, as a script sees it when
// the source config has with_headers=True: .body, the body as a string
// (what the script gets by default), .headers, a frozen dict of the
// connector's headers (for example kafka.KEY or CamelFileName), and
// .content_type. Passed to a sink, a Message sends its body, content type
// and headers, as Camel passes a message on.
type Message struct {
	ev      camel.Event
	headers *starlark.Dict
}

var (
	_ starlark.HasAttrs = (*Message)(nil)
	_ starlark.Value    = (*Message)(nil)
)

// newMessage makes the Message of ev; its headers dict is built once, in
// the order of the names, so that printing it always reads the same.
func newMessage(ev camel.Event) *Message {
	names := make([]string, 0, len(ev.Headers))
	for k := range ev.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	headers := starlark.NewDict(len(names))
	for _, k := range names {
		_ = headers.SetKey(starlark.String(k), starlark.String(ev.Headers[k]))
	}
	headers.Freeze()
	return &Message{ev: ev, headers: headers}
}

func (m *Message) String() string {
	return fmt.Sprintf("Message(%s, content_type=%s, headers=%s)",
		starlark.String(m.ev.Body), starlark.String(m.ev.ContentType), m.headers)
}
func (m *Message) Type() string         { return "Message" }
func (m *Message) Freeze()              {}
func (m *Message) Truth() starlark.Bool { return starlark.True }
func (m *Message) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: Message")
}

// Attr returns body, headers or content_type.
func (m *Message) Attr(name string) (starlark.Value, error) {
	switch name {
	case "body":
		return starlark.String(m.ev.Body), nil
	case "headers":
		return m.headers, nil
	case "content_type":
		return starlark.String(m.ev.ContentType), nil
	}
	return nil, nil
}

// AttrNames lists body, content_type and headers.
func (m *Message) AttrNames() []string { return []string{"body", "content_type", "headers"} }

// Event returns the connector's event the Message shows.
func (m *Message) Event() camel.Event { return m.ev }

// withHeaders wraps a connector's source so that its events reach the
// stream as Messages, their acknowledgements untouched.
type withHeaders struct{ src engine.Source }

func (w withHeaders) Run(ctx context.Context, emit func(context.Context, engine.Event) error) error {
	return w.src.Run(ctx, func(ctx context.Context, ev engine.Event) error {
		if a, ok := ev.(engine.Acked); ok {
			a.Event = asMessage(a.Event)
			return emit(ctx, a)
		}
		return emit(ctx, asMessage(ev))
	})
}

// asMessage makes a Message of a connector's event; any other value (a
// source of a Go program's own Connectors may emit anything) is left as
// it is.
func asMessage(ev engine.Event) engine.Event {
	if c, ok := ev.(camel.Event); ok {
		return newMessage(c)
	}
	return ev
}

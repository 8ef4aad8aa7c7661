package starlark_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// headerConnectors has a source that emits events with headers, each with
// an acknowledgement it records, and a sink that records what the script
// sent it, encoded as a plugin sink gets it.
type headerConnectors struct {
	events []camel.Event
	mu     sync.Mutex
	acks   []error
	sent   []camel.Event
	// emitted, when set, is closed once the source has emitted every event.
	emitted chan struct{}
}

func (c *headerConnectors) Check(context.Context, string, camel.Direction, map[string]any) error {
	return nil
}

func (c *headerConnectors) OpenSource(context.Context, string, string, map[string]any) (engine.Source, error) {
	return engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		for _, ev := range c.events {
			if err := emit(ctx, engine.WithAck(ev, c.ack)); err != nil {
				return err
			}
		}
		if c.emitted != nil {
			close(c.emitted)
		}
		return nil
	}), nil
}

func (c *headerConnectors) ack(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acks = append(c.acks, err)
}

func (c *headerConnectors) OpenSink(_ context.Context, _, _ string, _ map[string]any, encode camel.Encoder) (engine.Sink, error) {
	return &recordingSink{c: c, encode: encode}, nil
}

type recordingSink struct {
	c      *headerConnectors
	encode camel.Encoder
}

func (s *recordingSink) Deliver(_ context.Context, ev engine.Event, done func(error)) error {
	out, err := s.encode(ev)
	if err == nil {
		s.c.mu.Lock()
		s.c.sent = append(s.c.sent, out)
		s.c.mu.Unlock()
	}
	done(err)
	return nil
}

func (s *recordingSink) Close(context.Context) error { return nil }

// TestSourceWithHeaders: with_headers=True makes each event of a source a
// Message with its body, content type and headers; passed to a sink it
// goes on as it came, headers included; the source's acknowledgements are
// those of the events. Without it, a script gets the body string.
func TestSourceWithHeaders(t *testing.T) {
	events := []camel.Event{
		{Body: []byte("order 1"), ContentType: "text/plain", Headers: map[string]string{"kafka.KEY": "k1", "kafka.OFFSET": "7"}},
		{Body: []byte(`{"n": 2}`), ContentType: "application/json", Headers: map[string]string{"kafka.KEY": "k2", "kafka.OFFSET": "8"}},
	}
	conns := &headerConnectors{events: events}
	var stdout syncBuffer
	err := rstarlark.Run(context.Background(), "headers.star", `
def show(m):
    print(type(m), m.body, m.content_type, m.headers["kafka.KEY"], sorted(m.headers.keys()), dir(m))
    if m.headers["kafka.KEY"] == "k1":
        print(m)
        print(json.decode(m.body) if m.content_type == "application/json" else "text")

# The source comes first: it starts once the top level is done.
s = Stream("in", source_config=dict(kind="h-source", with_headers=True))
s >> show
s.add_sink(dict(kind="h-sink"))
plain = Stream("plain")
plain >> (lambda e: print(type(e), e))
plain.add_source(dict(kind="h-source"))
`, rstarlark.Options{Stdout: &stdout, Stderr: &stdout, Connectors: conns, DrainTimeout: 10 * time.Second})
	require.NoError(t, err, stdout.String())
	out := stdout.String()
	require.Contains(t, out, `Message order 1 text/plain k1 ["kafka.KEY", "kafka.OFFSET"] ["body", "content_type", "headers"]`)
	require.Contains(t, out, `Message("order 1", content_type="text/plain", headers={"kafka.KEY": "k1", "kafka.OFFSET": "7"})`)
	require.Contains(t, out, `Message {"n": 2} application/json k2`)
	require.Contains(t, out, "string order 1\n")

	conns.mu.Lock()
	require.Equal(t, events, conns.sent, "the sink got each event as it came: body, content type, headers")
	require.Equal(t, []error{nil, nil, nil, nil}, conns.acks, "every event of both sources is done")
	conns.mu.Unlock()

	// A Message is frozen: changing its headers fails that event, and the
	// source learns it.
	failing := &headerConnectors{events: events}
	var frozenOut syncBuffer
	err = rstarlark.Run(context.Background(), "frozen.star", `
def change(m):
    m.headers["x"] = "y"
s = Stream("in")
s >> change
s.add_source(dict(kind="h-source", with_headers=True))
`, rstarlark.Options{Stdout: &frozenOut, Stderr: &frozenOut, Connectors: failing, DrainTimeout: 10 * time.Second})
	require.Error(t, err, "the callback's failures are the run's")
	require.Contains(t, frozenOut.String(), "cannot insert into frozen hash table")
	failing.mu.Lock()
	defer failing.mu.Unlock()
	require.Len(t, failing.acks, 2)
	for _, err := range failing.acks {
		var se *engine.StreamError
		require.True(t, errors.As(err, &se), "the event is acknowledged as failed: %v", err)
	}
}

// TestWithHeadersErrors: with_headers takes a bool and only on sources.
func TestWithHeadersErrors(t *testing.T) {
	for script, want := range map[string]string{
		`Stream("s", source_config=dict(kind="h-source", with_headers="yes"))`: `source config: with_headers must be True or False, got string`,
		`Stream("s", sink_config=dict(kind="h-sink", with_headers=True))`:      `sink config: with_headers is for sources: a sink takes the headers of the events it gets (see OutputEvent)`,
	} {
		err := rstarlark.Run(context.Background(), "bad.star", script, rstarlark.Options{Connectors: &headerConnectors{}})
		require.ErrorContains(t, err, want)
		require.ErrorContains(t, err, "bad.star:1:")
	}
}

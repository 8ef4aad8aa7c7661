package starlark_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/builtins"
	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// graphConnectors declare their kinds (builtins.Describer) in a catalog:
// tick-source emits its message every millisecond until stopped,
// once-source emits it once and ends, out-sink counts what it gets. Two
// parameters are secret.
type graphConnectors struct {
	catalog *camel.Catalog
	mu      sync.Mutex
	got     int
}

func newGraphConnectors(t *testing.T) *graphConnectors {
	source := func(name string) camel.Kind {
		return camel.Kind{Name: name, Direction: camel.Source, Params: []camel.Param{
			{Name: "message", Type: camel.String, Required: true},
			{Name: "token", Type: camel.String, Secret: true, Aliases: []string{"api_token"}},
		}}
	}
	c, err := camel.NewCatalog(source("tick-source"), source("once-source"), camel.Kind{Name: "out-sink", Direction: camel.Sink, Params: []camel.Param{
		{Name: "channel", Type: camel.String, Required: true},
		{Name: "webhookUrl", Type: camel.String, Required: true, Secret: true, Aliases: []string{"webhook_url"}},
	}})
	require.NoError(t, err)
	return &graphConnectors{catalog: c}
}

func (c *graphConnectors) Check(_ context.Context, kind string, dir camel.Direction, config map[string]any) error {
	_, err := c.catalog.Validate(kind, dir, config)
	return err
}

func (c *graphConnectors) Kind(_ context.Context, name string) (camel.Kind, error) {
	if k, ok := c.catalog.Lookup(name); ok {
		return k, nil
	}
	return camel.Kind{}, &camel.UnknownKindError{Kind: name}
}

func (c *graphConnectors) OpenSource(ctx context.Context, kind, _ string, config map[string]any) (engine.Source, error) {
	if err := c.Check(ctx, kind, camel.Source, config); err != nil {
		return nil, err
	}
	ev := camel.Event{Body: []byte(config["message"].(string)), ContentType: "text/plain"}
	return engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		for {
			if err := emit(ctx, ev); err != nil || kind == "once-source" {
				return err
			}
			if err := engine.Sleep(ctx, time.Millisecond); err != nil {
				return nil
			}
		}
	}), nil
}

func (c *graphConnectors) OpenSink(ctx context.Context, kind, _ string, config map[string]any, _ camel.Encoder) (engine.Sink, error) {
	if err := c.Check(ctx, kind, camel.Sink, config); err != nil {
		return nil, err
	}
	return countingSink{c}, nil
}

type countingSink struct{ c *graphConnectors }

func (s countingSink) Deliver(_ context.Context, _ engine.Event, done func(error)) error {
	s.c.mu.Lock()
	s.c.got++
	s.c.mu.Unlock()
	done(nil)
	return nil
}

func (s countingSink) Close(context.Context) error { return nil }

// graphScript has one of each part of a pipeline.
const graphScript = `
def is_big(e):
    return e if int(e) > 10 else None

def count(state, e):
    return 1

def work(batch):
    return len(batch)

dead = Stream("dead", sink_config = dict(kind = "out-sink", channel = "#dead", webhook_url = "https://hooks/SECRET1"))
orders = Stream("orders", source_config = dict(kind = "tick-source", message = "42", token = "SECRET2"), operator = is_big, dead_letter = dead)
batches = Stream("batches", batch_size = 10, batch_timeout = 0.5)
alerts = Stream("alerts")
orders >> batches
orders >> Actor(count) >> (lambda n: n) >> alerts
orders >> print  # its derived stream, which nothing reads, is not shown
batches >> Task(work, parallelism = 2) >> alerts
alerts.add_sink(dict(kind = "out-sink", name = "pager", channel = "#ops", webhookUrl = "https://hooks/SECRET3"))
alerts >> (lambda e: None)
alerts.unsubscribe("lambda")  # gone, and its derived stream too
orders.disconnect_all()  # a check skips it: everything stays
`

// TestGraphOf: the graph of a script's top level, evaluated as a check
// does, is exactly what it built; secret values are not in it.
func TestGraphOf(t *testing.T) {
	g, err := rstarlark.GraphOf(t.Context(), "pipeline.star", graphScript, rstarlark.Options{Connectors: newGraphConnectors(t)})
	require.NoError(t, err)
	want := builtins.Graph{Streams: []builtins.GraphStream{
		{Name: "dead",
			Sinks:       []builtins.GraphConnector{{Name: "dead-out-sink", Kind: "out-sink", Params: map[string]string{"channel": "#dead", "webhook_url": "(secret)"}}},
			Subscribers: []builtins.GraphSubscriber{{Name: "dead-out-sink", Kind: "sink"}}},
		{Name: "orders", Operators: []string{"is_big"}, DeadLetter: "dead",
			Sources: []builtins.GraphConnector{{Name: "orders-tick-source", Kind: "tick-source", Params: map[string]string{"message": "42", "token": "(secret)"}}},
			Subscribers: []builtins.GraphSubscriber{
				{Name: "batches", Kind: "stream", To: "batches"},
				{Name: "count.append", Kind: "actor", To: "orders>>count.append"},
				{Name: "print", Kind: "function"},
			}},
		{Name: "batches", Operators: []string{"batch(10, 500ms)"},
			Subscribers: []builtins.GraphSubscriber{{Name: "work", Kind: "task", To: "batches>>work"}}},
		{Name: "alerts",
			Sinks:       []builtins.GraphConnector{{Name: "pager", Kind: "out-sink", Params: map[string]string{"channel": "#ops", "webhookUrl": "(secret)"}}},
			Subscribers: []builtins.GraphSubscriber{{Name: "pager", Kind: "sink"}}},
		{Name: "orders>>count.append", DerivedFrom: "orders",
			Subscribers: []builtins.GraphSubscriber{{Name: "lambda", Kind: "function", To: "orders>>count.append>>lambda"}}},
		{Name: "orders>>count.append>>lambda", DerivedFrom: "orders>>count.append",
			Subscribers: []builtins.GraphSubscriber{{Name: "alerts", Kind: "stream", To: "alerts"}}},
		{Name: "batches>>work", DerivedFrom: "batches",
			Subscribers: []builtins.GraphSubscriber{{Name: "alerts", Kind: "stream", To: "alerts"}}},
	}}
	require.Equal(t, want, g)
	b, err := json.Marshal(g)
	require.NoError(t, err)
	require.NotContains(t, string(b), "SECRET")

	// Connectors that cannot say which parameters are secret: none shown.
	g, err = rstarlark.GraphOf(t.Context(), "headers.star", `Stream("s", source_config = dict(kind = "h-source", token = "SECRET"))`,
		rstarlark.Options{Connectors: &headerConnectors{}})
	require.NoError(t, err)
	require.Equal(t, builtins.Graph{Streams: []builtins.GraphStream{
		{Name: "s", Sources: []builtins.GraphConnector{{Name: "s-h-source", Kind: "h-source"}}},
	}}, g)
}

// TestGraphOfErrors: a script that fails has an error, with its position,
// and no graph; one whose top level runs past CheckSteps has the graph it
// built until then.
func TestGraphOfErrors(t *testing.T) {
	conns := newGraphConnectors(t)
	_, err := rstarlark.GraphOf(t.Context(), "bad.star", "s = Stream(\"s\")\ns.add_sink(dict(kind = \"out-sink\", channel = \"#c\"))\n", rstarlark.Options{Connectors: conns})
	var e *rstarlark.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "bad.star:2:11", e.Pos.String())
	require.Contains(t, e.Msg, `out-sink: missing required parameter "webhookUrl"`)

	g, err := rstarlark.GraphOf(t.Context(), "loop.star", "s = Stream(\"s\")\ns >> print\nfor i in range(100000000):\n    s << i\n", rstarlark.Options{Connectors: conns})
	require.NoError(t, err)
	require.Equal(t, []builtins.GraphStream{{Name: "s", Subscribers: []builtins.GraphSubscriber{{Name: "print", Kind: "function"}}}}, g.Streams)
}

// TestGraphLive: the graph of a running script follows it, and may be
// read from any goroutine while events flow: a sink disconnected, a
// subscription removed, a source that ended are no longer in it.
func TestGraphLive(t *testing.T) {
	conns := newGraphConnectors(t)
	var out syncBuffer
	s, err := rstarlark.New(rstarlark.Options{Connectors: conns, Stdout: &out, Stderr: &out})
	require.NoError(t, err)
	require.Equal(t, builtins.Graph{Streams: []builtins.GraphStream{}}, s.Graph(), "before Start")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// Read the graph all along, as the admin server does.
	reading := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-reading:
				return
			default:
				_ = s.Graph()
			}
		}
	})
	defer func() { close(reading); readers.Wait() }()

	err = s.Start(ctx, "live.star", `
s = Stream("s", source_config = dict(kind = "tick-source", message = "a"))
s.add_source(dict(kind = "once-source", message = "b"))
s.add_sink(dict(kind = "out-sink", name = "keep", channel = "#c", webhookUrl = "https://SECRET"))
s.add_sink(dict(kind = "out-sink", name = "gone", channel = "#c", webhookUrl = "https://SECRET"))
t = Stream("t")
s >> t
def f(e):
    return e
s >> f >> t
s.unsubscribe("t")
s.disconnect_sink("gone")
`)
	require.NoError(t, err, out.String())
	sink := builtins.GraphConnector{Name: "keep", Kind: "out-sink", Params: map[string]string{"channel": "#c", "webhookUrl": "(secret)"}}
	tick := builtins.GraphConnector{Name: "s-tick-source", Kind: "tick-source", Params: map[string]string{"message": "a"}}
	want := builtins.Graph{Streams: []builtins.GraphStream{
		{Name: "s", Sources: []builtins.GraphConnector{tick}, Sinks: []builtins.GraphConnector{sink},
			Subscribers: []builtins.GraphSubscriber{{Name: "keep", Kind: "sink"}, {Name: "f", Kind: "function", To: "s>>f"}}},
		{Name: "t"},
		{Name: "s>>f", DerivedFrom: "s", Subscribers: []builtins.GraphSubscriber{{Name: "t", Kind: "stream", To: "t"}}},
	}}
	// The once-source leaves once it has emitted its event.
	require.Eventually(t, func() bool { return len(s.Graph().Streams[0].Sources) == 1 }, 10*time.Second, time.Millisecond)
	require.Equal(t, want, s.Graph())
	require.Eventually(t, func() bool {
		conns.mu.Lock()
		defer conns.mu.Unlock()
		return conns.got > 10
	}, 10*time.Second, time.Millisecond, "events flow to the sink")
	cancel()
	require.NoError(t, s.Wait(), out.String())
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("the run ended before it was stopped")
	}
}

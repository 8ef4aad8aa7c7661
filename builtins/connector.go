package builtins

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// Connectors is what scripts need from a connector implementation: check a
// config, open a source, open a sink. The rayvens command passes the
// plugin host (plugins.ScriptConnectors); a Go program may pass its own,
// or none.
//
// An implementation that can fail for good while the run goes on (a plugin
// that crashed too often) also implements [Failing].
type Connectors interface {
	// Check validates config for a kind of direction dir, opening nothing.
	Check(ctx context.Context, kind string, dir camel.Direction, config map[string]any) error
	// OpenSource opens a source instance named name; the stream starts it.
	OpenSource(ctx context.Context, kind, name string, config map[string]any) (engine.Source, error)
	// OpenSink opens a sink instance named name, which turns each event
	// into what it writes with encode.
	OpenSink(ctx context.Context, kind, name string, config map[string]any, encode camel.Encoder) (engine.Sink, error)
}

// Failing is implemented by [Connectors] that can fail for good: Failed is
// closed then, and Err says why; the run stops with that error.
type Failing interface {
	Failed() <-chan struct{}
	Err() error
}

// connectors tracks the connector instances a run opened, so they can be
// found by name and closed at the end.
type connectors struct {
	mu    sync.Mutex
	sinks map[*engine.Stream]map[string]engine.Sink
	seq   map[string]int
	fakes *fakes // the stand-ins of a test (see fake_connectors)
}

// connectorConfig splits a script's connector dict into kind, instance name
// and parameters (as Go values); a source config may also have
// with_headers, a Rayvens option like kind and name, not a parameter.
func connectorConfig(what string, v starlark.Value) (kind, name string, params map[string]any, headers bool, err error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return "", "", nil, false, fmt.Errorf("%s must be a dict with a kind, e.g. dict(kind=\"timer-source\", ...), got %s", what, v.Type())
	}
	params = map[string]any{}
	for _, kv := range d.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return "", "", nil, false, fmt.Errorf("%s: keys must be strings, got %s", what, kv[0].Type())
		}
		switch string(k) {
		case "with_headers":
			if what != "source config" {
				return "", "", nil, false, fmt.Errorf("%s: with_headers is for sources: a sink takes the headers of the events it gets (see OutputEvent)", what)
			}
			b, ok := kv[1].(starlark.Bool)
			if !ok {
				return "", "", nil, false, fmt.Errorf("%s: with_headers must be True or False, got %s", what, kv[1].Type())
			}
			headers = bool(b)
			continue
		case "kind", "name":
			s, ok := kv[1].(starlark.String)
			if !ok {
				return "", "", nil, false, fmt.Errorf("%s: %s must be a string, got %s", what, k, kv[1].Type())
			}
			if k == "kind" {
				kind = string(s)
			} else {
				name = string(s)
			}
			continue
		}
		gv, err := goValue(kv[1])
		if err != nil {
			return "", "", nil, false, fmt.Errorf("%s: parameter %q %w", what, string(k), err)
		}
		params[string(k)] = gv
	}
	if kind == "" {
		return "", "", nil, false, fmt.Errorf("%s has no kind, e.g. dict(kind=\"timer-source\", ...)", what)
	}
	return kind, name, params, headers, nil
}

// goValue converts a parameter value; connectors take scalars only.
func goValue(v starlark.Value) (any, error) {
	switch v := v.(type) {
	case starlark.String:
		return string(v), nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		if i, ok := v.Int64(); ok {
			return i, nil
		}
		return nil, fmt.Errorf("is too large")
	case starlark.Float:
		return float64(v), nil
	}
	return nil, fmt.Errorf("must be a string, number or boolean, got %s", v.Type())
}

func (rt *Runtime) instanceName(s *Stream, kind, name string) string {
	if name != "" {
		return name
	}
	rt.conns.mu.Lock()
	defer rt.conns.mu.Unlock()
	if rt.conns.seq == nil {
		rt.conns.seq = map[string]int{}
	}
	base := s.s.Name() + "-" + kind
	rt.conns.seq[base]++
	if n := rt.conns.seq[base]; n > 1 {
		return fmt.Sprintf("%s-%d", base, n)
	}
	return base
}

// addSource opens a source instance and connects it to s.
func (s *Stream) addSource(config starlark.Value) (string, error) {
	rt := s.rt
	if fake, ok := config.(*FakeSource); ok { // fake_source() in a test
		name := rt.instanceName(s, fakeSourceKind, "")
		if rt.cfg.DryRun {
			return name, nil
		}
		return s.s.AddSource(name, rt.holdUntilStarted(fake))
	}
	conns := rt.cfg.Connectors
	if conns == nil {
		return "", ErrNoConnectors
	}
	kind, name, params, headers, err := connectorConfig("source config", config)
	if err != nil {
		return "", err
	}
	name = rt.instanceName(s, kind, name)
	if rt.cfg.DryRun {
		return name, conns.Check(rt.cfg.Stop, kind, camel.Source, params)
	}
	src, err := rt.openSource(conns, s, kind, name, params)
	if err != nil {
		return "", err
	}
	// Its events are camel.Event values, seen by scripts as their body
	// (see ToStarlark), or as Messages with their headers.
	if headers {
		src = withHeaders{src}
	}
	return s.s.AddSource(name, rt.holdUntilStarted(src))
}

// addSink opens a sink instance and subscribes it to s.
func (s *Stream) addSink(config starlark.Value) (string, error) {
	rt := s.rt
	conns := rt.cfg.Connectors
	fake := fakeSink(config) // fake_sink() in a test
	if conns == nil && fake == nil {
		return "", ErrNoConnectors
	}
	kind, name, params := fakeSinkKind, "", map[string]any(nil)
	if fake == nil {
		var err error
		if kind, name, params, _, err = connectorConfig("sink config", config); err != nil {
			return "", err
		}
	}
	name = rt.instanceName(s, kind, name)
	for _, sub := range s.s.Subscriptions() {
		if sub == name {
			return "", fmt.Errorf("stream %q already has a subscriber named %q", s.s.Name(), name)
		}
	}
	if rt.cfg.DryRun && fake == nil {
		return name, conns.Check(rt.cfg.Stop, kind, camel.Sink, params)
	}
	var sink engine.Sink = fake
	var err error
	if fake == nil {
		if sink, err = rt.openSink(conns, s, kind, name, params); err != nil {
			return "", err
		}
	}
	// On a cluster stream, the sink gets every event of the stream, from
	// a subscription of its own (named after it) and its local stream.
	target := s.s
	if s.shared != nil {
		target, _, err = s.shared.subscribe(name, false, func(in *engine.Stream) (*engine.Stream, error) {
			return in.Subscribe(name, engine.ToSink(name, sink))
		})
	} else {
		_, err = s.s.Subscribe(name, engine.ToSink(name, sink))
	}
	if err != nil {
		_ = sink.Close(context.Background())
		return "", err
	}
	rt.conns.mu.Lock()
	if rt.conns.sinks == nil {
		rt.conns.sinks = map[*engine.Stream]map[string]engine.Sink{}
	}
	if rt.conns.sinks[target] == nil {
		rt.conns.sinks[target] = map[string]engine.Sink{}
	}
	rt.conns.sinks[target][name] = sink
	rt.conns.mu.Unlock()
	return name, nil
}

// encodeEvent is the [camel.Encoder] of script values: a string as text,
// bytes as bytes, a Message as it came (body, content type, headers), an
// OutputEvent as its data with its headers, anything
// else as JSON. Events appended from Go are converted first (ToStarlark).
func encodeEvent(ev any) (camel.Event, error) {
	v, err := ToStarlark(ev)
	if err != nil {
		return camel.Event{}, err
	}
	return sinkEvent(v)
}

func sinkEvent(v starlark.Value) (camel.Event, error) {
	switch v := v.(type) {
	case starlark.String:
		return camel.Event{Body: []byte(v), ContentType: "text/plain"}, nil
	case starlark.Bytes:
		return camel.Event{Body: []byte(v), ContentType: "application/octet-stream"}, nil
	case *Message:
		return v.ev, nil
	case *OutputEvent:
		ev, err := sinkEvent(v.Data)
		if err != nil {
			return ev, err
		}
		ev.Headers = v.Headers
		return ev, nil
	}
	thread := &starlark.Thread{Name: "encode"}
	out, err := starlark.Call(thread, json.Module.Members["encode"], starlark.Tuple{v}, nil)
	if err != nil {
		return camel.Event{}, fmt.Errorf("cannot send a %s to a sink: %w", v.Type(), err)
	}
	return camel.Event{Body: []byte(out.(starlark.String)), ContentType: "application/json"}, nil
}

// ErrNoConnectors is the error of a script that uses a connector in a
// program that gave it none (Config.Connectors is nil).
var ErrNoConnectors = errors.New("connectors are not available in this program")

// closeSinks unsubscribes and closes the sinks of the given streams (all
// when nil), waiting for their acknowledgements within ctx.
func (rt *Runtime) closeSinks(ctx context.Context, streams []*engine.Stream) error {
	type attached struct {
		stream *engine.Stream
		name   string
		sink   engine.Sink
	}
	rt.conns.mu.Lock()
	var sinks []attached
	collect := func(s *engine.Stream) {
		names := make([]string, 0, len(rt.conns.sinks[s]))
		for n := range rt.conns.sinks[s] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			sinks = append(sinks, attached{s, n, rt.conns.sinks[s][n]})
		}
		delete(rt.conns.sinks, s)
	}
	if streams == nil {
		for s := range rt.conns.sinks {
			collect(s)
		}
	} else {
		for _, s := range streams {
			collect(s)
		}
	}
	rt.conns.mu.Unlock()
	var first error
	for _, a := range sinks {
		// Later events on the stream no longer go to a closed sink.
		_ = a.stream.Unsubscribe(a.name)
		if err := a.sink.Close(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// CloseConnectors closes every sink the script opened, once the engine has
// drained; the host is closed by its owner afterwards.
func (rt *Runtime) CloseConnectors(ctx context.Context) error { return rt.closeSinks(ctx, nil) }

// disconnectSink drains s, removes the sink named name and closes it.
func (s *Stream) disconnectSink(ctx context.Context, name string) error {
	rt := s.rt
	if s.shared != nil {
		return s.disconnectSharedSink(ctx, name)
	}
	rt.conns.mu.Lock()
	sink := rt.conns.sinks[s.s][name]
	rt.conns.mu.Unlock()
	if sink == nil {
		return fmt.Errorf("stream %q has no sink named %q", s.s.Name(), name)
	}
	if err := s.s.Unsubscribe(name); err != nil {
		return err
	}
	// Events appended before Unsubscribe still go to the sink: wait for
	// them (and their acknowledgements) before closing it. If that is
	// interrupted, the sink stays listed and is closed at the end of the run.
	if err := s.s.Drain(ctx); err != nil {
		return err
	}
	err := sink.Close(ctx)
	rt.conns.mu.Lock()
	delete(rt.conns.sinks[s.s], name)
	rt.conns.mu.Unlock()
	return err
}

// disconnectSharedSink stops the sink's subscription of a cluster stream in
// this process (it stays in the cluster, for a later run), drains its
// stream and closes the sink.
func (s *Stream) disconnectSharedSink(ctx context.Context, name string) error {
	rt := s.rt
	var in *engine.Stream
	rt.conns.mu.Lock()
	for _, es := range s.shared.streams() {
		if rt.conns.sinks[es][name] != nil {
			in = es
		}
	}
	rt.conns.mu.Unlock()
	if in == nil {
		return fmt.Errorf("stream %q has no sink named %q", s.s.Name(), name)
	}
	if err := s.shared.unsubscribe(ctx, name); err != nil {
		return err
	}
	if err := in.Drain(ctx); err != nil {
		return err
	}
	return rt.closeSinks(ctx, []*engine.Stream{in})
}

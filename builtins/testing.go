package builtins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// DefaultDrainWait is how long drain() waits for the pipeline of a test
// to be idle when it is given no timeout.
const DefaultDrainWait = 10 * time.Second

// TestPredeclared returns the names test files (*_test.star) see besides
// those of Predeclared: the assert module, collect(stream), drain(),
// fake_source(events), fake_sink(), fake_connectors(sources={}) and
// sink_events(name). See docs/testing.md.
func (rt *Runtime) TestPredeclared() starlark.StringDict {
	return starlark.StringDict{
		"assert":          assertModule,
		"collect":         starlark.NewBuiltin("collect", rt.collect),
		"drain":           starlark.NewBuiltin("drain", rt.drain),
		"fake_source":     starlark.NewBuiltin("fake_source", makeFakeSource),
		"fake_sink":       starlark.NewBuiltin("fake_sink", makeFakeSink),
		"fake_connectors": starlark.NewBuiltin("fake_connectors", rt.fakeConnectors),
		"sink_events":     starlark.NewBuiltin("sink_events", rt.sinkEvents),
	}
}

// Events is the list-like value of collect(stream) and fake_sink(): the
// events recorded so far, in the order they came. Subscribers and sinks
// add to it from the engine's goroutines while the test reads it, so it
// has a lock of its own and is never frozen; its elements are frozen
// events. assert.eq compares it as the list of its events.
type Events struct {
	kind string // "collect" or "fake_sink"
	mu   sync.Mutex
	evs  []starlark.Value
}

var (
	_ starlark.Indexable = (*Events)(nil)
	_ starlark.Sequence  = (*Events)(nil)
	_ starlark.Container = (*Events)(nil)
	_ engine.Sink        = (*Events)(nil)
)

func (e *Events) add(v starlark.Value) {
	e.mu.Lock()
	e.evs = append(e.evs, v)
	e.mu.Unlock()
}

// snapshot returns the events so far as a frozen list.
func (e *Events) snapshot() *starlark.List {
	e.mu.Lock()
	l := starlark.NewList(append([]starlark.Value(nil), e.evs...))
	e.mu.Unlock()
	l.Freeze()
	return l
}

func (e *Events) String() string        { return e.snapshot().String() }
func (e *Events) Type() string          { return e.kind }
func (e *Events) Freeze()               {} // the engine adds to it after the top level; its lock guards it
func (e *Events) Truth() starlark.Bool  { return e.Len() > 0 }
func (e *Events) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", e.kind) }

// Len returns the number of events so far.
func (e *Events) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.evs)
}

// Index returns the i-th event.
func (e *Events) Index(i int) starlark.Value {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.evs[i]
}

// Iterate iterates over the events so far.
func (e *Events) Iterate() starlark.Iterator { return e.snapshot().Iterate() }

// Has reports whether x is one of the events so far.
func (e *Events) Has(x starlark.Value) (bool, error) { return e.snapshot().Has(x) }

// Deliver records ev, once it is known to be something a real sink could
// send (see encodeEvent): a value no sink can take fails there too.
func (e *Events) Deliver(_ context.Context, ev engine.Event, done func(error)) error {
	if _, err := encodeEvent(ev); err != nil {
		return err
	}
	v, err := ToStarlark(ev)
	if err != nil {
		return err
	}
	e.add(v)
	done(nil)
	return nil
}

// Close has nothing to wait for: every event is acknowledged when it is
// recorded.
func (e *Events) Close(context.Context) error { return nil }

// collect(stream) subscribes a recorder to stream and returns it: it gets
// every event the stream delivers from then on.
func (rt *Runtime) collect(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s *Stream
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	events := &Events{kind: "collect"}
	_, err := s.s.Subscribe("", engine.Func("collect", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		v, err := ToStarlark(ev)
		if err != nil {
			return nil, err
		}
		events.add(v)
		return nil, nil
	}))
	if err != nil {
		return nil, err
	}
	return events, nil
}

// drain(timeout=10) waits until nothing is in flight in the test's engine:
// no source connected, no event queued or being handled, no partial
// batch. The sources the test attached start then, if they have not yet.
func (rt *Runtime) drain(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := notInCallback(thread, b.Name()); err != nil {
		return nil, err
	}
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &timeout); err != nil {
		return nil, err
	}
	wait, err := optionalSeconds("timeout", timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if timeout == starlark.None {
		wait = DefaultDrainWait
	}
	err = rt.block(func(ctx context.Context) error {
		bounded, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		err := rt.cfg.Engine.Wait(bounded)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("%s: the pipeline was still busy after %s: %s", b.Name(), wait, rt.busy())
		}
		return err
	})
	return starlark.None, err
}

// busy says what keeps the engine from being idle.
func (rt *Runtime) busy() string {
	var sources []string
	for _, s := range rt.cfg.Engine.Streams() {
		for _, src := range s.Sources() {
			sources = append(sources, fmt.Sprintf("%s (stream %q)", src, s.Name()))
		}
	}
	msg := fmt.Sprintf("%d events in flight", rt.cfg.Engine.Pending())
	if len(sources) > 0 {
		msg += "; sources still connected: " + strings.Join(sources, ", ")
	}
	return msg
}

// FakeSource is the value of fake_source(events): usable where a source
// config goes, it emits its events, in order, when the source starts (as
// a connector source would, see Runtime.holdUntilStarted), then ends.
type FakeSource struct{ evs []starlark.Value }

var _ engine.Source = (*FakeSource)(nil)

func (f *FakeSource) String() string        { return fmt.Sprintf("fake_source(%s)", starlark.NewList(f.evs)) }
func (f *FakeSource) Type() string          { return "fake_source" }
func (f *FakeSource) Freeze()               {} // its events are frozen
func (f *FakeSource) Truth() starlark.Bool  { return starlark.True }
func (f *FakeSource) Hash() (uint32, error) { return 0, errors.New("unhashable type: fake_source") }

// Run emits the events, then returns: the source is exhausted. An
// OutputEvent stands for a connector's event with headers: the stream gets
// it as a connector's (a Message with with_headers=True, else its body).
func (f *FakeSource) Run(ctx context.Context, emit func(context.Context, engine.Event) error) error {
	for _, v := range f.evs {
		var ev engine.Event = v
		if oe, ok := v.(*OutputEvent); ok {
			c, err := sinkEvent(oe)
			if err != nil {
				return err
			}
			ev = c
		}
		if err := emit(ctx, ev); err != nil {
			if ctx.Err() != nil {
				return nil // disconnected
			}
			return err
		}
	}
	return nil
}

// fakeSourceKind and fakeSinkKind name the stand-ins in instance names.
const (
	fakeSourceKind = "fake-source"
	fakeSinkKind   = "fake-sink"
)

// makeFakeSource implements fake_source(events).
func makeFakeSource(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var events starlark.Iterable
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &events); err != nil {
		return nil, err
	}
	evs, err := frozenList(events)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return &FakeSource{evs: evs}, nil
}

// frozenList returns the elements of it, frozen; None is refused, as an
// append of None would drop it.
func frozenList(it starlark.Iterable) ([]starlark.Value, error) {
	iter := it.Iterate()
	defer iter.Done()
	var evs []starlark.Value
	var v starlark.Value
	for iter.Next(&v) {
		if v == starlark.None {
			return nil, errors.New("an event must not be None")
		}
		v.Freeze()
		evs = append(evs, v)
	}
	return evs, nil
}

// makeFakeSink implements fake_sink().
func makeFakeSink(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return &Events{kind: "fake_sink"}, nil
}

// fakeSink returns the sink a sink config stands for when it is
// fake_sink(), or nil.
func fakeSink(config starlark.Value) *Events {
	if e, ok := config.(*Events); ok && e.kind == "fake_sink" {
		return e
	}
	return nil
}

// fakes is the state of fake_connectors(): from the call on, every
// connector config opens a stand-in instead of its connector, after the
// real validation of its kind and parameters.
type fakes struct {
	mu      sync.Mutex
	on      bool                        // fake_connectors() was called
	sources map[string][]starlark.Value // events, by stream or instance name
	sinks   map[string]*Events          // by stream and instance name
}

// fakeConnectors implements fake_connectors(sources={}): sources maps a
// stream's name (or a source's instance name) to the events its faked
// source emits; any other faked source emits nothing.
func (rt *Runtime) fakeConnectors(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sources := starlark.NewDict(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "sources?", &sources); err != nil {
		return nil, err
	}
	f := rt.fakeState()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, kv := range sources.Items() {
		name, ok := kv[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: sources: keys must be stream names, got %s", b.Name(), kv[0].Type())
		}
		it, ok := kv[1].(starlark.Iterable)
		if !ok {
			return nil, fmt.Errorf("%s: sources[%q] must be a list of events, got %s", b.Name(), string(name), kv[1].Type())
		}
		evs, err := frozenList(it)
		if err != nil {
			return nil, fmt.Errorf("%s: sources[%q]: %w", b.Name(), string(name), err)
		}
		f.sources[string(name)] = evs
	}
	f.on = true
	return starlark.None, nil
}

// fakeState returns the run's fakes, made on first use.
func (rt *Runtime) fakeState() *fakes {
	rt.conns.mu.Lock()
	defer rt.conns.mu.Unlock()
	if rt.conns.fakes == nil {
		rt.conns.fakes = &fakes{sources: map[string][]starlark.Value{}, sinks: map[string]*Events{}}
	}
	return rt.conns.fakes
}

// faking returns the run's fakes when fake_connectors() was called, or nil.
func (rt *Runtime) faking() *fakes {
	rt.conns.mu.Lock()
	f := rt.conns.fakes
	rt.conns.mu.Unlock()
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		return nil
	}
	return f
}

// sinkEvents implements sink_events(name): what the faked sinks of the
// stream name (or the sink instance name) have received.
func (rt *Runtime) sinkEvents(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	f := rt.fakeState()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sink(name), nil
}

// sink returns the recorder of name, made on first use; f.mu is held.
func (f *fakes) sink(name string) *Events {
	e := f.sinks[name]
	if e == nil {
		e = &Events{kind: "fake_sink"}
		f.sinks[name] = e
	}
	return e
}

// openSource opens the source of a config for stream s: its connector,
// or under fake_connectors() a stand-in, once the config is valid.
func (rt *Runtime) openSource(conns Connectors, s *Stream, kind, name string, params map[string]any) (engine.Source, error) {
	f := rt.faking()
	if f == nil {
		return conns.OpenSource(rt.cfg.Stop, kind, name, params)
	}
	if err := conns.Check(rt.cfg.Stop, kind, camel.Source, params); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	evs, ok := f.sources[name]
	if !ok {
		evs = f.sources[s.s.Name()]
	}
	return &FakeSource{evs: evs}, nil
}

// openSink opens the sink of a config for stream s: its connector, or
// under fake_connectors() a recorder, once the config is valid.
func (rt *Runtime) openSink(conns Connectors, s *Stream, kind, name string, params map[string]any) (engine.Sink, error) {
	f := rt.faking()
	if f == nil {
		return conns.OpenSink(rt.cfg.Stop, kind, name, params, encodeEvent)
	}
	if err := conns.Check(rt.cfg.Stop, kind, camel.Sink, params); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.sinks[name]
	if e == nil {
		e = f.sink(s.s.Name())
		f.sinks[name] = e
	}
	return e, nil
}

package builtins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/rayvens/rayvens/engine"
)

// Stream is the Starlark face of an [engine.Stream].
type Stream struct {
	rt *Runtime
	s  *engine.Stream
	// disconnected is set once disconnect_all has disconnected the stream
	// (at once in a check, which does not wait). From then on append
	// refuses events: its sinks are closed, and an event would vanish in
	// them without a word.
	disconnected atomic.Bool
	// shared is set when the stream is a cluster stream (see Cluster):
	// then s is where this process appends, and each of its subscriptions
	// has a stream of its own, fed by the cluster.
	shared *shared
}

var (
	_ starlark.HasAttrs  = (*Stream)(nil)
	_ starlark.HasBinary = (*Stream)(nil)
)

// NewStream wraps an engine stream for scripts, so a Go program can hand a
// stream it created to a script; it is in the runtime's Graph from then on.
func NewStream(rt *Runtime, s *engine.Stream) *Stream {
	st := &Stream{rt: rt, s: s}
	rt.graph.addStream(st, engine.StreamConfig{}, false)
	return st
}

// Engine returns the engine stream behind s.
func (s *Stream) Engine() *engine.Stream { return s.s }

func (s *Stream) String() string        { return fmt.Sprintf("Stream(%q)", s.s.Name()) }
func (s *Stream) Type() string          { return "Stream" }
func (s *Stream) Freeze()               {} // a stream is safe to share: the engine synchronizes it
func (s *Stream) Truth() starlark.Bool  { return starlark.True }
func (s *Stream) Hash() (uint32, error) { return starlark.String(s.s.Name()).Hash() }

// makeStream implements Stream(name, source_config=None, sink_config=None,
// operator=None, batch_size=None, batch_timeout=None, capacity=None,
// dead_letter=None, local=False).
func (rt *Runtime) makeStream(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		name         string
		sourceConfig starlark.Value = starlark.None
		sinkConfig   starlark.Value = starlark.None
		operator     starlark.Value = starlark.None
		batchSize    starlark.Value = starlark.None
		batchTimeout starlark.Value = starlark.None
		capacity     starlark.Value = starlark.None
		deadLetter   starlark.Value = starlark.None
		local        bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs,
		"name", &name, "source_config?", &sourceConfig, "sink_config?", &sinkConfig,
		"operator?", &operator, "batch_size?", &batchSize,
		"batch_timeout?", &batchTimeout, "capacity?", &capacity, "dead_letter?", &deadLetter,
		"local?", &local); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("%s: name must not be empty", b.Name())
	}
	// Go code appending to the stream gets its events converted at Append.
	cfg := engine.StreamConfig{MakeBatch: makeBatch, Accept: AcceptEvent}
	var err error
	if cfg.Capacity, err = optionalInt("capacity", capacity, 1); err != nil {
		return nil, err
	}
	if cfg.BatchSize, err = optionalInt("batch_size", batchSize, 1); err != nil {
		return nil, err
	}
	if cfg.BatchTimeout, err = optionalSeconds("batch_timeout", batchTimeout); err != nil {
		return nil, err
	}
	if batchTimeout != starlark.None && cfg.BatchTimeout <= 0 { // 0 and below (negatives are caught just above)
		return nil, fmt.Errorf("batch_timeout must be a positive number of seconds, got %s", batchTimeout)
	}
	if operator != starlark.None {
		if _, ok := operator.(starlark.Callable); !ok {
			return nil, fmt.Errorf("operator must be a function, got %s", operator.Type())
		}
	}
	if deadLetter != starlark.None {
		dl, ok := deadLetter.(*Stream)
		if !ok {
			return nil, fmt.Errorf("dead_letter must be a Stream, got %s", deadLetter.Type())
		}
		cfg.DeadLetter = dl.s
	}
	var s *Stream
	if rt.cfg.Cluster != nil && !local && !rt.cfg.DryRun {
		if s, err = rt.makeShared(name, cfg); err != nil {
			return nil, err
		}
	} else {
		es, err := rt.cfg.Engine.NewStream(name, cfg)
		if err != nil {
			return nil, err
		}
		s = &Stream{rt: rt, s: es}
	}
	rt.graph.addStream(s, cfg, batchTimeout != starlark.None)
	if operator != starlark.None {
		s.addOperator(operator.(starlark.Callable))
	}
	if sinkConfig != starlark.None {
		if _, err := s.connectSink(sinkConfig); err != nil {
			return nil, err
		}
	}
	if sourceConfig != starlark.None {
		if _, err := s.connectSource(sourceConfig); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// makeBatch turns a batch into a frozen list.
func makeBatch(evs []engine.Event) engine.Event {
	elems := make([]starlark.Value, len(evs))
	for i, ev := range evs {
		v, err := ToStarlark(ev)
		if err != nil {
			v = starlark.String(err.Error())
		}
		elems[i] = v
	}
	l := starlark.NewList(elems)
	l.Freeze()
	return l
}

func optionalInt(param string, v starlark.Value, min int) (int, error) {
	if v == starlark.None {
		return 0, nil
	}
	i, ok := v.(starlark.Int)
	if !ok {
		return 0, fmt.Errorf("%s must be an int, got %s", param, v.Type())
	}
	n, ok := i.Int64()
	if !ok || n < int64(min) || n > 1<<31 {
		return 0, fmt.Errorf("%s must be at least %d, got %s", param, min, i)
	}
	return int(n), nil
}

func optionalSeconds(param string, v starlark.Value) (time.Duration, error) {
	if v == starlark.None {
		return 0, nil
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s must be a number of seconds, got %s", param, v.Type())
	}
	if f < 0 || f > 1e9 {
		return 0, fmt.Errorf("%s must be a non-negative number of seconds, got %v", param, v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

var streamMethods = map[string]*starlark.Builtin{
	"append":         starlark.NewBuiltin("append", streamAppend),
	"send_to":        starlark.NewBuiltin("send_to", streamSendTo),
	"add_operator":   starlark.NewBuiltin("add_operator", streamAddOperator),
	"unsubscribe":    starlark.NewBuiltin("unsubscribe", streamUnsubscribe),
	"disconnect_all": starlark.NewBuiltin("disconnect_all", streamDisconnectAll),
	"add_source": starlark.NewBuiltin("add_source", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return streamConnect(b, args, kwargs, (*Stream).connectSource)
	}),
	"add_sink": starlark.NewBuiltin("add_sink", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return streamConnect(b, args, kwargs, (*Stream).connectSink)
	}),
	"disconnect_source": starlark.NewBuiltin("disconnect_source", streamDisconnectSource),
	"disconnect_sink":   starlark.NewBuiltin("disconnect_sink", streamDisconnectSink),
	"event_count":       starlark.NewBuiltin("event_count", streamEventCount),
}

// Attr returns a method bound to s, or the name attribute.
func (s *Stream) Attr(name string) (starlark.Value, error) {
	if name == "name" {
		return starlark.String(s.s.Name()), nil
	}
	if m := streamMethods[name]; m != nil {
		return m.BindReceiver(s), nil
	}
	return nil, nil
}

// AttrNames lists the attributes, for dir() and error hints.
func (s *Stream) AttrNames() []string {
	names := []string{"name"}
	for n := range streamMethods {
		names = append(names, n)
	}
	return names
}

// Binary implements s << event (append, returns s) and s >> subscriber
// (send_to, returns the derived stream), so both chain left to right.
func (s *Stream) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	switch {
	case op == syntax.LTLT && side == starlark.Left:
		if err := s.append(y); err != nil {
			return nil, err
		}
		return s, nil
	case op == syntax.GTGT && side == starlark.Left:
		return s.sendTo(y, "")
	case op == syntax.LTLT:
		return nil, fmt.Errorf("cannot append to a %s: the stream goes on the left of << (stream << event)", y.Type())
	case op == syntax.GTGT:
		return nil, fmt.Errorf("cannot subscribe a stream to a %s: the stream goes on the left of >> (stream >> subscriber)", y.Type())
	}
	return nil, nil // unsupported: Starlark reports "unknown binary op"
}

// append appends ev, giving up the interpreter lock while the stream is full.
func (s *Stream) append(ev starlark.Value) error {
	if ev == starlark.None {
		return nil
	}
	ev.Freeze()
	if s.disconnected.Load() {
		return fmt.Errorf("cannot append to stream %q: disconnect_all has disconnected it (append every event before calling disconnect_all)", s.s.Name())
	}
	if s.rt.cfg.DryRun {
		return nil
	}
	ok, err := s.s.TryAppend(ev)
	if ok || err != nil {
		return s.appendError(err)
	}
	return s.appendError(s.rt.block(func(ctx context.Context) error { return s.s.Append(ctx, ev) }))
}

func (s *Stream) appendError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, engine.ErrClosed) {
		return fmt.Errorf("cannot append to stream %q: the run is shutting down", s.s.Name())
	}
	return err
}

func streamAppend(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ev starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &ev); err != nil {
		return nil, err
	}
	s := b.Receiver().(*Stream)
	if err := s.append(ev); err != nil {
		return nil, err
	}
	return s, nil
}

func streamSendTo(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var sub starlark.Value
	var name starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "subscriber", &sub, "name?", &name); err != nil {
		return nil, err
	}
	var n string
	switch v := name.(type) {
	case starlark.String:
		if v == "" {
			return nil, fmt.Errorf("%s: name must not be empty", b.Name())
		}
		n = string(v)
	case starlark.NoneType:
	default:
		return nil, fmt.Errorf("%s: name must be a string, got %s", b.Name(), name.Type())
	}
	return b.Receiver().(*Stream).sendTo(sub, n)
}

// sendTo subscribes sub and returns the derived stream (or sub itself when
// sub is a Stream).
func (s *Stream) sendTo(sub starlark.Value, name string) (starlark.Value, error) {
	es, err := s.rt.subscriber(sub)
	if err != nil {
		return nil, err
	}
	var out *engine.Stream
	if s.shared != nil {
		// A Task shares its work with the Tasks of that name in every
		// process; anything else gets every event.
		_, workQueue := sub.(*Task)
		if t, ok := sub.(*Stream); ok && t.shared != nil {
			if err := s.rt.links.link(s.s.Name(), t.s.Name()); err != nil {
				return nil, err
			}
		}
		if name == "" {
			name = s.shared.uniqueName(engine.SubscriberName(es))
		}
		_, out, err = s.shared.subscribe(name, workQueue, func(in *engine.Stream) (*engine.Stream, error) {
			return in.Subscribe(name, es)
		})
	} else {
		out, err = s.s.Subscribe(name, es)
	}
	if err != nil {
		return nil, err
	}
	t, ok := sub.(*Stream)
	if !ok {
		t = &Stream{rt: s.rt, s: out}
	}
	s.rt.graph.addSubscriber(s, name, sub, t)
	return t, nil
}

func (s *Stream) addOperator(fn starlark.Callable) {
	s.rt.graph.addOperator(s, fn.Name())
	if s.shared != nil {
		// Operators run where the events are received: on each
		// subscription of this process.
		s.shared.addOperator(fn)
		return
	}
	addOperator(s.rt, s.s, fn)
}

func addOperator(rt *Runtime, s *engine.Stream, fn starlark.Callable) {
	name := fn.Name()
	s.AddOperator(name, func(ctx context.Context, ev engine.Event) (engine.Event, error) {
		return rt.callEvent(ctx, name, fn, ev)
	})
}

func streamAddOperator(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &fn); err != nil {
		return nil, err
	}
	b.Receiver().(*Stream).addOperator(fn)
	return starlark.None, nil
}

func streamUnsubscribe(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	s := b.Receiver().(*Stream)
	if s.shared != nil {
		if s.rt.cfg.DryRun {
			return starlark.None, nil
		}
		return starlark.None, s.rt.block(func(ctx context.Context) error { return s.shared.unsubscribe(ctx, name) })
	}
	return starlark.None, s.s.Unsubscribe(name)
}

func streamDisconnectAll(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := notInCallback(thread, b.Name()); err != nil {
		return nil, err
	}
	var idle, after starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "after_idle_for?", &idle, "after?", &after); err != nil {
		return nil, err
	}
	idleFor, err := optionalSeconds("after_idle_for", idle)
	if err != nil {
		return nil, err
	}
	afterD, err := optionalSeconds("after", after)
	if err != nil {
		return nil, err
	}
	s := b.Receiver().(*Stream)
	if s.rt.cfg.DryRun {
		s.disconnected.Store(true) // so that rayvens check reports a later append too
		return starlark.None, nil
	}
	err = s.rt.block(func(ctx context.Context) error {
		// Appends while it waits are expected (it waits for the stream to
		// be idle); from the disconnection on, they are refused.
		streams := []*engine.Stream{s.s}
		if s.shared != nil {
			// This process's appends and sources, and its subscriptions,
			// each once idle for that long.
			streams = append(streams, s.shared.streams()...)
		}
		errs := make([]error, len(streams))
		var wg sync.WaitGroup
		for i, es := range streams {
			wg.Go(func() { errs[i] = es.DisconnectAll(ctx, idleFor, afterD) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		s.disconnected.Store(true)
		var down []*engine.Stream
		for _, es := range streams {
			down = append(down, es.Downstream()...)
		}
		return s.rt.closeSinks(ctx, down)
	})
	return starlark.None, err
}

func streamConnect(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, connect func(*Stream, starlark.Value) (string, error)) (starlark.Value, error) {
	var config starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &config); err != nil {
		return nil, err
	}
	name, err := connect(b.Receiver().(*Stream), config)
	if err != nil {
		return nil, err
	}
	return starlark.String(name), nil
}

func streamDisconnectSource(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	s := b.Receiver().(*Stream)
	if s.rt.cfg.DryRun {
		return starlark.None, nil
	}
	return starlark.None, s.rt.block(func(ctx context.Context) error { return s.s.DisconnectSource(ctx, name) })
}

func streamDisconnectSink(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	if err := notInCallback(thread, b.Name()); err != nil {
		return nil, err
	}
	s := b.Receiver().(*Stream)
	if s.rt.cfg.DryRun {
		return starlark.None, nil
	}
	return starlark.None, s.rt.block(func(ctx context.Context) error { return s.disconnectSink(ctx, name) })
}

func streamEventCount(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	s := b.Receiver().(*Stream)
	appended := s.s.Stats().Appended
	if s.shared == nil || s.rt.cfg.DryRun {
		return starlark.MakeUint64(appended), nil
	}
	var n uint64
	err := s.rt.block(func(ctx context.Context) (err error) {
		n, err = s.shared.count(ctx, appended)
		return err
	})
	if err != nil {
		return nil, err
	}
	return starlark.MakeUint64(n), nil
}

package builtins

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// Cluster shares streams between processes, on one host or several: a
// stream of the same name is the same stream in every process of the
// cluster. Package cluster implements it over NATS JetStream (the rayvens
// command adapts it with --cluster); nil, the default, keeps every stream
// in its process. See docs/cluster.md for what scripts see.
type Cluster interface {
	// Stream finds the shared stream called name, or creates it.
	Stream(ctx context.Context, name string) (ClusterStream, error)
}

// ClusterStream is one shared stream.
type ClusterStream interface {
	// Send appends ev to the stream without waiting for the cluster to
	// store it; it blocks while too many appends wait for that. done is
	// called once, from any goroutine, with nil once the event is stored
	// (durable) or the reason it is not. An error from Send means the event
	// was not sent, and done is not called.
	Send(ctx context.Context, ev camel.Event, done func(error)) error
	// Count is the number of events the cluster keeps in the stream.
	Count(ctx context.Context) (uint64, error)
	// Subscribe makes the subscription sub, which exists in the cluster
	// when it returns (and outlives the process, so that a restart
	// resumes it), and hands its events to handle until it is closed.
	// handle calls done with nil once the event is handled, or with an
	// error to have it handed again later; an event never done is
	// handed again after a bounded time, to this process or another.
	// Without workQueue, this process gets every event of the stream, one
	// at a time, in order; with it, every process subscribing sub shares
	// the events: each goes to one of them.
	Subscribe(ctx context.Context, sub string, workQueue bool, handle func(ev camel.Event, done func(error))) (ClusterSubscription, error)
}

// ClusterSubscription is a subscription of a [ClusterStream].
type ClusterSubscription interface {
	// Close stops handing events over. Events handed and not yet done
	// may still be done afterwards.
	Close()
}

// valueHeader marks the events whose script value is not their body as a
// string: "bytes", "json" (a value json.encode took) or "message" (a
// Message, headers and all). Strings and connector events go unmarked, so
// that other NATS clients see plain messages.
const valueHeader = "Rayvens-Value"

// clusterTimeout bounds the calls that create shared streams and
// subscriptions: a cluster that does not answer is an error, not a hang.
const clusterTimeout = 30 * time.Second

// shared is a cluster stream's part in this process: the local stream
// scripts append to (its only subscriber sends each event to the cluster,
// done once the cluster stored it), and one local stream per subscription
// this process made, fed by the cluster.
type shared struct {
	rt   *Runtime
	name string
	cs   ClusterStream
	cfg  engine.StreamConfig // of the subscriptions' streams

	mu    sync.Mutex
	ops   []starlark.Callable
	feeds map[string]*feed // by subscription name

	settled atomic.Uint64 // appends the cluster stored or refused
}

// makeShared makes the stream name shared through the cluster; cfg is the
// stream's config, which the subscriptions' streams take (batching, the
// operators, the dead-letter stream).
func (rt *Runtime) makeShared(name string, cfg engine.StreamConfig) (*Stream, error) {
	ctx, cancel := context.WithTimeout(rt.cfg.Stop, clusterTimeout)
	defer cancel()
	cs, err := rt.cfg.Cluster.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	out, err := rt.cfg.Engine.NewStream(name, engine.StreamConfig{Capacity: cfg.Capacity, Accept: wireAccept})
	if err != nil {
		return nil, err
	}
	sh := &shared{rt: rt, name: name, cs: cs, cfg: cfg, feeds: map[string]*feed{}}
	stop := rt.cfg.Engine.Context()
	if _, err := out.Subscribe("cluster", engine.Async("cluster", func(ev engine.Event, done func(error)) {
		settle := func(err error) {
			sh.settled.Add(1)
			done(err)
		}
		if err := cs.Send(stop, ev.(camel.Event), settle); err != nil {
			settle(err)
		}
	})); err != nil {
		return nil, err
	}
	return &Stream{rt: rt, s: out, shared: sh}, nil
}

// subscribe makes the subscription name (shared by the processes of the
// cluster when workQueue) and a local stream it feeds, to which attach
// subscribes what the script gave; it returns that stream and what attach
// returned.
func (sh *shared) subscribe(name string, workQueue bool, attach func(*engine.Stream) (*engine.Stream, error)) (in, out *engine.Stream, err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.feeds[name] != nil {
		return nil, nil, fmt.Errorf("stream %q already has a subscriber named %q in this process", sh.name, name)
	}
	in, err = sh.rt.cfg.Engine.NewStream(sh.name+"/"+name, sh.cfg)
	if err != nil {
		return nil, nil, err
	}
	for _, op := range sh.ops {
		addOperator(sh.rt, in, op)
	}
	if out, err = attach(in); err != nil {
		return nil, nil, err
	}
	f := &feed{rt: sh.rt, ready: make(chan struct{}), stop: make(chan struct{})}
	ctx, cancel := context.WithTimeout(sh.rt.cfg.Stop, clusterTimeout)
	defer cancel()
	if f.sub, err = sh.cs.Subscribe(ctx, name, workQueue, f.handle); err != nil {
		return nil, nil, err
	}
	if _, err := in.AddSource("cluster", f); err != nil {
		f.sub.Close()
		return nil, nil, err
	}
	f.stream = in
	sh.feeds[name] = f
	return in, out, nil
}

// sharedLinks are the forwards between cluster streams this process made
// (a >> b, both shared), which the engine does not see as one graph: each
// goes through the cluster. A forward that closes a cycle is refused, as
// between local streams; forwards made by other processes are not known.
type sharedLinks struct {
	mu    sync.Mutex
	edges map[string][]string
}

// link records from >> to, unless it closes a cycle.
func (l *sharedLinks) link(from, to string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if path := l.path(to, from, map[string]bool{}); path != nil {
		return fmt.Errorf("subscribing stream %q to stream %q would create a cycle through the cluster (%s >> %s)",
			to, from, from, strings.Join(path, " >> "))
	}
	if l.edges == nil {
		l.edges = map[string][]string{}
	}
	l.edges[from] = append(l.edges[from], to)
	return nil
}

// path returns from, ..., to when to is reachable from from.
func (l *sharedLinks) path(from, to string, seen map[string]bool) []string {
	if from == to {
		return []string{to}
	}
	seen[from] = true
	for _, n := range l.edges[from] {
		if !seen[n] {
			if p := l.path(n, to, seen); p != nil {
				return append([]string{from}, p...)
			}
		}
	}
	return nil
}

// uniqueName is base, or base#2, base#3... if taken, as local streams name
// their subscriptions.
func (sh *shared) uniqueName(base string) string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	name := base
	for i := 2; sh.feeds[name] != nil; i++ {
		name = fmt.Sprintf("%s#%d", base, i)
	}
	return name
}

func (sh *shared) addOperator(fn starlark.Callable) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.ops = append(sh.ops, fn)
	for _, f := range sh.feeds {
		addOperator(sh.rt, f.stream, fn)
	}
}

// streams returns the local streams of the subscriptions.
func (sh *shared) streams() []*engine.Stream {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	out := make([]*engine.Stream, 0, len(sh.feeds))
	for _, f := range sh.feeds {
		out = append(out, f.stream)
	}
	return out
}

// unsubscribe stops the subscription name in this process; it stays in the
// cluster, for a later run.
func (sh *shared) unsubscribe(ctx context.Context, name string) error {
	sh.mu.Lock()
	f := sh.feeds[name]
	delete(sh.feeds, name)
	sh.mu.Unlock()
	if f == nil {
		return fmt.Errorf("stream %q has no subscriber named %q in this process", sh.name, name)
	}
	return f.stream.DisconnectSource(ctx, "cluster")
}

// count waits until the cluster has settled this process's appends so far,
// then returns the number of events the cluster keeps in the stream.
func (sh *shared) count(ctx context.Context, appended uint64) (uint64, error) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for sh.settled.Load() < appended {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return sh.cs.Count(ctx)
}

// feed is the source of a subscription's local stream: it appends the
// events the cluster hands over, each done (acknowledged to the cluster)
// when it is done end to end. Like the script's other sources, it starts
// once the top level has declared the pipeline; the cluster keeps the
// events meanwhile.
type feed struct {
	rt     *Runtime
	sub    ClusterSubscription
	stream *engine.Stream
	ready  chan struct{} // closed when Run may emit
	stop   chan struct{} // closed when Run's context ended

	mu       sync.Mutex
	emit     func(context.Context, engine.Event) error
	stopping bool
	out      sync.WaitGroup // events appended, not done
}

var errFeedStopped = errors.New("the subscription is stopping in this process")

func (f *feed) Run(ctx context.Context, emit func(context.Context, engine.Event) error) error {
	select {
	case <-f.rt.started:
		f.mu.Lock()
		f.emit = emit
		f.mu.Unlock()
		close(f.ready)
		<-ctx.Done()
	case <-ctx.Done():
	}
	f.mu.Lock()
	f.stopping = true
	f.mu.Unlock()
	close(f.stop)
	// The events taken are done as the run drains: their acknowledgements
	// reach the cluster before the subscription closes, so a graceful
	// stop hands nothing twice. A killed run closes it at once; what it
	// abandoned comes again.
	go func() {
		drained := make(chan struct{})
		go func() {
			f.out.Wait()
			close(drained)
		}()
		select {
		case <-drained:
		case <-f.rt.cfg.Engine.Context().Done():
		}
		f.sub.Close()
	}()
	return nil
}

func (f *feed) handle(ev camel.Event, done func(error)) {
	select {
	case <-f.ready:
	case <-f.stop:
	}
	f.mu.Lock()
	if f.stopping {
		f.mu.Unlock()
		done(errFeedStopped) // handed again: to another process, or the next run
		return
	}
	f.out.Add(1)
	emit := f.emit
	f.mu.Unlock()
	var once sync.Once
	finish := func(err error) {
		once.Do(func() {
			done(err)
			f.out.Done()
		})
	}
	// A failed append calls finish with its error (WithAck).
	_ = emit(f.rt.cfg.Engine.Context(), engine.WithAck(fromWire(ev), finish))
}

// wireAccept is the Accept function of a shared stream's local stream: it
// turns what is appended into the event the cluster carries, so that a
// value that cannot go to another process is an error of its append.
func wireAccept(ev engine.Event) (engine.Event, error) {
	if ce, ok := ev.(camel.Event); ok { // from a connector source
		return ce, nil
	}
	v, err := ToStarlark(ev)
	if err != nil {
		return nil, err
	}
	if v == starlark.None {
		return nil, nil
	}
	v.Freeze()
	return toWire(v)
}

func toWire(v starlark.Value) (camel.Event, error) {
	switch v := v.(type) {
	case starlark.String:
		return camel.Event{Body: []byte(v), ContentType: "text/plain"}, nil
	case starlark.Bytes:
		return camel.Event{Body: []byte(v), ContentType: "application/octet-stream", Headers: map[string]string{valueHeader: "bytes"}}, nil
	case *Message, *OutputEvent:
		ev, err := sinkEvent(v)
		if err != nil {
			return ev, err
		}
		headers := make(map[string]string, len(ev.Headers)+1)
		maps.Copy(headers, ev.Headers)
		headers[valueHeader] = "message"
		ev.Headers = headers
		return ev, nil
	}
	thread := &starlark.Thread{Name: "encode"}
	out, err := starlark.Call(thread, json.Module.Members["encode"], starlark.Tuple{v}, nil)
	if err != nil {
		return camel.Event{}, fmt.Errorf("a %s cannot go to another process: the events of a cluster stream are strings, bytes, Messages and values json.encode takes (%v)", v.Type(), err)
	}
	return camel.Event{Body: []byte(out.(starlark.String)), ContentType: "application/json", Headers: map[string]string{valueHeader: "json"}}, nil
}

// fromWire turns an event of the cluster back into what was appended: a
// string, bytes, a JSON value or a Message. An unmarked event (from a
// connector source, or another NATS client) stays a connector event,
// which scripts see as its body.
func fromWire(ev camel.Event) engine.Event {
	kind := ev.Headers[valueHeader]
	switch kind {
	case "":
		return ev
	case "bytes":
		return starlark.Bytes(ev.Body)
	case "json":
		thread := &starlark.Thread{Name: "decode"}
		v, err := starlark.Call(thread, json.Module.Members["decode"], starlark.Tuple{starlark.String(ev.Body)}, nil)
		if err == nil {
			v.Freeze()
			return v
		}
	case "message":
		headers := maps.Clone(ev.Headers)
		delete(headers, valueHeader)
		ev.Headers = headers
		return newMessage(ev)
	}
	// A mark this version does not know, or JSON that is not: the body as
	// it came, rather than nothing.
	return ev
}

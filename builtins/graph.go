package builtins

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// Graph is a pipeline as a script built it: what `rayvens graph` prints
// and the admin server serves at /api/graph. It is JSON as it is.
//
// A stream a subscriber derived (s >> f) appears once something reads it
// (a subscriber or a sink), since the results of f go nowhere otherwise;
// a subscription removed (unsubscribe, disconnect_sink) leaves the graph,
// and in a run so does a source that ended or was disconnected. A check
// (DryRun) skips the disconnect methods, so its graph keeps what they
// would remove: the pipeline as the top level built it.
type Graph struct {
	Streams []GraphStream `json:"streams"` // in the order they were made
}

// GraphStream is one stream of a [Graph].
type GraphStream struct {
	Name        string `json:"name"`
	Cluster     bool   `json:"cluster,omitempty"`      // a cluster stream (rayvens run --cluster)
	DerivedFrom string `json:"derived_from,omitempty"` // made by `s >> f` from that stream
	// Operators are applied in order to each event (each batch): the
	// function's name ("parse", "lambda"), after "batch(N)" or
	// "batch(N, T)" (T the batch_timeout given) on a batching stream,
	// which batches before its operators run.
	Operators   []string          `json:"operators,omitempty"`
	DeadLetter  string            `json:"dead_letter,omitempty"`
	Sources     []GraphConnector  `json:"sources,omitempty"`
	Sinks       []GraphConnector  `json:"sinks,omitempty"`
	Subscribers []GraphSubscriber `json:"subscribers,omitempty"` // in the order they subscribed, sinks included
}

// GraphConnector is a source or a sink of a [GraphStream].
type GraphConnector struct {
	Name string `json:"name"` // the instance's name (the name= of its config, or the one made up)
	Kind string `json:"kind"` // e.g. "timer-source", "slack-sink"
	// Params are the parameters the config gave, as text; the value of a
	// secret one is "(secret)". They are shown only when the connectors
	// say which parameters are secret (see [Describer]); otherwise Params
	// is empty.
	Params map[string]string `json:"params,omitempty"`
}

// GraphSubscriber is one subscription of a [GraphStream].
type GraphSubscriber struct {
	Name string `json:"name"` // the subscription's name (e.g. the function's name)
	// Kind is "function", "actor", "task", "stream" (a forward to another
	// stream) or "sink" (the connector of the same name in Sinks).
	Kind string `json:"kind"`
	To   string `json:"to,omitempty"` // the stream it feeds: the derived stream of `s >> f`, or the target of `s >> t`
}

// Subscriber kinds of a [GraphSubscriber].
const (
	SubscriberFunction = "function"
	SubscriberActor    = "actor"
	SubscriberTask     = "task"
	SubscriberStream   = "stream"
	SubscriberSink     = "sink"
)

// SecretValue stands for the value of a secret parameter in a [Graph].
const SecretValue = "(secret)"

// Describer is implemented by [Connectors] that can declare a kind
// (plugins.ScriptConnectors does): the graph takes from it which
// parameters are secret, to show their values as [SecretValue]. The
// graph of connectors that do not implement it shows no parameters.
type Describer interface {
	Kind(ctx context.Context, name string) (camel.Kind, error)
}

// graphBook records what the script built, as the engine does not keep
// it (the kind of a subscriber, a connector's kind and parameters). What
// was removed since is filtered out when a Graph is made, from the
// engine's own state: the book only grows.
type graphBook struct {
	mu      sync.Mutex
	streams []*graphEntry
	byName  map[string]*graphEntry
}

// graphEntry is a stream as recorded: g has every source, sink and
// subscriber recorded, live or not (Graph leaves out those gone).
type graphEntry struct {
	s *Stream
	g GraphStream
	// from is the subscription of the parent stream that derived it.
	from string
}

// entry returns the entry of s, recording it if new.
func (b *graphBook) entry(s *Stream) *graphEntry {
	name := s.s.Name()
	if e := b.byName[name]; e != nil {
		return e
	}
	if b.byName == nil {
		b.byName = map[string]*graphEntry{}
	}
	e := &graphEntry{s: s, g: GraphStream{Name: name, Cluster: s.shared != nil}}
	b.byName[name] = e
	b.streams = append(b.streams, e)
	return e
}

// addStream records a stream Stream() made with cfg.
func (b *graphBook) addStream(s *Stream, cfg engine.StreamConfig, batchTimeout bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(s)
	if cfg.BatchSize > 0 {
		op := fmt.Sprintf("batch(%d)", cfg.BatchSize)
		if batchTimeout {
			op = fmt.Sprintf("batch(%d, %s)", cfg.BatchSize, cfg.BatchTimeout.Round(time.Millisecond))
		}
		e.g.Operators = append(e.g.Operators, op)
	}
	if cfg.DeadLetter != nil {
		e.g.DeadLetter = cfg.DeadLetter.Name()
	}
}

func (b *graphBook) addOperator(s *Stream, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(s)
	e.g.Operators = append(e.g.Operators, name)
}

func (b *graphBook) addConnector(s *Stream, dir camel.Direction, c GraphConnector) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(s)
	if dir == camel.Source {
		e.g.Sources = append(dropNamed(e.g.Sources, c.Name), c)
		return
	}
	e.g.Sinks = append(dropNamed(e.g.Sinks, c.Name), c)
	e.g.Subscribers = append(dropNamed(e.g.Subscribers, c.Name), GraphSubscriber{Name: c.Name, Kind: SubscriberSink})
}

// addSubscriber records that s subscribed sub, giving out (the derived
// stream, or the target of a forward). name is the subscription's name,
// or "" when the engine chose it: then it is the last subscription of s,
// the one just made (a callback subscribing to s at the same instant
// could swap two names; nothing else depends on them).
func (b *graphBook) addSubscriber(s *Stream, name string, sub starlark.Value, out *Stream) {
	if name == "" {
		subs := s.s.Subscriptions()
		if len(subs) == 0 {
			return
		}
		name = subs[len(subs)-1]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(s)
	gs := GraphSubscriber{Name: name, Kind: subscriberKind(sub), To: out.s.Name()}
	e.g.Subscribers = append(dropNamed(e.g.Subscribers, name), gs)
	if gs.Kind != SubscriberStream {
		d := b.entry(out)
		d.g.DerivedFrom, d.from = e.g.Name, name
	}
}

// dropNamed removes the records named name: a name is unique among the
// live subscriptions (sources) of a stream, so those are of ones removed
// since, whose name is taken again.
func dropNamed[T interface{ key() string }](records []T, name string) []T {
	return slices.DeleteFunc(records, func(r T) bool { return r.key() == name })
}

func (c GraphConnector) key() string  { return c.Name }
func (s GraphSubscriber) key() string { return s.Name }

func subscriberKind(sub starlark.Value) string {
	switch sub.(type) {
	case *Stream:
		return SubscriberStream
	case *Actor, *ActorMethod:
		return SubscriberActor
	case *Task:
		return SubscriberTask
	}
	return SubscriberFunction
}

// Graph returns the pipeline as it is now (see [Graph]). It is safe to
// call from any goroutine while the script runs.
func (rt *Runtime) Graph() Graph {
	b := &rt.graph
	// The live subscriptions are read without holding the book, which
	// the script needs to go on: a cluster stream's may wait for the
	// cluster. A stream recorded meanwhile shows without subscribers.
	b.mu.Lock()
	entries := slices.Clone(b.streams)
	b.mu.Unlock()
	live := map[string]map[string]bool{} // stream -> its live subscriptions
	for _, e := range entries {
		live[e.g.Name] = e.s.subscriptions()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// A derived stream is shown while the subscription that derived it is
	// live and something reads it.
	shown := func(e *graphEntry) bool {
		if e.g.DerivedFrom == "" {
			return true
		}
		parent := b.byName[e.g.DerivedFrom]
		derives := slices.ContainsFunc(parent.g.Subscribers, func(sub GraphSubscriber) bool {
			return sub.Name == e.from && sub.To == e.g.Name
		})
		read := len(live[e.g.Name]) > 0 || rt.cfg.DryRun && len(e.g.Sinks) > 0
		return derives && live[parent.g.Name][e.from] && read
	}
	g := Graph{Streams: []GraphStream{}}
	for _, e := range b.streams {
		if !shown(e) {
			continue
		}
		gs := e.g
		gs.Operators = slices.Clone(e.g.Operators)
		gs.Sources, gs.Sinks, gs.Subscribers = nil, nil, nil
		sources := e.s.s.Sources()
		for _, c := range e.g.Sources {
			if rt.cfg.DryRun || slices.Contains(sources, c.Name) {
				c.Params = maps.Clone(c.Params) // the caller's to keep
				gs.Sources = append(gs.Sources, c)
			}
		}
		for _, c := range e.g.Sinks {
			if rt.cfg.DryRun || live[e.g.Name][c.Name] {
				c.Params = maps.Clone(c.Params)
				gs.Sinks = append(gs.Sinks, c)
			}
		}
		for _, sub := range e.g.Subscribers {
			if !live[e.g.Name][sub.Name] && !(rt.cfg.DryRun && sub.Kind == SubscriberSink) {
				continue
			}
			if d := b.byName[sub.To]; d != nil && sub.Kind != SubscriberStream && !shown(d) {
				sub.To = ""
			}
			gs.Subscribers = append(gs.Subscribers, sub)
		}
		g.Streams = append(g.Streams, gs)
	}
	return g
}

// subscriptions returns the names of the live subscriptions of s: of its
// engine stream, or for a cluster stream those this process made.
func (s *Stream) subscriptions() map[string]bool {
	names := map[string]bool{}
	if s.shared != nil {
		s.shared.mu.Lock()
		for n := range s.shared.feeds {
			names[n] = true
		}
		s.shared.mu.Unlock()
		return names
	}
	for _, n := range s.s.Subscriptions() {
		names[n] = true
	}
	return names
}

// connectSource is addSource, recorded in the graph.
func (s *Stream) connectSource(config starlark.Value) (string, error) {
	name, err := s.addSource(config)
	if err == nil {
		s.recordConnector(camel.Source, name, config)
	}
	return name, err
}

// connectSink is addSink, recorded in the graph.
func (s *Stream) connectSink(config starlark.Value) (string, error) {
	name, err := s.addSink(config)
	if err == nil {
		s.recordConnector(camel.Sink, name, config)
	}
	return name, err
}

// recordConnector records the connector named name that config (valid,
// since it was opened or checked) made on s.
func (s *Stream) recordConnector(dir camel.Direction, name string, config starlark.Value) {
	kind, _, params, _, err := connectorConfig(string(dir)+" config", config)
	if err != nil {
		return
	}
	c := GraphConnector{Name: name, Kind: kind, Params: s.rt.graphParams(kind, params)}
	s.rt.graph.addConnector(s, dir, c)
}

// graphParams turns params into text, secret values replaced, or returns
// nil when the connectors cannot say which are secret.
func (rt *Runtime) graphParams(kind string, params map[string]any) map[string]string {
	d, ok := rt.cfg.Connectors.(Describer)
	if !ok || len(params) == 0 {
		return nil
	}
	k, err := d.Kind(rt.cfg.Stop, kind)
	if err != nil {
		return nil
	}
	declared := map[string]camel.Param{}
	for _, p := range k.Params {
		declared[p.Name] = p
		for _, a := range p.Aliases {
			declared[a] = p
		}
	}
	out := map[string]string{}
	for name, v := range params {
		p, ok := declared[name]
		switch {
		case !ok:
			// Not declared (the connector refuses it): its secret-ness is
			// not known, so it is not shown.
		case p.Secret:
			out[name] = SecretValue
		default:
			out[name] = withoutCredentials(fmt.Sprint(v))
		}
	}
	return out
}

// withoutCredentials returns a URL's text with its password and its query
// values replaced by [SecretValue] (an API key often rides in a query, as
// in ?apikey=...), and any other text as it is.
func withoutCredentials(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" || (u.User == nil && u.RawQuery == "") {
		return v
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), SecretValue)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{SecretValue}
		}
		u.RawQuery = q.Encode()
	}
	s, _ := url.PathUnescape(u.String())
	return s
}

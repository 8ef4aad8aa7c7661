package observe

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rayvens/rayvens/engine"
)

// Sink is a connector sink as the observer sees it ([plugins.Sink] is
// one). Its name is the name of its subscription on its stream.
type Sink interface {
	Name() string
	Kind() string
	Acked() uint64   // events the connector acknowledged writing
	Retries() uint64 // batches sent again after a failed write
}

// Source is a connector source as the observer sees it ([plugins.Source]
// is one). Its name is the name it has among its stream's sources.
type Source interface {
	Name() string
	Kind() string
	Connected() bool
	Reads() []Read // the long reads it is in the middle of
}

// Read is a long read a source is in the middle of (a large file, an S3
// object), as its plugin last reported it.
type Read struct {
	Item  string `json:"item"`  // what is read: a file's name, an object's key
	Done  uint64 `json:"done"`  // bytes read so far
	Total uint64 `json:"total"` // bytes in all; 0 when not known
}

// Plugin is the state of one plugin process.
type Plugin struct {
	Name     string
	Restarts int
	Up       bool
}

// Config says what an [Observer] watches. Only Engine is required.
type Config struct {
	Engine  *engine.Engine
	Sinks   func() []Sink   // the connector sinks opened so far
	Sources func() []Source // the connector sources opened so far
	Plugins func() []Plugin // the plugin processes started so far
	// Graph returns the pipeline graph, served as JSON by /api/graph; nil
	// until there is one.
	Graph func() any
	// SampleEvery is how often the rates are computed. Default 1s.
	SampleEvery time.Duration
}

// Observer collects the metrics and the state of one run.
type Observer struct {
	cfg      Config
	start    time.Time
	registry *prometheus.Registry
	duration *prometheus.HistogramVec
	started  atomic.Bool

	mu    sync.Mutex
	rates map[*engine.Stream]rate
	last  map[*engine.Stream]engine.Stats
	lastT time.Time

	quit chan struct{}
	done chan struct{}
}

// rate is a stream's events per second over the last sample.
type rate struct{ in, out float64 }

// New returns an observer of cfg.Engine, installed as its
// [engine.Observer], with its sampler running: Close stops it.
func New(cfg Config) *Observer {
	if cfg.SampleEvery <= 0 {
		cfg.SampleEvery = time.Second
	}
	o := &Observer{
		cfg:      cfg,
		start:    time.Now(),
		registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rayvens_subscriber_duration_seconds",
			Help:    "Time from handing an event to a subscriber until it was done with it (for tasks, actors and sinks: until it completed the event).",
			Buckets: prometheus.ExponentialBuckets(0.000_01, 4, 12), // 10µs .. ~42s
		}, []string{"stream", "subscriber"}),
		rates: map[*engine.Stream]rate{},
		last:  map[*engine.Stream]engine.Stats{},
		lastT: time.Now(),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	o.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		o.duration,
		pipelineCollector{o},
	)
	cfg.Engine.SetObserver(timers{o.duration})
	go o.sample()
	return o
}

// Started records that the script's top level has run: readiness waits
// for it.
func (o *Observer) Started() { o.started.Store(true) }

// Close stops the sampler and waits for it.
func (o *Observer) Close() {
	select {
	case <-o.quit:
	default:
		close(o.quit)
	}
	<-o.done
}

// Registry returns the observer's Prometheus registry (not the global one).
func (o *Observer) Registry() *prometheus.Registry { return o.registry }

// timers is the engine's view of the duration histogram.
type timers struct{ h *prometheus.HistogramVec }

func (t timers) SubscriberTimer(stream, subscriber string) func(time.Duration) {
	obs := t.h.WithLabelValues(stream, subscriber)
	return func(d time.Duration) { obs.Observe(d.Seconds()) }
}

// sample computes every stream's rates once per SampleEvery.
func (o *Observer) sample() {
	defer close(o.done)
	tick := time.NewTicker(o.cfg.SampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-o.quit:
			return
		case now := <-tick.C:
			o.sampleAt(now)
		}
	}
}

func (o *Observer) sampleAt(now time.Time) {
	streams := o.cfg.Engine.Streams()
	o.mu.Lock()
	defer o.mu.Unlock()
	secs := now.Sub(o.lastT).Seconds()
	o.lastT = now
	rates := make(map[*engine.Stream]rate, len(streams))
	last := make(map[*engine.Stream]engine.Stats, len(streams))
	for _, s := range streams {
		st := s.Stats()
		prev := o.last[s] // a new stream starts from zero
		if secs > 0 {
			rates[s] = rate{
				in:  float64(st.Appended-prev.Appended) / secs,
				out: float64(st.Delivered-prev.Delivered) / secs,
			}
		}
		last[s] = st
	}
	o.rates, o.last = rates, last
}

func (o *Observer) rate(s *engine.Stream) rate {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.rates[s]
}

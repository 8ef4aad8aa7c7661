package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/observe"
	"github.com/rayvens/rayvens/plugins"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// observeFlags are the flags of rayvens run that watch the run.
func observeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "http", Usage: "serve metrics, health, readiness, stats and a live page over HTTP at `ADDR` (e.g. 127.0.0.1:4195; :0 picks a port, printed on stderr)"},
		&cli.BoolFlag{Name: "stats", Usage: "show each stream's rates, backlog and errors on stderr: redrawn every second under a terminal, a line per stream every --stats-interval otherwise, and a summary at the end"},
		&cli.DurationFlag{Name: "stats-interval", Value: 10 * time.Second, Usage: "without a terminal, how often --stats writes its lines (`DURATION`)"},
	}
}

// checkHTTPAddr refuses an --http address that is not host:port.
func checkHTTPAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return usageError{fmt.Errorf("run: --http %q is not an address HOST:PORT (e.g. 127.0.0.1:4195)", addr)}
	}
	return nil
}

// watchedRun is what rayvens run watches: the connectors the script opens
// (through connectors) and the plugin host.
type watchedRun struct {
	plugins.ScriptConnectors

	mu      sync.Mutex
	sinks   []observe.Sink
	sources []observe.Source
}

// OpenSource opens a source and remembers it.
func (w *watchedRun) OpenSource(ctx context.Context, kind, name string, config map[string]any) (engine.Source, error) {
	src, err := w.Host.OpenSource(ctx, kind, name, config)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.sources = append(w.sources, observedSource{src})
	w.mu.Unlock()
	return src, nil
}

// observedSource is a plugin source as the observer sees it.
type observedSource struct{ *plugins.Source }

func (s observedSource) Reads() []observe.Read {
	var out []observe.Read
	for _, r := range s.Source.Reads() {
		out = append(out, observe.Read(r))
	}
	return out
}

// OpenSink opens a sink and remembers it.
func (w *watchedRun) OpenSink(ctx context.Context, kind, name string, config map[string]any, encode camel.Encoder) (engine.Sink, error) {
	sink, err := w.Host.OpenSink(ctx, kind, name, config, encode)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.sinks = append(w.sinks, sink)
	w.mu.Unlock()
	return sink, nil
}

func (w *watchedRun) openedSinks() []observe.Sink {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]observe.Sink(nil), w.sinks...)
}

func (w *watchedRun) openedSources() []observe.Source {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]observe.Source(nil), w.sources...)
}

func (w *watchedRun) plugins() []observe.Plugin {
	var out []observe.Plugin
	for _, p := range w.Host.Health() {
		out = append(out, observe.Plugin(p))
	}
	return out
}

// watch starts the observer of run and, with --http, its server, and with
// --stats the live view (made before the run, as it wraps its output);
// stop stops them and waits for them. started marks the top level as done.
func (w *watchedRun) watch(c *cli.Context, run *rstarlark.Script, stats *liveStats) (started func(), stop func(), err error) {
	addr := c.String("http")
	if addr == "" && stats == nil {
		return func() {}, func() {}, nil
	}
	o := observe.New(observe.Config{
		Engine: run.Engine(), Sinks: w.openedSinks, Sources: w.openedSources, Plugins: w.plugins,
		Graph: func() any { return run.Graph() },
	})
	var srv *observe.Server
	if addr != "" {
		srv, err = observe.Serve(addr, o)
		if err != nil {
			o.Close()
			return nil, nil, listenError(addr, err)
		}
		fmt.Fprintf(c.App.ErrWriter, "rayvens: http: listening on %s\n", srv.Addr())
	}
	if stats != nil {
		stats.start(o, w.openedSinks, func() map[string]bool {
			shown := map[string]bool{}
			for _, s := range run.Graph().Streams {
				shown[s.Name] = true
			}
			return shown
		})
	}
	return o.Started, func() {
		if stats != nil {
			stats.stop()
		}
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Close(ctx)
		}
		o.Close()
	}, nil
}

// listenError is why --http addr could not be bound, in one sentence.
func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("http: cannot listen on %s: the address is already in use", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("http: cannot listen on %s: permission denied", addr)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Errorf("http: cannot listen on %s: %v", addr, op.Err)
	}
	return fmt.Errorf("http: cannot listen on %s: %w", addr, err)
}

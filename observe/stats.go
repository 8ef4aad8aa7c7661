package observe

import (
	"fmt"
	"time"
)

// Stats is the state of a run at one moment, as /api/stats serves it.
type Stats struct {
	UptimeSeconds float64       `json:"uptime_seconds"`
	Ready         bool          `json:"ready"`
	Reason        string        `json:"reason,omitempty"` // why not ready
	Streams       []StreamStats `json:"streams"`
	Plugins       []PluginStats `json:"plugins"`
}

// StreamStats are one stream's counters ([engine.Stats]), its rates over
// the last sample and its connectors.
type StreamStats struct {
	Name         string        `json:"name"`
	Appended     uint64        `json:"appended"`
	Delivered    uint64        `json:"delivered"`
	Dropped      uint64        `json:"dropped"`
	Errors       uint64        `json:"errors"`
	DeadLettered uint64        `json:"dead_lettered"`
	Pending      int64         `json:"pending"`
	InPerSecond  float64       `json:"in_per_second"`  // appended
	OutPerSecond float64       `json:"out_per_second"` // delivered
	Subscribers  int           `json:"subscribers"`
	Sources      []SourceStats `json:"sources"`
	Sinks        []SinkStats   `json:"sinks"`
}

// SourceStats is one connector source of a stream.
type SourceStats struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Connected bool   `json:"connected"`
	Reading   []Read `json:"reading"` // its long reads in progress, by item
}

// SinkStats is one connector sink of a stream.
type SinkStats struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Acked   uint64 `json:"acked"`
	Retries uint64 `json:"retries"`
}

// PluginStats is one plugin process.
type PluginStats struct {
	Name     string `json:"name"`
	Restarts int    `json:"restarts"`
	Up       bool   `json:"up"`
}

// Stats returns the run's state now. A connector belongs to the stream
// it is attached to (a sink by its subscription, a source among the
// stream's sources); one attached to no stream any more (closed, ended)
// is left out.
func (o *Observer) Stats() Stats {
	streams := o.cfg.Engine.Streams()
	out := Stats{UptimeSeconds: time.Since(o.start).Seconds(), Streams: make([]StreamStats, len(streams))}
	bySub := map[string]int{} // subscription name -> index of its stream
	bySource := map[string]int{}
	for i, s := range streams {
		st := s.Stats()
		r := o.rate(s)
		out.Streams[i] = StreamStats{
			Name: s.Name(), Appended: st.Appended, Delivered: st.Delivered, Dropped: st.Dropped,
			Errors: st.Errors, DeadLettered: st.DeadLettered, Pending: st.Pending,
			InPerSecond: r.in, OutPerSecond: r.out, Subscribers: st.Subscribers,
			Sources: []SourceStats{}, Sinks: []SinkStats{},
		}
		for _, n := range s.Subscriptions() {
			bySub[n] = i
		}
		for _, n := range s.Sources() {
			bySource[n] = i
		}
	}
	if o.cfg.Sinks != nil {
		for _, k := range o.cfg.Sinks() {
			if i, ok := bySub[k.Name()]; ok {
				out.Streams[i].Sinks = append(out.Streams[i].Sinks, SinkStats{Name: k.Name(), Kind: k.Kind(), Acked: k.Acked(), Retries: k.Retries()})
			}
		}
	}
	if o.cfg.Sources != nil {
		for _, src := range o.cfg.Sources() {
			if i, ok := bySource[src.Name()]; ok {
				out.Streams[i].Sources = append(out.Streams[i].Sources, SourceStats{Name: src.Name(), Kind: src.Kind(), Connected: src.Connected(), Reading: append([]Read{}, src.Reads()...)})
			}
		}
	}
	out.Plugins = []PluginStats{}
	if o.cfg.Plugins != nil {
		for _, p := range o.cfg.Plugins() {
			out.Plugins = append(out.Plugins, PluginStats(p))
		}
	}
	out.Reason = o.notReady(out)
	out.Ready = out.Reason == ""
	return out
}

// notReady is why the run is not ready, "" when it is: the top level has
// run, every source attached to a stream is connected and every plugin
// process started is up.
func (o *Observer) notReady(st Stats) string {
	if !o.started.Load() {
		return "the script's top level is still running"
	}
	for _, s := range st.Streams {
		for _, src := range s.Sources {
			if !src.Connected {
				return fmt.Sprintf("source %s of stream %q is not connected", src.Name, s.Name)
			}
		}
	}
	for _, p := range st.Plugins {
		if !p.Up {
			return fmt.Sprintf("plugin %s is not up", p.Name)
		}
	}
	return ""
}

package observe

import "github.com/prometheus/client_golang/prometheus"

// The pipeline's metrics, read from the run's state at each scrape, so
// that streams, sinks and plugins appear as the script makes them.
var (
	descAppended     = streamDesc("appended_total", "Events appended to the stream.")
	descDelivered    = streamDesc("delivered_total", "Events (or batches) fanned out to the stream's subscribers.")
	descDropped      = streamDesc("dropped_total", "Events an operator of the stream dropped or failed on.")
	descErrors       = streamDesc("errors_total", "Subscriber, operator and source failures on the stream.")
	descDeadLettered = streamDesc("dead_lettered_total", "Failures sent to the stream's dead-letter stream instead of being reported.")
	descPending      = streamDesc("pending", "Events accepted by the stream and not yet fully processed.")
	descSinkAcked    = prometheus.NewDesc("rayvens_sink_acked_total", "Events the sink's connector acknowledged writing.", []string{"stream", "sink"}, nil)
	descSinkRetries  = prometheus.NewDesc("rayvens_sink_retries_total", "Batches sent again to the sink's connector after a failed write.", []string{"stream", "sink"}, nil)
	descSourceUp     = prometheus.NewDesc("rayvens_source_connected", "1 while the source is connected to its plugin, else 0.", []string{"stream", "source"}, nil)
	descRestarts     = prometheus.NewDesc("rayvens_plugin_restarts_total", "Times the plugin process stopped unexpectedly and was started again.", []string{"plugin"}, nil)
	descPluginUp     = prometheus.NewDesc("rayvens_plugin_up", "1 while the plugin process runs and answers, else 0.", []string{"plugin"}, nil)
	descReady        = prometheus.NewDesc("rayvens_ready", "1 when the run is ready (see /ready), else 0.", nil, nil)
)

func streamDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("rayvens_stream_"+name, help, []string{"stream"}, nil)
}

// pipelineCollector turns Observer.Stats into metrics at scrape time.
type pipelineCollector struct{ o *Observer }

func (c pipelineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAppended, descDelivered, descDropped, descErrors, descDeadLettered,
		descPending, descSinkAcked, descSinkRetries, descSourceUp, descRestarts, descPluginUp, descReady} {
		ch <- d
	}
}

func (c pipelineCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.o.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range st.Streams {
		counter(descAppended, s.Appended, s.Name)
		counter(descDelivered, s.Delivered, s.Name)
		counter(descDropped, s.Dropped, s.Name)
		counter(descErrors, s.Errors, s.Name)
		counter(descDeadLettered, s.DeadLettered, s.Name)
		gauge(descPending, float64(s.Pending), s.Name)
		for _, k := range s.Sinks {
			counter(descSinkAcked, k.Acked, s.Name, k.Name)
			counter(descSinkRetries, k.Retries, s.Name, k.Name)
		}
		for _, src := range s.Sources {
			gauge(descSourceUp, one(src.Connected), s.Name, src.Name)
		}
	}
	for _, p := range st.Plugins {
		counter(descRestarts, uint64(p.Restarts), p.Name)
		gauge(descPluginUp, one(p.Up), p.Name)
	}
	gauge(descReady, one(st.Ready))
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

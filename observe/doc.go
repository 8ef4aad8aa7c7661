// Package observe watches a running pipeline for people and orchestrators:
// Prometheus metrics, health and readiness, and per-stream counters and
// rates as JSON, served by an admin HTTP server (rayvens run --http).
//
// An [Observer] reads an [engine.Engine]: stream counters are read from
// [engine.Stream.Stats] at scrape time (the engine counts them anyway, so
// observing adds nothing to the hot path), and subscriber durations come
// from the engine's [engine.Observer] hook. What lives outside the engine
// (connector sinks and sources, plugin processes, the pipeline graph) comes
// through the small interfaces and functions of [Config], which the
// rayvens command fills in: this package imports only the engine and
// Prometheus.
//
// Lifecycle: [New] starts the sampler that computes rates once a second;
// [Observer.Started] marks the script's top level as done (readiness);
// [Serve] binds the admin server; [Server.Close] then [Observer.Close]
// stop them and wait for their goroutines.
package observe

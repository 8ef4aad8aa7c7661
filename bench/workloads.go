package main

// A workload is one thing bench measures, how a run of it is made, and
// what it is judged by.
type workload struct {
	// ID names the workload uniquely: -only matches it, and a check names
	// its baseline by it. For a go test benchmark it is the benchmark's
	// name without "Benchmark".
	ID   string `json:"id"`
	Name string `json:"name"` // as the table shows it
	Kind kind   `json:"kind"`
	// Where is what a run is made of: a go test benchmark's package (as
	// ./path), a peer's module directory, or the program a process workload
	// starts (rayvens or hello).
	Where     string   `json:"where"`
	BenchTime string   `json:"benchtime,omitempty"` // go test's -benchtime, e.g. 200000x
	Args      []string `json:"args,omitempty"`      // a peer's or a process's arguments
	// Metric is the reported metric the workload is judged by; Also are
	// other metrics the table shows next to it. Every metric a run reports
	// is kept in the JSON.
	Metric string   `json:"metric"`
	Also   []string `json:"also,omitempty"`
	Checks []check  `json:"checks,omitempty"`
	// Shared lets a go test benchmark run in one process with the other
	// Shared benchmarks of its package and -benchtime (see job).
	Shared bool `json:"shared,omitempty"`
}

// kind is how a workload's run is made.
type kind string

const (
	// goBench runs one benchmark of a package's test binary (built once
	// with go test -c) and reads the metrics of its result line.
	goBench kind = "go test -bench"
	// peer runs a program built from a separate module under bench/peers
	// and reads the metrics of the JSON line it prints.
	peer kind = "peer"
	// process starts a program processRepeats times and takes the median
	// of its wall times, start to exit.
	process kind = "process"
)

// processRepeats is how many times a process workload starts its program
// in one run.
const processRepeats = 20

// topLevelN is the event count of the top-level loop and of the peer it is
// compared with: same N, same machine, same run.
const topLevelN = "1000000"

const (
	mb = 1e6
	kb = 1e3
)

// workloads are those of issue 10 and docs/performance.md, with their
// targets. A baseline sits next to what is compared with it, so that the
// two run close in time.
var workloads = []workload{
	{ID: "AppendToFunc", Name: "Go Append -> Go func", Kind: goBench, Where: "./engine", BenchTime: "1000000x", Metric: "events/s",
		Checks: []check{atLeast(10e6)}},
	{ID: "AppendTracked", Name: "Go AppendAck -> Go func (tracked)", Kind: goBench, Where: "./engine", BenchTime: "1000000x", Metric: "events/s",
		Checks: []check{timeOf("AppendToFunc", "<=", 1.2)}},
	{ID: "Chain", Name: "Go Append -> 3-stage chain", Kind: goBench, Where: "./engine", BenchTime: "500000x", Metric: "events/s"},
	{ID: "AppendToActor", Name: "Go Append -> actor", Kind: goBench, Where: "./engine", BenchTime: "500000x", Metric: "events/s"},
	{ID: "IdleStream", Name: "idle stream with 1 subscriber", Kind: goBench, Where: "./engine", BenchTime: "10000x", Metric: "B/stream",
		Checks: []check{atMost(4 * kb)}},
	{ID: "ManyStreams", Name: "10,000 streams x 1 subscriber x 100 events", Kind: goBench, Where: "./engine", BenchTime: "10000x", Metric: "B/stream", Also: []string{"events/s"},
		Checks: []check{atMost(4 * kb), rssAtMost(100 * mb)}},

	{ID: "LambdaDirect", Name: "the lambda's calls made directly", Kind: goBench, Where: "./starlark", BenchTime: "1000000x", Metric: "events/s"},
	{ID: "AppendToLambda", Name: "Starlark s << i -> lambda", Kind: goBench, Where: "./starlark", BenchTime: "1000000x", Metric: "events/s",
		Checks: []check{atLeast(2e6), timeOf("LambdaDirect", "<=", 2.0)}},
	{ID: "LambdaChain", Name: "Starlark s >> f >> g >> h", Kind: goBench, Where: "./starlark", BenchTime: "500000x", Metric: "events/s",
		Checks: []check{atLeast(1e6)}},
	{ID: "Task", Name: "Starlark Task", Kind: goBench, Where: "./starlark", BenchTime: "100000x", Metric: "events/s"},
	{ID: "TaskCPU1", Name: "Task, CPU-heavy callback, parallelism=1", Kind: goBench, Where: "./starlark", BenchTime: "20000x", Metric: "events/s"},
	{ID: "TaskCPU2", Name: "Task, CPU-heavy callback, parallelism=2", Kind: goBench, Where: "./starlark", BenchTime: "20000x", Metric: "events/s",
		Checks: []check{speedOf("TaskCPU1", ">=", 1.8)}},
	{ID: "TopLevelDirect", Name: "the top-level loop's calls made directly", Kind: goBench, Where: "./starlark", BenchTime: topLevelN + "x", Metric: "events/s"},
	{ID: "BenthosBatch1", Name: "Benthos generate -> mapping -> drop, batch 1", Kind: peer, Where: "bench/peers/benthos", Args: []string{"-count", topLevelN, "-batch", "1"}, Metric: "msg/s"},
	{ID: "BenthosBatch100", Name: "Benthos generate -> mapping -> drop, batch 100", Kind: peer, Where: "bench/peers/benthos", Args: []string{"-count", topLevelN, "-batch", "100"}, Metric: "msg/s"},
	{ID: "TopLevelLoop", Name: "Starlark top-level loop s << i, 1M events", Kind: goBench, Where: "./starlark", BenchTime: topLevelN + "x", Metric: "events/s",
		Checks: []check{timeOf("TopLevelDirect", "<=", 2.0), speedOf("BenthosBatch1", ">=", 20), speedOf("BenthosBatch100", ">=", 4)}},

	{ID: "SourceToSink", Name: "plugin source -> stream -> plugin sink", Kind: goBench, Where: "./plugins", BenchTime: "300000x", Metric: "events/s",
		Checks: []check{atLeast(1e6)}},
	// Latency and SlowSink send a fixed count of events (at least b.N): at
	// 1x, go test runs each once. They share a process, because the
	// package's TestMain builds eight plugins in each (half a minute on a
	// loaded machine).
	{ID: "Latency", Name: "latency at 10k events/s, plugin to plugin", Kind: goBench, Where: "./plugins", BenchTime: "1x", Metric: "p99-ns", Also: []string{"p50-ns"},
		Checks: []check{atMost(2e6)}, Shared: true},
	// "Flat as the count grows" made a number: the host's RSS once every
	// event is acknowledged is at most 1.25x what it was at a quarter.
	{ID: "SlowSink", Name: "1M events into a slow sink", Kind: goBench, Where: "./plugins", BenchTime: "1x", Metric: "rss-100%-MB", Also: []string{"rss-25%-MB", "sink-rss-100%-MB"},
		Checks: []check{growth("rss-25%-MB", "<=", 1.25)}, Shared: true},

	{ID: "FileSinkFixedName", Name: "file-sink with a fixed fileName, 20k events", Kind: goBench, Where: ".", BenchTime: "20000x", Metric: "events/s",
		Checks: []check{atLeast(100e3)}},
	{ID: "FirstEvent", Name: "rayvens run: start to first timer event", Kind: goBench, Where: ".", BenchTime: "10x", Metric: "ns/op",
		Checks: []check{atMost(30e6)}},
	// Issue 12: cluster streams through the binary, one embedded JetStream
	// server and four processes on this machine. No target is set for the
	// rate; the redelivery of a dead worker's events is bounded by the ack
	// wait (plus the fetch that takes them again).
	{ID: "ClusterTaskWorkers", Name: "cluster: producer -> Task workers in 2 processes", Kind: goBench, Where: ".", BenchTime: "1x", Metric: "events/s", Also: []string{"appended-events/s"}},
	{ID: "ClusterRedeliveryAckWait1s", Name: "cluster: a killed worker's events done again, ack wait 1s", Kind: goBench, Where: ".", BenchTime: "1x", Metric: "redone-last-ns", Also: []string{"redone-first-ns"},
		Checks: []check{atMost(1.5e9)}},
	{ID: "ClusterRedeliveryAckWait5s", Name: "cluster: a killed worker's events done again, ack wait 5s", Kind: goBench, Where: ".", BenchTime: "1x", Metric: "redone-last-ns", Also: []string{"redone-first-ns"},
		Checks: []check{atMost(5.5e9)}},
	{ID: "ProcessHello", Name: "a hello-world Go binary, whole process", Kind: process, Where: "hello", Metric: "ns/run"},
	{ID: "ProcessStream", Name: "rayvens run examples/stream.star, whole process", Kind: process, Where: "rayvens", Args: []string{"run", "examples/stream.star"}, Metric: "ns/run",
		Checks: []check{timeOf("ProcessHello", "<=", 2.0)}},
}

package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rayvens/rayvens/internal/testport"
	"github.com/stretchr/testify/require"
)

// The benchmarks of `rayvens run --cluster` through the binary, on this
// machine: a process holding the embedded JetStream server, two worker
// processes and a producer process (see docs/performance.md, Cluster
// streams). Run them without -race:
//
//	go test -run '^$' -bench 'Cluster' -benchtime 3x .

// clusterBenchEvents is the number of events one iteration appends.
const clusterBenchEvents = 20_000

// BenchmarkClusterTaskWorkers measures events/s from a producer process
// to Task workers in two other processes: from the producer's start to
// the last done event stored. It also reports the producer's own rate,
// start to exit (every append stored).
func BenchmarkClusterTaskWorkers(b *testing.B) {
	b.StopTimer()
	var total, producing time.Duration
	for range b.N {
		holder, url, js, w1, w2 := startClusterBench(b, "5s", clusterWorkerScript)
		script := clusterScript(b, "producer.star", clusterProducerScript)

		b.StartTimer()
		start := time.Now()
		producer := startClusterProc(b, nil, "run", "--cluster", url, script, strconv.Itoa(clusterBenchEvents))
		require.Equal(b, 0, producer.wait(b, 2*time.Minute), "stderr:\n%s", producer.stderr)
		producing += time.Since(start)
		done := waitAllDone(b, js, clusterBenchEvents, w1, w2)
		total += time.Since(start)
		b.StopTimer()

		by := doneBy(done)
		require.NotZero(b, by["w1"], "w1 did part of the work: %v", by)
		require.NotZero(b, by["w2"], "w2 did part of the work: %v", by)
		w1.stop(b)
		w2.stop(b)
		holder.stop(b)
	}
	events := float64(clusterBenchEvents * b.N)
	b.ReportMetric(events/total.Seconds(), "events/s")
	b.ReportMetric(events/producing.Seconds(), "appended-events/s")
}

// BenchmarkClusterRedeliveryAckWait1s and ...5s measure how long after a
// worker process is SIGKILLed the events it had started are done by the
// other worker: the first and the last of them. The workers spend 2 ms on
// each event, so the kill lands while the killed one holds some.
func BenchmarkClusterRedeliveryAckWait1s(b *testing.B) { benchClusterRedelivery(b, "1s") }
func BenchmarkClusterRedeliveryAckWait5s(b *testing.B) { benchClusterRedelivery(b, "5s") }

func benchClusterRedelivery(b *testing.B, ackWait string) {
	const n = 4000
	var first, last time.Duration
	var abandoned int
	for range b.N {
		holder, url, js, w1, w2 := startClusterBench(b, ackWait, clusterSlowWorkerScript, "0.002")
		producer := startClusterProc(b, nil, "run", "--cluster", url, clusterScript(b, "producer.star", clusterProducerScript), strconv.Itoa(n))
		require.Eventually(b, func() bool { return clusterCount(js, "rayvens_done") >= n/4 }, 2*time.Minute, 5*time.Millisecond)
		require.NoError(b, w1.cmd.Process.Kill())
		killedAt := time.Now()
		require.Equal(b, 0, producer.wait(b, 2*time.Minute), "stderr:\n%s", producer.stderr)

		done := waitAllDone(b, js, n, w2)
		lost := abandonedBy(b, js, done, "w1")
		require.NotEmpty(b, lost, "w1 held events when it was killed")
		f, l := redelivered(b, js, killedAt, lost, "w2")
		first += f
		last += l
		abandoned += len(lost)
		w2.stop(b)
		holder.stop(b)
	}
	b.ReportMetric(float64(first.Nanoseconds())/float64(b.N), "redone-first-ns")
	b.ReportMetric(float64(last.Nanoseconds())/float64(b.N), "redone-last-ns")
	b.ReportMetric(float64(abandoned)/float64(b.N), "abandoned-events")
	b.ReportMetric(0, "ns/op")
}

// startClusterBench starts a process holding an embedded server and two
// workers w1 and w2 running script (args after their name in argv).
func startClusterBench(b *testing.B, ackWait, script string, args ...string) (holder *clusterProc, url string, js jetstream.JetStream, w1, w2 *clusterProc) {
	port := testport.Free(b)
	holder = startClusterHolder(b, port, nil)
	url = "nats://127.0.0.1:" + strconv.Itoa(port)
	js = clusterJS(b, url)
	worker := clusterScript(b, "worker.star", script)
	w1 = startClusterWorker(b, js, url, ackWait, worker, "w1", args...)
	w2 = startClusterWorker(b, js, url, ackWait, worker, "w2", args...)
	return holder, url, js, w1, w2
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Kafka tests run examples/kafka.star (kafka-source -> Actor ->
// kafka-sink) through the real binary against kfake, a Kafka cluster in
// the test's process on loopback.

// kafkaCluster starts a one-broker cluster with the topics "in" (3
// partitions) and "out", closed when the test ends, and returns its address.
func kafkaCluster(t testing.TB) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "in", "out"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

func kafkaClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// produceNumbered writes n records "r00000".. to topic.
func produceNumbered(t testing.TB, addr, topic string, n int) {
	t.Helper()
	require.NoError(t, produceRange(kafkaClient(t, addr), topic, 0, n))
}

// produceRange writes the records "r<from>".."r<to-1>" to topic.
func produceRange(cl *kgo.Client, topic string, from, to int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	records := make([]*kgo.Record, 0, to-from)
	for i := from; i < to; i++ {
		records = append(records, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("r%05d", i))})
	}
	return cl.ProduceSync(ctx, records...).FirstErr()
}

// topicReader reads a topic from its start, counting each value.
type topicReader struct {
	cl     *kgo.Client
	counts map[string]int
	total  int
}

func newTopicReader(t testing.TB, addr, topic string) *topicReader {
	return &topicReader{
		cl:     kafkaClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())),
		counts: map[string]int{},
	}
}

// poll reads what is there (waiting at most a moment) and returns how
// many distinct values it has read so far.
func (r *topicReader) poll() int {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r.cl.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
		r.counts[string(rec.Value)]++
		r.total++
	})
	return len(r.counts)
}

// startKafkaRun starts rayvens on examples/kafka.star in its own process
// group (its plugin joins it), killed when the test ends.
func startKafkaRun(t testing.TB, addr, group string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binary, "run", "examples/kafka.star", addr, "in", "out", group)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd, &stderr
}

// TestKafkaSIGKILLHalfWay: 10,000 records through kafka-source -> Actor ->
// kafka-sink; rayvens and its plugin are SIGKILLed together half way and
// started again with the same group. Every input record is in the output
// topic (at least once: the duplicates are what was done and not committed
// yet when the kill came), and no process is left.
func TestKafkaSIGKILLHalfWay(t *testing.T) {
	const n = 10000
	addr := kafkaCluster(t)
	out := newTopicReader(t, addr, "out")

	// The records come over 4 seconds, so that some offsets are committed
	// (every second) before the kill and some are not.
	producer := kafkaClient(t, addr)
	produced := make(chan error, 1)
	go func() {
		for i := 0; i < n; i += n / 40 {
			if err := produceRange(producer, "in", i, i+n/40); err != nil {
				produced <- err
				return
			}
			time.Sleep(100 * time.Millisecond) // pacing the load, not a wait for a condition
		}
		produced <- nil
	}()
	first, stderr := startKafkaRun(t, addr, "e2e")
	require.Eventually(t, func() bool { return out.poll() >= n/2 }, time.Minute, time.Millisecond, "half the records through; stderr:\n%s", stderr)
	plugins := children(t, first.Process.Pid)
	require.NotEmpty(t, plugins, "the built-in plugin serves kafka")
	require.NoError(t, syscall.Kill(-first.Process.Pid, syscall.SIGKILL))
	_ = first.Wait()
	for _, pid := range plugins {
		require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 10*time.Millisecond, "the plugin died with rayvens")
	}
	t.Logf("killed with %d of %d records in the output topic", len(out.counts), n)
	require.NoError(t, <-produced)

	second, stderr := startKafkaRun(t, addr, "e2e")
	require.Eventually(t, func() bool { return out.poll() == n }, 2*time.Minute, 10*time.Millisecond, "every record in the output topic; stderr:\n%s", stderr)
	plugins = children(t, second.Process.Pid)
	require.NoError(t, second.Process.Signal(syscall.SIGINT))
	require.NoError(t, waitWithin(t, second, 30*time.Second), "a graceful stop; stderr:\n%s", stderr)
	for _, pid := range plugins {
		require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 10*time.Millisecond, "no plugin left")
	}
	out.poll()
	for i := range n {
		require.NotZero(t, out.counts[fmt.Sprintf("R%05d", i)], "record %d is in the output topic", i)
	}
	require.Len(t, out.counts, n, "nothing but the input records, in capitals")
	t.Logf("%d records in, %d out: %d duplicates (at least once)", n, out.total, out.total-n)
}

// TestKafkaExample runs examples/kafka.star with its arguments and checks
// the output topic; without them it prints its usage.
func TestKafkaExample(t *testing.T) {
	stdout, stderr, code := rayvens(t, "run", "examples/kafka.star")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "usage: rayvens run examples/kafka.star BROKERS INPUT_TOPIC OUTPUT_TOPIC [GROUP]\n", stdout)

	addr := kafkaCluster(t)
	produceNumbered(t, addr, "in", 100)
	out := newTopicReader(t, addr, "out")
	run, stderrBuf := startKafkaRun(t, addr, "example")
	require.Eventually(t, func() bool { return out.poll() == 100 }, time.Minute, 10*time.Millisecond, "stderr:\n%s", stderrBuf)
	require.NoError(t, run.Process.Signal(syscall.SIGINT))
	require.NoError(t, waitWithin(t, run, 30*time.Second), stderrBuf.String())
	require.Equal(t, 1, out.counts["R00042"])
	require.NotContains(t, stderrBuf.String(), "warn")
}

// TestKafkaUnreachable: a broker nobody listens on is named, with the
// cause, on one line.
func TestKafkaUnreachable(t *testing.T) {
	cmd := exec.Command(binary, "run", "--for", "3s", "examples/kafka.star", "127.0.0.1:1", "in", "out")
	out, _ := cmd.CombinedOutput()
	require.Contains(t, string(out), "kafka-source: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused; trying again")
}

// BenchmarkKafkaThroughBinary measures events/s from kafka-source through
// an actor to kafka-sink in the real binary: the input topic is filled
// first, and the clock runs from rayvens' start until the output topic
// has every record (startup included).
//
//	go test -run '^$' -bench KafkaThroughBinary -benchtime 1x .
func BenchmarkKafkaThroughBinary(b *testing.B) {
	n := 100000
	if s := os.Getenv("RAYVENS_KAFKA_BENCH_RECORDS"); s != "" {
		_, _ = fmt.Sscan(s, &n)
	}
	for i := 0; i < b.N; i++ {
		addr := kafkaCluster(b)
		produceNumbered(b, addr, "in", n)
		out := newTopicReader(b, addr, "out")
		start := time.Now()
		run, stderr := startKafkaRun(b, addr, fmt.Sprintf("bench-%d", i))
		for out.poll() < n {
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("%d of %d records after 5 minutes; stderr:\n%s", len(out.counts), n, stderr)
			}
		}
		elapsed := time.Since(start)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		if strings.Contains(stderr.String(), "warn") {
			b.Logf("stderr:\n%s", stderr)
		}
		require.NoError(b, syscall.Kill(-run.Process.Pid, syscall.SIGKILL)) // the run and its plugin
		_ = run.Wait()
	}
}

// Command benthos is the peer that bench compares Rayvens with: a Benthos
// stream (the open-source core, github.com/redpanda-data/benthos/v4) that
// moves N messages through one trivial processor as fast as it can, built
// in its own module so that the main module does not depend on Benthos.
//
//	go run . -count 1000000 -batch 100
//
// The stream is
//
//	input:    generate (count N, interval "", batch_size B, root = counter())
//	pipeline: threads 1, processors [mapping: root = this]
//	output:   drop
//
// It ends by itself once generate has made its N messages and every one of
// them has reached the output. The program prints one JSON line on stdout:
//
//	{"messages":1000000,"seconds":3.1,"msg_per_s":322580,"peak_rss_bytes":41943040}
//
// messages is the count the output reported as sent (through a metrics
// exporter that counts output_sent), so a figure is never taken from a
// stream that lost messages: the program fails when it differs from N.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure" // generate, mapping, drop
	"github.com/redpanda-data/benthos/v4/public/service"
)

// result is the line the program prints.
type result struct {
	Messages     int64   `json:"messages"`
	Seconds      float64 `json:"seconds"`
	MsgPerS      float64 `json:"msg_per_s"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
}

func main() {
	count := flag.Int("count", 1_000_000, "messages to generate")
	batch := flag.Int("batch", 1, "generate's batch_size")
	flag.Parse()
	if *count < 1 || *batch < 1 {
		fmt.Fprintln(os.Stderr, "benthos: -count and -batch must be at least 1")
		os.Exit(2)
	}
	r, err := run(*count, *batch)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benthos: %v\n", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintf(os.Stderr, "benthos: %v\n", err)
		os.Exit(1)
	}
}

// run builds the stream, runs it to its end and measures it: the time
// covers building the stream's components, moving every message and
// shutting down, as a whole Benthos run would.
func run(count, batch int) (result, error) {
	env := service.NewEnvironment()
	var sent atomic.Int64
	err := env.RegisterMetricsExporter("count_sent", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Logger) (service.MetricsExporter, error) {
			return &sentCounter{sent: &sent}, nil
		})
	if err != nil {
		return result{}, err
	}
	b := env.NewStreamBuilder()
	b.SetLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	b.SetThreads(1)
	steps := []func() error{
		func() error { return b.SetMetricsYAML("count_sent: {}") },
		func() error {
			return b.AddInputYAML(fmt.Sprintf(`generate:
  count: %d
  interval: ""
  batch_size: %d
  mapping: root = counter()
`, count, batch))
		},
		func() error { return b.AddProcessorYAML("mapping: root = this") },
		func() error { return b.AddOutputYAML("drop: {}") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return result{}, err
		}
	}

	start := time.Now()
	stream, err := b.Build()
	if err != nil {
		return result{}, err
	}
	if err := stream.Run(context.Background()); err != nil {
		return result{}, fmt.Errorf("the stream failed: %w", err)
	}
	elapsed := time.Since(start).Seconds()

	if n := sent.Load(); n != int64(count) {
		return result{}, fmt.Errorf("the output sent %d messages of %d", n, count)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return result{
		Messages:     sent.Load(),
		Seconds:      elapsed,
		MsgPerS:      float64(count) / elapsed,
		PeakRSSBytes: int64(ru.Maxrss) * 1024, // kilobytes on Linux
	}, nil
}

// sentCounter is a metrics exporter that counts the messages the output
// sent (the output_sent counter) and ignores every other metric.
type sentCounter struct{ sent *atomic.Int64 }

func (c *sentCounter) NewCounterCtor(name string, _ ...string) service.MetricsExporterCounterCtor {
	if name != "output_sent" {
		return func(...string) service.MetricsExporterCounter { return discard{} }
	}
	return func(...string) service.MetricsExporterCounter { return (*counter)(c.sent) }
}

func (c *sentCounter) NewTimerCtor(string, ...string) service.MetricsExporterTimerCtor {
	return func(...string) service.MetricsExporterTimer { return discard{} }
}

func (c *sentCounter) NewGaugeCtor(string, ...string) service.MetricsExporterGaugeCtor {
	return func(...string) service.MetricsExporterGauge { return discard{} }
}

func (c *sentCounter) Close(context.Context) error { return nil }

// counter adds to the count of messages sent.
type counter atomic.Int64

func (c *counter) Incr(n int64) { (*atomic.Int64)(c).Add(n) }

// discard is every metric nobody reads.
type discard struct{}

func (discard) Incr(int64)   {}
func (discard) Timing(int64) {}
func (discard) Set(int64)    {}

package plugins

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rayvens/rayvens/engine"
)

// The benchmarks of the plugin path. Each reports, besides its own
// figures, the CPU time the host process (this one) and the plugin process
// used per event: on a shared machine those move much less than the
// elapsed time does.

// BenchmarkSourceToSink measures events per second from a plugin source
// (dice-source as fast as it can roll) through a stream into a plugin sink
// (jsonl-sink appending to a file, synced after each batch), both in the
// example plugin process, batched by the protocol. The time includes
// draining every acknowledgement: a source's event is acknowledged once
// the sink has acknowledged writing it.
func BenchmarkSourceToSink(b *testing.B) {
	h, err := NewHost(Options{PluginDirs: []string{pluginDir}, Log: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	// Start the plugin before timing.
	if _, err := h.Kind(ctx, "dice-source"); err != nil {
		b.Fatal(err)
	}
	src, err := h.OpenSource(ctx, "dice-source", "dice", map[string]any{"period": 0, "count": b.N})
	if err != nil {
		b.Fatal(err)
	}
	sink, err := h.OpenSink(ctx, "jsonl-sink", "file", map[string]any{"path": filepath.Join(b.TempDir(), "out.jsonl")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.Options{OnError: func(err error) { b.Error(err) }})
	cpu := startCPU(h.pid("example"))
	b.ResetTimer()
	s, err := eng.NewStream("s", engine.StreamConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Subscribe("file", engine.ToSink(sink.Name(), sink)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddSource("dice", src); err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := eng.Wait(wctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, b.N)
	_ = eng.Shutdown(wctx)
	_ = sink.Close(wctx)
}

// BenchmarkLatency measures how long an event takes from a plugin source
// to a plugin sink at a steady 10,000 events per second: from the moment
// paced-source emits it (the time is its body) to the moment the host
// receives paced-sink's acknowledgement of it (the sink's done), through
// the SDK's batching, the stream and the host's. Both kinds run in the
// bench plugin's process; the sink does no work. It sends max(b.N, 20,000)
// events and leaves the first tenth out (warm-up, at most 1,000 events);
// ns/op is per event (about 100µs: the pace).
func BenchmarkLatency(b *testing.B) {
	const rate = 10_000
	n := max(b.N, 20_000)
	h := benchHost(b)
	ctx := context.Background()
	src, err := h.OpenSource(ctx, "paced-source", "paced", map[string]any{"rate": rate, "count": n})
	if err != nil {
		b.Fatal(err)
	}
	sink, err := h.OpenSink(ctx, "paced-sink", "null", map[string]any{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	latencies := make([]int64, n) // by arrival; the sink's done calls come one at a time
	var arrived atomic.Int64
	timed := observedSink{Sink: sink, observe: func(ev engine.Event, err error) {
		if err != nil {
			return
		}
		emitted, perr := strconv.ParseInt(string(ev.(Event).Body), 10, 64)
		if perr != nil {
			b.Errorf("paced-source sent %q", ev.(Event).Body)
			return
		}
		if i := arrived.Add(1) - 1; i < int64(n) {
			latencies[i] = time.Now().UnixNano() - emitted
		}
	}}
	eng := engine.New(engine.Options{OnError: func(err error) { b.Error(err) }})
	cpu := startCPU(h.pid("bench"))
	b.ResetTimer()
	runPipeline(b, eng, src, timed)
	b.StopTimer()
	if got := arrived.Load(); got != int64(n) {
		b.Fatalf("%d events arrived, want %d", got, n)
	}
	warm := min(n/10, 1_000)
	sorted := slices.Sorted(slices.Values(latencies[warm:]))
	at := func(q float64) float64 { return float64(sorted[int(q*float64(len(sorted)-1))]) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p99.9-ns")
	b.ReportMetric(float64(sorted[len(sorted)-1]), "max-ns")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/op")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, n)
	_ = eng.Shutdown(ctx)
	_ = sink.Close(ctx)
}

// BenchmarkSlowSink floods a slow plugin sink: dice-source as fast as it
// can roll (in the example plugin's process) into paced-sink taking
// 250,000 events per second (4µs an event, in the bench plugin's), for
// max(b.N, 1M) events. It reports the memory of the host and of the sink's
// process when 25, 50, 75 and 100% of the events are acknowledged: the
// host's live heap (after a GC) and RSS, and the sink plugin's RSS.
// Backpressure keeps them flat: nothing holds an event beyond the stream's
// capacity, the sink's queue and its window of batches in flight (and the
// source's, on the source's side). ns/op is per event.
func BenchmarkSlowSink(b *testing.B) {
	n := max(b.N, 1_000_000)
	h := benchHost(b)
	ctx := context.Background()
	if _, err := h.Kind(ctx, "dice-source"); err != nil {
		b.Fatal(err)
	}
	src, err := h.OpenSource(ctx, "dice-source", "dice", map[string]any{"period": 0, "count": n})
	if err != nil {
		b.Fatal(err)
	}
	sink, err := h.OpenSink(ctx, "paced-sink", "slow", map[string]any{"rate": 250_000}, nil)
	if err != nil {
		b.Fatal(err)
	}
	quarters := make(chan int, 4)
	var acked atomic.Int64
	counted := observedSink{Sink: sink, observe: func(_ engine.Event, _ error) {
		if c := acked.Add(1); c%int64(n/4) == 0 && c/int64(n/4) <= 4 {
			quarters <- int(c / int64(n/4))
		}
	}}
	samples := make(chan [4][3]float64, 1)
	go func() {
		var s [4][3]float64
		for range 4 {
			q := <-quarters
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			s[q-1] = [3]float64{float64(ms.HeapAlloc), rss(0), rss(h.pid("bench"))}
		}
		samples <- s
	}()
	eng := engine.New(engine.Options{OnError: func(err error) { b.Error(err) }})
	b.ResetTimer()
	runPipeline(b, eng, src, counted)
	b.StopTimer()
	select {
	case s := <-samples:
		for q, m := range s {
			pct := (q + 1) * 25
			b.ReportMetric(m[0]/(1<<20), fmt.Sprintf("heap-%d%%-MB", pct))
			if m[1] > 0 && m[2] > 0 { // where /proc tells them
				b.ReportMetric(m[1]/(1<<20), fmt.Sprintf("rss-%d%%-MB", pct))
				b.ReportMetric(m[2]/(1<<20), fmt.Sprintf("sink-rss-%d%%-MB", pct))
			}
		}
	case <-time.After(time.Minute):
		b.Fatal("the memory samples were not taken")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/op")
	_ = eng.Shutdown(ctx)
	_ = sink.Close(ctx)
}

// runPipeline runs src into sink through one stream and waits until every
// event is acknowledged.
func runPipeline(b *testing.B, eng *engine.Engine, src engine.Source, sink engine.Sink) {
	b.Helper()
	s, err := eng.NewStream("s", engine.StreamConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Subscribe("sink", engine.ToSink("sink", sink)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddSource("source", src); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := eng.Wait(ctx); err != nil {
		b.Fatal(err)
	}
}

// observedSink is a Sink that tells observe of each event's outcome, as
// its done is called.
type observedSink struct {
	*Sink
	observe func(ev engine.Event, err error)
}

func (s observedSink) Deliver(ctx context.Context, ev engine.Event, done func(error)) error {
	return s.Sink.Deliver(ctx, ev, func(err error) {
		s.observe(ev, err)
		done(err)
	})
}

// benchHost returns a host over the example plugin and the bench plugin
// (testdata/benchplugin, built on first use), with the bench plugin
// started.
func benchHost(b *testing.B) *Host {
	b.Helper()
	benchPlugin.once.Do(func() {
		dir := filepath.Join(pluginDir, "bench")
		benchPlugin.dir = dir
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "rayvens-plugin-bench"), "./testdata/benchplugin")
		out, err := cmd.CombinedOutput()
		if err != nil {
			benchPlugin.err = fmt.Errorf("building the bench plugin: %v\n%s", err, out)
		}
	})
	if benchPlugin.err != nil {
		b.Fatal(benchPlugin.err)
	}
	h, err := NewHost(Options{PluginDirs: []string{pluginDir, benchPlugin.dir}, Log: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Close() })
	if _, err := h.Kind(context.Background(), "paced-source"); err != nil {
		b.Fatal(err)
	}
	return h
}

var benchPlugin struct {
	once sync.Once
	dir  string
	err  error
}

// cpuMeter measures the CPU time this process and a plugin process use.
type cpuMeter struct {
	pid         int
	host, guest time.Duration
}

func startCPU(pid int) cpuMeter {
	return cpuMeter{pid: pid, host: cpuTime(0), guest: cpuTime(pid)}
}

// report reports the CPU time per event since start, of this process
// (host-cpu-ns/event) and of the plugin's (plugin-cpu-ns/event), where the
// system tells it.
func (m cpuMeter) report(b *testing.B, events int) {
	if host := cpuTime(0); host > 0 {
		b.ReportMetric(float64(host-m.host)/float64(events), "host-cpu-ns/event")
	}
	if guest := cpuTime(m.pid); guest > 0 && m.pid > 0 {
		b.ReportMetric(float64(guest-m.guest)/float64(events), "plugin-cpu-ns/event")
	}
}

// cpuTime returns the user and system CPU time process pid (0: this one)
// has used, in clock ticks of 10ms, or 0 where /proc does not tell it.
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(procFile(pid, "stat"))
	if err != nil {
		return 0
	}
	// utime and stime are fields 14 and 15, the 12th and 13th after comm.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick
}

func procFile(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

// rss returns the resident set size of process pid (0: this one) in
// bytes, or 0 where /proc does not tell it.
func rss(pid int) float64 {
	data, err := os.ReadFile(procFile(pid, "status"))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

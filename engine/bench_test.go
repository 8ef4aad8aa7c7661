package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

func noop(context.Context, engine.Event) (engine.Event, error) { return nil, nil }

func identity(_ context.Context, ev engine.Event) (engine.Event, error) { return ev, nil }

// benchAppend appends b.N ints to s and waits until they are all processed,
// so the rate covers delivery, not just queueing.
func benchAppend(b *testing.B, e *engine.Engine, s *engine.Stream) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Append(ctx, i); err != nil {
			b.Fatal(err)
		}
	}
	require.NoError(b, e.Wait(ctx))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	shutdown(b, e)
}

func BenchmarkAppendToFunc(b *testing.B) {
	e, _ := newEngine(b)
	s := newStream(b, e, "bench", engine.StreamConfig{})
	subscribe(b, s, "", engine.Func("noop", noop))
	benchAppend(b, e, s)
}

func BenchmarkAppendToActor(b *testing.B) {
	e, _ := newEngine(b)
	s := newStream(b, e, "bench", engine.StreamConfig{})
	a, err := e.NewActor("bench", nil, 0)
	require.NoError(b, err)
	subscribe(b, s, "", a.Method("noop", func(ctx context.Context, _ any, ev engine.Event) (engine.Event, error) {
		return noop(ctx, ev)
	}))
	benchAppend(b, e, s)
}

func BenchmarkAppendToPool(b *testing.B) {
	e, _ := newEngine(b)
	s := newStream(b, e, "bench", engine.StreamConfig{})
	p, err := e.NewPool("bench", noop, 4)
	require.NoError(b, err)
	subscribe(b, s, "", p)
	benchAppend(b, e, s)
}

func BenchmarkChain(b *testing.B) {
	e, _ := newEngine(b)
	s := newStream(b, e, "bench", engine.StreamConfig{})
	d := subscribe(b, s, "", engine.Func("identity", identity))
	subscribe(b, d, "", engine.Func("noop", noop))
	benchAppend(b, e, s)
}

// BenchmarkAppendTracked is BenchmarkAppendToFunc with every event
// tracked end to end (WithAck): the cost of a delivery record.
func BenchmarkAppendTracked(b *testing.B) {
	e, _ := newEngine(b)
	s := newStream(b, e, "bench", engine.StreamConfig{})
	subscribe(b, s, "", engine.Func("noop", noop))
	var acked atomic.Int64
	done := func(err error) {
		if err == nil {
			acked.Add(1)
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Append(ctx, engine.WithAck(i, done)); err != nil {
			b.Fatal(err)
		}
	}
	require.NoError(b, e.Wait(ctx))
	b.StopTimer()
	require.Equal(b, int64(b.N), acked.Load())
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	shutdown(b, e)
}

// BenchmarkIdleStream measures what an idle stream with one subscription
// costs: its memory (B/stream, the heap after a collection) and its
// goroutines. Each iteration makes one stream.
func BenchmarkIdleStream(b *testing.B) {
	e := engine.New(engine.Options{})
	defer func() { _ = e.Shutdown(context.Background()) }()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := e.NewStream(fmt.Sprintf("s%d", i), engine.StreamConfig{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Subscribe("f", engine.Func("f", noop)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "B/stream")
	b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/float64(b.N), "goroutines/stream")
}

// BenchmarkManyStreams makes b.N streams with one Go func subscriber each
// and appends 100 events to each, round-robin, so every stream is busy at
// once: its cost per stream (B/stream, the heap after a collection once the
// events are handled) and its throughput. bench runs it with 10,000 streams
// and reports the process's peak RSS.
func BenchmarkManyStreams(b *testing.B) {
	const events = 100
	e := engine.New(engine.Options{})
	defer func() { _ = e.Shutdown(context.Background()) }()
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	streams := make([]*engine.Stream, b.N)
	for i := range streams {
		s, err := e.NewStream(fmt.Sprintf("s%d", i), engine.StreamConfig{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Subscribe("f", engine.Func("f", noop)); err != nil {
			b.Fatal(err)
		}
		streams[i] = s
	}
	for j := range events {
		for _, s := range streams {
			if err := s.Append(ctx, j); err != nil {
				b.Fatal(err)
			}
		}
	}
	require.NoError(b, e.Wait(ctx))
	b.StopTimer()
	b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "B/stream")
	b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-sys-MB")
}

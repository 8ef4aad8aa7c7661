package plugins

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/rayvens/rayvens/engine"
)

// BenchmarkSourceToSink measures events per second from a plugin source
// (dice-source as fast as it can roll) through a stream into a plugin sink
// (jsonl-sink appending to a file), both in the example plugin process,
// batched by the protocol. The time includes draining every acknowledgement.
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
	_ = eng.Shutdown(wctx)
	_ = sink.Close(wctx)
}

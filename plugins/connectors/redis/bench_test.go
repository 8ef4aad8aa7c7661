package redis

import (
	"strconv"
	"testing"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// BenchmarkSinkRPUSH measures redis-sink's side of writing batches of 256
// events of 12 bytes with RPUSH to a local redis-server (append-only file,
// fsync always), as the SDK hands them over (without the wire). An op is
// one event.
func BenchmarkSinkRPUSH(b *testing.B) {
	p := startRedis(b)
	s := sdktest.NewSink(b, SinkKind, p.config("command", "RPUSH", "key", "bench"))
	batch := make([]sdk.Event, 256)
	for i := range batch {
		batch[i] = sdk.Event{Body: []byte("event " + strconv.Itoa(100000+i))}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n += len(batch) {
		if err := s.Write(b.Context(), batch[:min(len(batch), b.N-n)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

package postgresql

import (
	"fmt"
	"testing"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// BenchmarkSinkInsert measures postgresql-sink's side of inserting batches
// of 256 JSON events into a local server (fsync off), as the SDK hands them
// over (without the wire). An op is one event.
func BenchmarkSinkInsert(b *testing.B) {
	p := startPostgres(b)
	p.exec("CREATE TABLE bench (id int, name text)")
	s := sdktest.NewSink(b, SinkKind, p.config("query", "INSERT INTO bench (id, name) VALUES (:#id, :#name)"))
	batch := make([]sdk.Event, 256)
	for i := range batch {
		batch[i] = sdk.Event{Body: fmt.Appendf(nil, `{"id": %d, "name": "event %d"}`, i, i)}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n += len(batch) {
		if err := s.Write(b.Context(), batch[:min(len(batch), b.N-n)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

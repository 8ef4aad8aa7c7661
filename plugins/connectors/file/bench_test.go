package file

import (
	"strconv"
	"testing"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// BenchmarkSinkAppend measures the sink's side of appending to a fixed
// file: batches of 256 events of 12 bytes written by Write, as the SDK
// hands them over (without the wire), with and without forceWrites. An
// op is one event.
func BenchmarkSinkAppend(b *testing.B) {
	for _, force := range []bool{true, false} {
		b.Run("forceWrites="+strconv.FormatBool(force), func(b *testing.B) {
			s := sdktest.NewSink(b, SinkKind, appendConfig(b.TempDir(), "forceWrites", force))
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
		})
	}
}

package s3

import (
	"fmt"
	"testing"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// BenchmarkSinkWrite puts batches of 100 small objects into gofakes3 on
// loopback: one PUT per event.
func BenchmarkSinkWrite(b *testing.B) {
	s3 := startS3(b, "outbox")
	sink, err := sdktest.OpenSink(SinkKind, s3.awsConfig("outbox", nil))
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]sdk.Event, 100)
	for i := range batch {
		batch[i] = event(fmt.Sprintf("event %d", i), map[string]string{keyHeader: fmt.Sprintf("k%03d", i)})
	}
	b.ResetTimer()
	for range b.N {
		if err := sdktest.Write(b, sink, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSourceRead lists, downloads and deletes objects: each event is
// a GET, and its ack a HEAD and a DELETE.
func BenchmarkSourceRead(b *testing.B) {
	s3 := startS3(b, "inbox")
	for i := range b.N {
		s3.put(b, "inbox", fmt.Sprintf("k%09d", i), "body")
	}
	src, err := sdktest.OpenSource(SourceKind, s3.awsSource("inbox", map[string]any{"maxMessagesPerPoll": 0}))
	if err != nil {
		b.Fatal(err)
	}
	var c sdktest.Collector
	b.ResetTimer()
	r := sdktest.Run(b, src, c.Emit)
	c.Wait(b, b.N)
	b.StopTimer()
	if err := r.Stop(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

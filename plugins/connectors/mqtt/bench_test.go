package mqtt

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// BenchmarkSinkToSource moves b.N events through mqtt-sink, a broker and
// mqtt-source, QoS 1 both ways, in batches of 100, and reports events/s:
//
//	go test -run '^$' -bench SinkToSource -benchtime 20000x ./plugins/connectors/mqtt/
func BenchmarkSinkToSource(b *testing.B) {
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			br := p.start(b, nil)
			src := runSource(b, map[string]any{"topic": "bench", "brokerUrl": br.url, "clientId": fmt.Sprintf("bench-%d", b.N)}, false)
			sink := sdktest.NewSink(b, SinkKind, map[string]any{"topic": "bench", "brokerUrl": br.url})
			batch := events(numbered("event-", 100)...)
			b.ResetTimer()
			start := time.Now()
			for sent := 0; sent < b.N; sent += len(batch) {
				n := min(len(batch), b.N-sent)
				require.NoError(b, sdktest.Write(b, sink, batch[:n]...))
			}
			require.Eventually(b, func() bool { return src.events.Len() >= b.N }, time.Minute, time.Millisecond)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

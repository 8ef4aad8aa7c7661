package telegram

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// BenchmarkSource measures updates emitted per second from a local Bot
// API server, each done at once (so confirmed as it goes):
//
//	go test -run '^$' -bench . ./plugins/connectors/telegram/
func BenchmarkSource(b *testing.B) {
	bot := newBotServer(b, token)
	for i := range b.N {
		bot.say(1, "m"+strconv.Itoa(i))
	}
	src := sdktest.NewSource(b, SourceKind, map[string]any{"authorizationToken": token, "baseUri": bot.url()}).(*source)
	src.pollDelay = time.Millisecond
	var c sdktest.Collector
	b.ResetTimer()
	sdktest.Run(b, src, c.Emit)
	c.Wait(b, b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkSink measures messages sent per second to a local Bot API
// server, in batches of 100.
func BenchmarkSink(b *testing.B) {
	bot := newBotServer(b, token)
	s := sdktest.NewSink(b, SinkKind, map[string]any{"authorizationToken": token, "baseUri": bot.url(), "chatId": "1"})
	batch := make([]sdk.Event, 100)
	for i := range batch {
		batch[i] = sdk.Event{Body: []byte("message " + strconv.Itoa(i))}
	}
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += len(batch) {
		require.NoError(b, sdktest.Write(b, s, batch[:min(len(batch), b.N-sent)]...))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
}

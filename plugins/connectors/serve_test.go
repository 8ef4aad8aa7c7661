package connectors

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins"
)

// TestMain lets this test binary be the built-in plugin of the hosts the
// tests make, as an embedding program is: started with ServeArg, it serves
// the connectors and exits; otherwise it runs the tests.
func TestMain(m *testing.M) {
	ServeIfPlugin()
	os.Exit(m.Run())
}

// TestServeIfPlugin starts this program as the built-in plugin of a host,
// with Command, and writes an event through its log-sink.
func TestServeIfPlugin(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	require.Equal(t, []string{self, ServeArg}, Command())

	var log syncLog
	h, err := plugins.NewHost(plugins.Options{Builtin: Plugin("test"), BuiltinCommand: Command(), Log: &log})
	require.NoError(t, err)
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sink, err := h.OpenSink(ctx, "log-sink", "out", map[string]any{}, nil)
	require.NoError(t, err)
	acked := make(chan error, 1)
	require.NoError(t, sink.Deliver(ctx, "hello", func(err error) { acked <- err }))
	require.NoError(t, <-acked)
	require.NoError(t, sink.Close(ctx))
	require.NoError(t, h.Close())
	require.Equal(t, "rayvens: [rayvens out] info: log-sink: Exchange[ExchangePattern: InOnly, BodyType: text/plain, Body: hello]\n", log.String())
}

// syncLog is a host log the test reads while the host may write.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

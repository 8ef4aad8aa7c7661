package timer

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// newSource validates config as the host does and makes an instance.
func newSource(t *testing.T, config map[string]any) sdk.Source {
	t.Helper()
	values, err := Kind.Kind().Validate(config)
	require.NoError(t, err)
	src, err := Kind.New(sdk.NewConfig(values), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return src
}

// collector is an emit function that keeps what it is given.
type collector struct {
	mu     sync.Mutex
	events []sdk.Event
}

func (c *collector) emit(_ context.Context, ev sdk.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, ev)
	return nil
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

func TestRepeatCountEndsTheSource(t *testing.T) {
	src := newSource(t, map[string]any{"message": "tick", "period": 1, "repeatCount": 3})
	var c collector
	require.NoError(t, src.Run(t.Context(), c.emit))
	require.Len(t, c.events, 3)
	for _, ev := range c.events {
		require.Equal(t, "tick", string(ev.Body))
		require.Equal(t, "text/plain", ev.ContentType)
	}
}

func TestRunsUntilCancelled(t *testing.T) {
	src := newSource(t, map[string]any{"message": `{"a":1}`, "period": 1, "content_type": "application/json"})
	ctx, cancel := context.WithCancel(t.Context())
	var c collector
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, c.emit) }()
	require.Eventually(t, func() bool { return c.count() >= 5 }, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	require.Equal(t, "application/json", c.events[0].ContentType)
}

func TestPeriodZeroFloods(t *testing.T) {
	src := newSource(t, map[string]any{"message": "m", "period": 0, "repeat_count": 10_000})
	var c collector
	require.NoError(t, src.Run(t.Context(), c.emit))
	require.Equal(t, 10_000, c.count())
}

func TestParameters(t *testing.T) {
	_, err := Kind.Kind().Validate(map[string]any{"period": 5})
	require.EqualError(t, err, `timer-source: missing required parameter "message"`)
	_, err = Kind.New(sdk.NewConfig(map[string]any{"message": "m", "period": int64(-1)}), slog.New(slog.DiscardHandler))
	require.EqualError(t, err, "timer-source: period must not be negative")
	values, err := Kind.Kind().Validate(map[string]any{"message": "m"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"message": "m", "period": int64(1000), "contentType": "text/plain"}, values)
}

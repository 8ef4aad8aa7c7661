package httpsource

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// quoteService is a JSON quote service whose price goes up by one at each
// request; with failFirst it answers the first requests 503.
type quoteService struct {
	mu        sync.Mutex
	requests  int
	failFirst int
	accepts   []string
}

func (q *quoteService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q.mu.Lock()
	q.requests++
	n := q.requests
	q.accepts = append(q.accepts, r.Header.Get("Accept"))
	q.mu.Unlock()
	if n <= q.failFirst {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `[{"symbol":"AAPL","price":%d,"volume":1000}]`, 100+n)
}

func (q *quoteService) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.requests
}

// syncBuffer collects log output written from the source's goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestSource validates config as the host does and makes an instance that
// logs to logs (when not nil).
func newTestSource(t *testing.T, config map[string]any, logs *syncBuffer) sdk.Source {
	t.Helper()
	values, err := Kind.Kind().Validate(config)
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	src, err := Kind.New(sdk.NewConfig(values), log)
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

func (c *collector) snapshot() []sdk.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sdk.Event(nil), c.events...)
}

// run runs src until stop returns true, then cancels it and checks that
// Run returns nil promptly.
func run(t *testing.T, src sdk.Source, c *collector, stop func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, c.emit) }()
	require.Eventually(t, stop, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestEmitsEachQuote(t *testing.T) {
	quotes := &quoteService{}
	srv := httptest.NewServer(quotes)
	defer srv.Close()
	src := newTestSource(t, map[string]any{"url": srv.URL + "/api/v3/quote-short/AAPL?apikey=demo", "period": 5}, nil)
	var c collector
	run(t, src, &c, func() bool { return len(c.snapshot()) >= 3 })

	events := c.snapshot()
	for i, ev := range events[:3] {
		require.Equal(t, fmt.Sprintf(`[{"symbol":"AAPL","price":%d,"volume":1000}]`, 101+i), string(ev.Body), "quote %d", i)
		require.Equal(t, "application/json", ev.ContentType)
	}
	quotes.mu.Lock()
	defer quotes.mu.Unlock()
	require.Equal(t, "application/json", quotes.accepts[0], "contentType is the Accept header")
}

func TestFirstFetchIsImmediate(t *testing.T) {
	srv := httptest.NewServer(&quoteService{})
	defer srv.Close()
	// With an hour's period, only the first fetch can happen during the test.
	src := newTestSource(t, map[string]any{"url": srv.URL, "period": 3_600_000, "content_type": "text/plain"}, nil)
	var c collector
	run(t, src, &c, func() bool { return len(c.snapshot()) == 1 })
	require.Equal(t, "application/json", c.snapshot()[0].ContentType, "the content type is the response's")
}

func TestFailuresAreLoggedAndRetried(t *testing.T) {
	quotes := &quoteService{failFirst: 3}
	srv := httptest.NewServer(quotes)
	defer srv.Close()
	var logs syncBuffer
	src := newTestSource(t, map[string]any{"url": srv.URL + "/quote?apikey=SECRET-KEY", "period": 5}, &logs)
	var c collector
	run(t, src, &c, func() bool { return len(c.snapshot()) >= 1 })

	require.Equal(t, `[{"symbol":"AAPL","price":104,"volume":1000}]`, string(c.snapshot()[0].Body),
		"the first three answers failed and were not emitted")
	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "level=WARN"), "a repeated failure is a warning once:\n%s", out)
	require.Contains(t, out, "answered 503 Service Unavailable")
	require.Contains(t, out, "url="+srv.URL+"/quote ")
	require.Contains(t, out, "fetching works again")
	require.NotContains(t, out, "SECRET-KEY", "the query string is never logged")
}

func TestUnreachableServiceIsNotFatal(t *testing.T) {
	srv := httptest.NewServer(&quoteService{})
	addr := srv.URL
	srv.Close() // nothing listens there any more
	var logs syncBuffer
	src := newTestSource(t, map[string]any{"url": strings.Replace(addr, "http://", "http://user:PASSWORD@", 1) + "/q?apikey=SECRET-KEY", "period": 5}, &logs)
	var c collector
	run(t, src, &c, func() bool { return strings.Count(logs.String(), "fetch failed again") >= 2 })

	out := logs.String()
	require.Contains(t, out, "level=WARN msg=\"fetch failed; retrying at the next period\" url="+addr+"/q error=")
	require.Contains(t, out, "connection refused")
	require.NotContains(t, out, "SECRET-KEY")
	require.NotContains(t, out, "PASSWORD")
	require.Empty(t, c.snapshot())
}

func TestParameters(t *testing.T) {
	values, err := Kind.Kind().Validate(map[string]any{"url": "http://example.com/q"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"url": "http://example.com/q", "period": int64(1000), "contentType": "application/json"}, values)

	_, err = Kind.Kind().Validate(map[string]any{"period": 5})
	require.EqualError(t, err, `http-source: missing required parameter "url"`)

	for _, bad := range []struct {
		config map[string]any
		err    string
	}{
		{map[string]any{"url": "ftp://example.com/?apikey=SECRET", "period": int64(10)}, "http-source: url must be an http:// or https:// URL"},
		{map[string]any{"url": "example.com/q", "period": int64(10)}, "http-source: url must be an http:// or https:// URL"},
		{map[string]any{"url": "http://example.com/q", "period": int64(0)}, "http-source: period must be positive"},
	} {
		_, err := Kind.New(sdk.NewConfig(bad.config), slog.New(slog.DiscardHandler))
		require.EqualError(t, err, bad.err)
	}
}

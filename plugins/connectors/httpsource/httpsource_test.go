package httpsource

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
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

// run runs a source of config until stop returns true, then stops it and
// checks that Run returns nil, and returns what it emitted.
func run(t *testing.T, config map[string]any, stop func(c *sdktest.Collector) bool, opts ...sdktest.Option) []sdk.Event {
	t.Helper()
	src := sdktest.NewSource(t, Kind, config, opts...)
	var c sdktest.Collector
	r := sdktest.Run(t, src, c.Emit)
	require.Eventually(t, func() bool { return stop(&c) }, sdktest.Timeout, time.Millisecond)
	require.NoError(t, r.Stop())
	return c.Events()
}

func TestEmitsEachQuote(t *testing.T) {
	quotes := &quoteService{}
	srv := httptest.NewServer(quotes)
	defer srv.Close()
	events := run(t, map[string]any{"url": srv.URL + "/api/v3/quote-short/AAPL?apikey=demo", "period": 5},
		func(c *sdktest.Collector) bool { return c.Len() >= 3 })
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
	events := run(t, map[string]any{"url": srv.URL, "period": 3_600_000, "content_type": "text/plain"},
		func(c *sdktest.Collector) bool { return c.Len() == 1 })
	require.Len(t, events, 1)
	require.Equal(t, "application/json", events[0].ContentType, "the content type is the response's")
}

func TestFailuresAreLoggedAndRetried(t *testing.T) {
	quotes := &quoteService{failFirst: 3}
	srv := httptest.NewServer(quotes)
	defer srv.Close()
	var logs sdktest.Log
	events := run(t, map[string]any{"url": srv.URL + "/quote?apikey=SECRET-KEY", "period": 5},
		func(c *sdktest.Collector) bool { return c.Len() >= 1 }, sdktest.LogTo(&logs))

	require.Equal(t, `[{"symbol":"AAPL","price":104,"volume":1000}]`, string(events[0].Body),
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
	var logs sdktest.Log
	events := run(t, map[string]any{"url": strings.Replace(addr, "http://", "http://user:PASSWORD@", 1) + "/q?apikey=SECRET-KEY", "period": 5},
		func(*sdktest.Collector) bool { return strings.Count(logs.String(), "fetch failed again") >= 2 }, sdktest.LogTo(&logs))

	out := logs.String()
	require.Contains(t, out, "level=WARN msg=\"fetch failed; retrying at the next period\" url="+addr+"/q error=")
	require.Contains(t, out, "connection refused")
	require.NotContains(t, out, "SECRET-KEY")
	require.NotContains(t, out, "PASSWORD")
	require.Empty(t, events)
}

func TestParameters(t *testing.T) {
	values, err := sdktest.Validate(Kind, map[string]any{"url": "http://example.com/q"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"url": "http://example.com/q", "period": int64(1000), "contentType": "application/json"}, values)

	_, err = sdktest.Validate(Kind, map[string]any{"period": 5})
	require.EqualError(t, err, `http-source: missing required parameter "url"`)

	for _, bad := range []struct {
		config map[string]any
		err    string
	}{
		{map[string]any{"url": "ftp://example.com/?apikey=SECRET", "period": 10}, `http-source: parameter "url" must be a URL starting with http:// or https://`},
		{map[string]any{"url": "example.com/q", "period": 10}, `http-source: parameter "url" must be a URL starting with http:// or https://`},
		{map[string]any{"url": "http://example.com/q", "period": 0}, `http-source: parameter "period" must be at least 1`},
	} {
		_, err := sdktest.OpenSource(Kind, bad.config)
		require.EqualError(t, err, bad.err)
	}
}

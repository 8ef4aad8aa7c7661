package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rayvens/rayvens/internal/browser"
	"github.com/rayvens/rayvens/observe/web"
	"github.com/stretchr/testify/require"
)

// chromium finds the browser, or skips (fails under CI=true).
func chromium(t *testing.T) browser.Browser {
	t.Helper()
	path, err := browser.Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return browser.Browser{Path: path, Profile: t.TempDir()}
}

const graphJSON = `{"streams":[
 {"name":"orders","sources":[{"name":"orders-timer-source","kind":"timer-source"}],
  "subscribers":[{"name":"price","kind":"task","to":"priced"}]},
 {"name":"priced","derived_from":"orders","operators":["filter(big)"],
  "sinks":[{"name":"slack-sink","kind":"slack-sink"}],"dead_letter":"failed"},
 {"name":"failed","subscribers":[{"name":"print","kind":"function"}]}]}`

func TestThePageDrawsTheGraphWithLiveFigures(t *testing.T) {
	b := chromium(t)
	var polls atomic.Int64
	var mu sync.Mutex
	var paths []string
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.HandleFunc("/api/graph", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, graphJSON) })
	mux.HandleFunc("/api/stats", func(w http.ResponseWriter, r *http.Request) {
		n := polls.Add(1)
		fmt.Fprintf(w, `{"uptime_seconds":%d,"streams":[
 {"name":"orders","appended":%d,"delivered":%d,"pending":3,"errors":0,"dropped":0,"in_per_second":120,"out_per_second":118.5,
  "sources":[{"name":"orders-timer-source","kind":"timer-source","connected":true,"reading":[{"item":"2026/12/orders-big.csv","done":12582912,"total":50331648}]}]},
 {"name":"priced","appended":50,"delivered":49,"pending":1,"errors":2,"dropped":7,"in_per_second":4.25,"out_per_second":4,
  "sinks":[{"name":"slack-sink","acked":49,"retries":1}]},
 {"name":"failed","appended":2,"delivered":2,"pending":0,"errors":0,"dropped":0,"in_per_second":0,"out_per_second":0}]}`, n, 100*n, 100*n)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dom, err := b.DumpDOM(ctx, srv.URL+"/", 4000)
	require.NoError(t, err)

	// Every stream, source, subscriber and sink is drawn, with the
	// figures of the last poll.
	require.Contains(t, dom, `data-stream="orders"`)
	require.Contains(t, dom, "in 120/s · out 119/s")
	require.Contains(t, dom, "pending 1 · errors 2", "the derived stream's backlog and errors")
	require.Regexp(t, `class="figure backlog bad"[^>]*>pending 1 · errors 2`, dom, "errors are marked")
	require.Contains(t, dom, "acked 49 · retries 1", "the sink's acknowledgements")
	require.Regexp(t, `class="figure reading"[^>]*>…/orders-big.csv 25%<`, dom, "a source's long read")
	for _, s := range []string{">timer-source<", ">price<", ">task<", ">slack-sink<", ">print<", "filter(big)"} {
		require.Contains(t, dom, s)
	}
	require.Contains(t, dom, `stroke-dasharray="5 4"`, "the dead-letter arrow")
	require.Contains(t, dom, `<tr data-stream="priced"><td>priced</td><td>4.3</td><td>4.0</td><td>50</td><td>49</td><td>1</td><td>7</td><td class="bad">2</td></tr>`)
	require.Contains(t, dom, `class="status live"`)
	require.Greater(t, polls.Load(), int64(1), "the page polls the stats every second")

	// The page loaded only its own assets and the API: nothing from
	// elsewhere could have been fetched (the policy forbids it too).
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		require.Contains(t, []string{"/", "/app.js", "/style.css", "/api/graph", "/api/stats", "/favicon.ico"}, p)
	}
	require.Contains(t, paths, "/app.js")
	require.Contains(t, paths, "/style.css")
}

func TestThePageSaysWhenTheServerIsGone(t *testing.T) {
	b := chromium(t)
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.HandleFunc("/api/graph", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, graphJSON) })
	mux.HandleFunc("/api/stats", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusServiceUnavailable) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dom, err := b.DumpDOM(ctx, srv.URL+"/", 2000)
	require.NoError(t, err)
	require.Contains(t, dom, `class="status down">disconnected: HTTP 503<`)
}

func TestThePageHeaders(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		resp, err := http.Get(srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		require.True(t, strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'self'"), p)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	}
	resp, err := http.Get(srv.URL + "/nothing.js")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestScreenshot writes the page's screenshot to RAYVENS_SCREENSHOT when
// set (for a look at it); it checks that Chromium renders a PNG.
func TestScreenshot(t *testing.T) {
	b := chromium(t)
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.HandleFunc("/api/graph", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, graphJSON) })
	mux.HandleFunc("/api/stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"uptime_seconds":9,"streams":[{"name":"orders","appended":900,"delivered":890,"pending":3,"errors":0,"dropped":0,"in_per_second":120,"out_per_second":118,"sources":[{"name":"orders-timer-source","kind":"timer-source","connected":true,"reading":[{"item":"orders.csv","done":12582912,"total":50331648}]}]},{"name":"priced","appended":50,"delivered":49,"pending":1,"errors":2,"dropped":7,"in_per_second":4.2,"out_per_second":4,"sinks":[{"name":"slack-sink","acked":49,"retries":1}]}]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	file := os.Getenv("RAYVENS_SCREENSHOT")
	if file == "" {
		file = filepath.Join(t.TempDir(), "page.png")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, b.Screenshot(ctx, srv.URL+"/", 3000, file, 1100, 650))
	png, err := os.ReadFile(file)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(png), "\x89PNG"), "a PNG")
}

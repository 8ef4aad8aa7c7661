package httpsink

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// answer is what the recording server answers one request.
type answer struct {
	status     int
	body       string
	retryAfter string
}

// request is what the recording server received.
type request struct {
	method string
	path   string
	header http.Header
	body   string
	at     time.Time
}

// recorder is an HTTP server that records each request and answers with
// the next of its answers, then 200 OK once they are used up.
type recorder struct {
	mu       sync.Mutex
	answers  []answer
	requests []request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests = append(r.requests, request{req.Method, req.URL.Path, req.Header.Clone(), string(body), time.Now()})
	a := answer{status: http.StatusOK}
	if len(r.answers) > 0 {
		a, r.answers = r.answers[0], r.answers[1:]
	}
	r.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

func (r *recorder) received() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.requests...)
}

func (r *recorder) bodies() []string {
	var out []string
	for _, req := range r.received() {
		out = append(out, req.body)
	}
	return out
}

// startRecorder starts a recorder on 127.0.0.1 that answers answers first.
func startRecorder(t *testing.T, answers ...answer) (*recorder, *httptest.Server) {
	t.Helper()
	rec := &recorder{answers: answers}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv
}

// newTestSink makes an instance of config, as the host does, that waits at
// most a few milliseconds between attempts (a Retry-After header still
// makes it wait as long as asked).
func newTestSink(t *testing.T, config map[string]any, opts ...sdktest.Option) *sink {
	t.Helper()
	s := sdktest.NewSink(t, Kind, config, opts...).(*sink)
	s.firstWait, s.maxWait = time.Millisecond, 5*time.Millisecond
	return s
}

func text(body string) sdk.Event { return sdk.Event{Body: []byte(body), ContentType: "text/plain"} }

func TestSendsEachEventInOrder(t *testing.T) {
	rec, srv := startRecorder(t)
	s := newTestSink(t, map[string]any{"url": srv.URL + "/in", "method": "put"})
	batch := []sdk.Event{
		text("one"),
		{Body: []byte(`{"n":2}`), ContentType: "application/json", Headers: map[string]string{"CamelFileName": "two.json"}},
		{Body: []byte("three"), ContentType: "text/plain", Headers: map[string]string{"Content-Type": "text/csv"}},
	}
	require.NoError(t, sdktest.Write(t, s, batch...))

	got := rec.received()
	require.Equal(t, []string{"one", `{"n":2}`, "three"}, rec.bodies())
	for _, req := range got {
		require.Equal(t, "PUT", req.method)
		require.Equal(t, "/in", req.path)
	}
	require.Equal(t, "text/plain", got[0].header.Get("Content-Type"), "the event's content type")
	require.Equal(t, "application/json", got[1].header.Get("Content-Type"))
	require.Equal(t, "two.json", got[1].header.Get("CamelFileName"), "event headers are HTTP headers")
	require.Equal(t, "text/csv", got[2].header.Get("Content-Type"), "a Content-Type header wins over the event's type")
}

func TestContentTypeParameterWins(t *testing.T) {
	rec, srv := startRecorder(t)
	s := newTestSink(t, map[string]any{"url": srv.URL, "content_type": "application/x-ndjson"})
	require.NoError(t, sdktest.Write(t, s, sdk.Event{Body: []byte("{}"), ContentType: "application/json",
		Headers: map[string]string{"Content-Type": "text/csv"}}))
	req := rec.received()[0]
	require.Equal(t, "POST", req.method, "POST is the default method")
	require.Equal(t, "application/x-ndjson", req.header.Get("Content-Type"))
}

func TestRetriesServerErrors(t *testing.T) {
	rec, srv := startRecorder(t, answer{status: 500}, answer{status: 502})
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{"url": srv.URL + "/in?token=SECRET"}, sdktest.LogTo(&logs))
	require.NoError(t, sdktest.Write(t, s, text("persist")))
	require.Equal(t, []string{"persist", "persist", "persist"}, rec.bodies())
	require.Contains(t, logs.String(), `level=WARN msg="request failed; retrying" error="POST `+srv.URL+` answered 500 Internal Server Error"`)
	require.NotContains(t, logs.String(), "SECRET")
}

func TestHonoursRetryAfter(t *testing.T) {
	rec, srv := startRecorder(t, answer{status: 429, retryAfter: "1"})
	s := newTestSink(t, map[string]any{"url": srv.URL})
	require.NoError(t, sdktest.Write(t, s, text("later")))
	got := rec.received()
	require.Len(t, got, 2)
	require.GreaterOrEqual(t, got[1].at.Sub(got[0].at), time.Second, "the second request waited as Retry-After asked")
}

func TestClientErrorIsPermanent(t *testing.T) {
	rec, srv := startRecorder(t, answer{status: 404})
	s := newTestSink(t, map[string]any{"url": srv.URL + "/missing?apikey=SECRET"})
	err := sdktest.Write(t, s, text("lost"))
	require.EqualError(t, err, "POST "+srv.URL+" answered 404 Not Found")
	require.True(t, sdk.IsPermanent(err), "the host does not send the batch again")
	require.Len(t, rec.received(), 1, "a 404 is not retried")
}

// TestPartialBatch: when event i of a batch fails, the events before it
// are acknowledged as sent (the host never sends them again); an event the
// peer refuses fails with the peer's reason, and the ones after it, not
// tried, are sent again; a failure that may pass leaves that event and
// the ones after it to be sent again.
func TestPartialBatch(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		rec, srv := startRecorder(t, answer{status: 200}, answer{status: 400, body: `{"error": "field \"price\" is missing"}`})
		s := newTestSink(t, map[string]any{"url": srv.URL})
		batch := []sdk.Event{text("a"), text("b"), text("c"), text("d")}
		err := sdktest.Write(t, s, batch...)
		require.EqualError(t, err, "POST "+srv.URL+` answered 400 Bad Request: {"error": "field \"price\" is missing"}`)
		require.True(t, sdk.IsPermanent(err))
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent, sdktest.Resent}, sdktest.Outcomes(len(batch), err))
		require.Equal(t, []string{"a", "b"}, rec.bodies(), "nothing after the refused event is sent in this write")

		require.NoError(t, sdktest.Write(t, s, batch[2:]...), "the host sends the events after the refused one")
		require.Equal(t, []string{"a", "b", "c", "d"}, rec.bodies(), "each event once")
	})
	t.Run("unavailable", func(t *testing.T) {
		rec, srv := startRecorder(t, append([]answer{{status: 200}}, slices.Repeat([]answer{{status: 502}}, maxAttempts)...)...)
		s := newTestSink(t, map[string]any{"url": srv.URL})
		batch := []sdk.Event{text("a"), text("b"), text("c")}
		err := sdktest.Write(t, s, batch...)
		require.EqualError(t, err, "POST "+srv.URL+" answered 502 Bad Gateway")
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Resent, sdktest.Resent}, sdktest.Outcomes(len(batch), err))
		require.NoError(t, sdktest.Write(t, s, batch[1:]...), "the host sends the rest again")
		require.Equal(t, append([]string{"a"}, append(slices.Repeat([]string{"b"}, maxAttempts+1), "c")...), rec.bodies(),
			"a once, b until it went through, then c")
	})
}

// TestPeerReasonIsBoundedAndRedacted: the peer's answer is quoted on one
// line, at most maxReason bytes, and without the URL's path, query or
// userinfo, the token or the header values, even when it echoes them.
func TestPeerReasonIsBoundedAndRedacted(t *testing.T) {
	long := "<html>\n<body>\n" + strings.Repeat("é", 300) + "</body></html>"
	echo := "denied: /hooks/PATHSECRET?apikey=QUERYSECRET (key QUERYSECRET, path PATHSECRET) by Bearer TOKENSECRET, X-Api-Key HEADERSECRET for ops, user ADMIN:PASSWORD"
	rec, srv := startRecorder(t, answer{status: 413, body: long}, answer{status: 401, body: echo})
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{
		"url":                strings.Replace(srv.URL, "http://", "http://ADMIN:PASSWORD@", 1) + "/hooks/PATHSECRET?apikey=QUERYSECRET",
		"authorizationToken": "TOKENSECRET",
		"headers":            `{"X-Api-Key": "HEADERSECRET", "X-Team": "ops"}`,
	}, sdktest.LogTo(&logs))

	err := sdktest.Write(t, s, text("x"))
	require.Error(t, err)
	reason := strings.TrimPrefix(err.Error(), "POST "+srv.URL+" answered 413 Request Entity Too Large: ")
	require.True(t, strings.HasPrefix(reason, "<html> <body> éé"), "one line: %q", reason)
	require.True(t, strings.HasSuffix(reason, "é..."), "cut between characters: %q", reason)
	require.LessOrEqual(t, len(reason), maxReason+len("..."))

	err = sdktest.Write(t, s, text("y"))
	require.EqualError(t, err, "POST "+srv.URL+" answered 401 Unauthorized: denied: <redacted>?<redacted> (key <redacted>, path <redacted>) by <redacted>, X-Api-Key <redacted> for ops, user <redacted>",
		"a value shorter than 4 bytes (ops) is no credential, and stays")
	for _, secret := range []string{"/hooks", "PATHSECRET", "QUERYSECRET", "ADMIN", "PASSWORD", "TOKENSECRET", "HEADERSECRET"} {
		require.NotContains(t, err.Error(), secret)
		require.NotContains(t, logs.String(), secret)
	}
	require.Len(t, rec.received(), 2)
}

func TestUnreachableServerGivesUp(t *testing.T) {
	_, srv := startRecorder(t)
	srv.Close()
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{"url": strings.Replace(srv.URL, "http://", "http://user:PASSWORD@", 1) + "/in?apikey=SECRET"}, sdktest.LogTo(&logs))
	err := sdktest.Write(t, s, text("x"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "POST "+srv.URL+": ")
	require.Contains(t, err.Error(), "connection refused")
	require.False(t, sdk.IsPermanent(err), "the host may try again later")
	require.Equal(t, maxAttempts-1, strings.Count(logs.String(), "retrying"), "%d attempts", maxAttempts)
	for _, secret := range []string{"SECRET", "PASSWORD"} {
		require.NotContains(t, err.Error(), secret)
		require.NotContains(t, logs.String(), secret)
	}
}

func TestTokenAndHeadersAreSent(t *testing.T) {
	rec, srv := startRecorder(t)
	s := newTestSink(t, map[string]any{
		"url":                srv.URL + "/in",
		"authorizationToken": "TOKEN-1",
		"headers":            `{"X-A": "1", "x-b": "2, and more"}`,
	})
	ev := sdk.Event{Body: []byte("x"), Headers: map[string]string{"X-A": "from the event", "Authorization": "Basic xyz", "X-C": "3"}}
	require.NoError(t, sdktest.Write(t, s, ev, text("y")))
	got := rec.received()
	require.Len(t, got, 2)
	for _, req := range got {
		require.Equal(t, []string{"Bearer TOKEN-1"}, req.header.Values("Authorization"), "the token replaces an event's Authorization header")
		require.Equal(t, []string{"1"}, req.header.Values("X-A"), "the headers parameter replaces an event header of the same name")
		require.Equal(t, "2, and more", req.header.Get("X-B"))
	}
	require.Equal(t, "3", got[0].header.Get("X-C"), "other event headers are still sent")
}

// TestURLStaysOutOfErrors: whatever fails, errors and logs show the URL as
// scheme://host:port, without the path, query, userinfo, token or header
// values that may carry credentials.
func TestURLStaysOutOfErrors(t *testing.T) {
	secrets := []string{"/hooks", "PATHSECRET", "QUERYSECRET", "PASSWORD", "TOKENSECRET", "HEADERSECRET"}
	for _, tc := range []struct {
		name    string
		answers []answer
		closed  bool // the server is closed: connection refused
		want    string
	}{
		{name: "500", answers: slices.Repeat([]answer{{status: 500}}, maxAttempts), want: " answered 500 Internal Server Error"},
		{name: "4xx", answers: []answer{{status: 403}}, want: " answered 403 Forbidden"},
		{name: "connection refused", closed: true, want: ": "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startRecorder(t, tc.answers...)
			if tc.closed {
				srv.Close()
			}
			var logs sdktest.Log
			s := newTestSink(t, map[string]any{
				"url":                strings.Replace(srv.URL, "http://", "http://user:PASSWORD@", 1) + "/hooks/PATHSECRET?apikey=QUERYSECRET",
				"authorizationToken": "TOKENSECRET",
				"headers":            `{"X-Api-Key": "HEADERSECRET"}`,
			}, sdktest.LogTo(&logs))
			err := sdktest.Write(t, s, text("x"))
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), "POST "+srv.URL+tc.want), "error %q", err)
			for _, secret := range secrets {
				require.NotContains(t, err.Error(), secret)
				require.NotContains(t, logs.String(), secret)
			}
		})
	}
}

func TestInvalidHeadersAreSkipped(t *testing.T) {
	rec, srv := startRecorder(t)
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{"url": srv.URL}, sdktest.LogTo(&logs))
	ev := sdk.Event{Body: []byte("x"), Headers: map[string]string{"file name": "a b", "X-Ok": "yes", "X-Bad-Value": "a\nb"}}
	require.NoError(t, sdktest.Write(t, s, ev, ev))
	require.Equal(t, "yes", rec.received()[0].header.Get("X-Ok"))
	require.Empty(t, rec.received()[0].header.Get("X-Bad-Value"))
	require.Equal(t, 1, strings.Count(logs.String(), `header="file name"`), "each bad header is reported once")
}

func TestLongRetryAfterGivesUp(t *testing.T) {
	rec, srv := startRecorder(t, answer{status: 503, retryAfter: "3600"})
	s := newTestSink(t, map[string]any{"url": srv.URL})
	// An hour is beyond the retry budget: the sink gives up at once and
	// leaves the next try to the host, instead of blocking for an hour.
	err := sdktest.Write(t, s, text("x"))
	require.EqualError(t, err, "POST "+srv.URL+" answered 503 Service Unavailable: retry after 1h0m0s")
	require.False(t, sdk.IsPermanent(err), "the host tries again")
	require.Len(t, rec.received(), 1)
}

func TestStopsWhenCancelled(t *testing.T) {
	rec, srv := startRecorder(t, answer{status: 429, retryAfter: "5"})
	s := newTestSink(t, map[string]any{"url": srv.URL})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, []sdk.Event{text("x")}) }()
	require.Eventually(t, func() bool { return len(rec.received()) == 1 }, 10*time.Second, time.Millisecond)
	cancel() // while the sink waits the 5 s Retry-After asks
	select {
	case err := <-done:
		require.EqualError(t, err, "POST "+srv.URL+": stopped before the request succeeded")
	case <-time.After(3 * time.Second):
		t.Fatal("Write did not return after cancel")
	}
	require.Len(t, rec.received(), 1)
}

func TestParameters(t *testing.T) {
	values, err := sdktest.Validate(Kind, map[string]any{"url": "http://example.com/in"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"url": "http://example.com/in", "method": "POST"}, values)

	for _, bad := range []struct {
		config map[string]any
		err    string
	}{
		{map[string]any{"url": "mailto:x@example.com"}, `http-sink: parameter "url" must be a URL starting with http:// or https://`},
		{map[string]any{"url": "http://:8080/in?apikey=SECRET"}, `http-sink: parameter "url" must be a URL starting with http:// or https://`},
		{map[string]any{"url": "https://example.com:99999/hooks/SECRET"}, "http-sink: url has port 99999, which is not a port number (1 to 65535)"},
		{map[string]any{"url": "https://example.com:0/hooks/SECRET"}, "http-sink: url has port 0, which is not a port number (1 to 65535)"},
		{map[string]any{"url": "http://example.com", "method": "FETCH"}, `http-sink: method "FETCH" is not one of GET, POST, PUT, DELETE, HEAD, OPTIONS, TRACE, PATCH`},
		{map[string]any{"url": "http://example.com", "headers": "X-A: SECRET"}, `http-sink: headers must be a JSON object of header names to string values, such as '{"X-Api-Key": "k1"}'`},
		{map[string]any{"url": "http://example.com", "headers": `{"X-A": 1}`}, `http-sink: headers must be a JSON object of header names to string values, such as '{"X-Api-Key": "k1"}'`},
		{map[string]any{"url": "http://example.com", "headers": "null"}, `http-sink: headers must be a JSON object of header names to string values, such as '{"X-Api-Key": "k1"}'`},
		{map[string]any{"url": "http://example.com", "headers": `{"X A": "SECRET"}`}, `http-sink: headers: "X A" is not a valid HTTP header name`},
		{map[string]any{"url": "http://example.com", "headers": `{"X-A": "SECRET\nX-B: 2"}`}, `http-sink: headers: the value of "X-A" is not a valid HTTP header value`},
		{map[string]any{"url": "http://example.com", "headers": `{"X-A": "SECRET", "x-a": "SECRET"}`}, `http-sink: headers: "X-A" is given twice`},
		{map[string]any{"url": "http://example.com", "authorizationToken": "SECRET\r\nX-B: 2"}, "http-sink: authorizationToken must be a non-empty token that an HTTP header can carry (no line breaks)"},
		{map[string]any{"url": "http://example.com", "authorization_token": ""}, "http-sink: authorizationToken must be a non-empty token that an HTTP header can carry (no line breaks)"},
	} {
		_, err := sdktest.OpenSink(Kind, bad.config)
		require.EqualError(t, err, bad.err)
	}
}

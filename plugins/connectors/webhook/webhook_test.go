package webhook

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// wait bounds every wait of these tests; none is reached when they pass.
const wait = sdktest.Timeout

// running is a webhook-source instance serving on a free port, emitting
// into a Collector that stands in for the host's stream.
type running struct {
	*webhook
	stream *sdktest.Collector
	log    *sdktest.Log
	run    *sdktest.Running
}

// start makes an instance of config as the host does (port 0 unless given:
// a free one) and runs it into stream until the test ends. adjust, when
// given, changes the instance before it runs (shorter waits).
func start(t *testing.T, config map[string]any, stream *sdktest.Collector, adjust func(*webhook)) *running {
	t.Helper()
	if _, ok := config["port"]; !ok {
		config["port"] = 0
	}
	var logs sdktest.Log
	w := sdktest.NewSource(t, Kind, config, sdktest.LogTo(&logs)).(*webhook)
	if adjust != nil {
		adjust(w)
	}
	return &running{webhook: w, stream: stream, log: &logs, run: sdktest.Run(t, w, stream.Emit)}
}

// take returns the n-th event (from 1) handed to the stream, once it is.
func (r *running) take(t *testing.T, n int) sdk.Event {
	t.Helper()
	return r.stream.Wait(t, n)[n-1]
}

// post sends body to url with header and returns the answer.
func post(t *testing.T, url, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	a := await(t, postAsync(t, url, body, header))
	return a.resp, a.body
}

// answer is the outcome of a request sent in the background.
type answer struct {
	resp *http.Response
	body string
	err  error
}

// postAsync sends body to url with header in the background.
func postAsync(t *testing.T, url, body string, header http.Header) <-chan answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	return send(req)
}

// send sends req in the background.
func send(req *http.Request) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		client := http.Client{Timeout: wait}
		resp, err := client.Do(req)
		if err != nil {
			out <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- answer{resp: resp, body: string(b), err: err}
	}()
	return out
}

func await(t *testing.T, c <-chan answer) answer {
	t.Helper()
	select {
	case a := <-c:
		require.NoError(t, a.err)
		return a
	case <-time.After(wait):
		t.Fatal("no answer")
		return answer{}
	}
}

func TestAnswersOnlyOnceTheStreamAccepted(t *testing.T) {
	w := start(t, map[string]any{}, &sdktest.Collector{Hold: true}, nil)
	require.Eventually(t, func() bool { return strings.Contains(w.log.String(), "listening on "+w.url()) }, wait, time.Millisecond)
	require.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*/webhook$`, w.url())

	answered := postAsync(t, w.url()+"?source=test", `{"hello":"world"}`, nil)
	ev := w.take(t, 1) // handed to the stream, not accepted yet
	require.Never(t, func() bool { return len(answered) > 0 }, 100*time.Millisecond, 5*time.Millisecond,
		"no answer before the stream has accepted the event")
	ev.Ack(nil)
	a := await(t, answered)
	require.Equal(t, http.StatusAccepted, a.resp.StatusCode)

	require.Equal(t, `{"hello":"world"}`, string(ev.Body))
	require.Equal(t, "application/octet-stream", ev.ContentType, "no Content-Type was sent")
	require.Equal(t, "POST", ev.Headers["CamelHttpMethod"])
	require.Equal(t, "/webhook", ev.Headers["CamelHttpPath"])
	require.Equal(t, "source=test", ev.Headers["CamelHttpQuery"])
}

func TestEventHeaders(t *testing.T) {
	w := start(t, map[string]any{"authorizationToken": "s3cret"}, &sdktest.Collector{Hold: true}, nil)
	answered := postAsync(t, w.url(), "hello", http.Header{
		"Authorization":   {"Bearer s3cret"},
		"Content-Type":    {"text/plain; charset=utf-8"},
		"X-Github-Event":  {"push"},
		"X-Multi":         {"a", "b"},
		"Camelfilename":   {"../../etc/passwd"},
		"Cookie":          {"session=1"},
		"camel-something": {"x"},
	})
	ev := w.take(t, 1)
	ev.Ack(nil)
	require.Equal(t, http.StatusAccepted, await(t, answered).resp.StatusCode)

	require.Equal(t, "hello", string(ev.Body))
	require.Equal(t, "text/plain; charset=utf-8", ev.ContentType)
	require.Equal(t, "text/plain; charset=utf-8", ev.Headers["Content-Type"])
	require.Equal(t, "push", ev.Headers["X-Github-Event"])
	require.Equal(t, "a, b", ev.Headers["X-Multi"])
	for name := range ev.Headers {
		require.NotContains(t, []string{"Authorization", "Cookie", "Content-Length"}, name)
		if strings.HasPrefix(strings.ToLower(name), "camel") {
			require.Contains(t, []string{"CamelHttpMethod", "CamelHttpPath"}, name, "a caller cannot set Camel headers")
		}
	}
	resp, _ := post(t, w.url(), "x", http.Header{"Authorization": {"Bearer s3cre"}})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, w.log.String(), "wrong authorization token")
	require.NotContains(t, w.log.String(), "s3cre", "no token is ever logged")
}

// HTTP allows header values that are not UTF-8; the wire to the host
// carries text only, so they are left out rather than break the stream.
func TestHeadersThatAreNotUTF8(t *testing.T) {
	w := start(t, map[string]any{}, new(sdktest.Collector), nil)
	resp, _ := post(t, w.url()+"?q=caf%E9", "x", http.Header{"X-Name": {"caf\xe9"}, "X-Ok": {"café"}, "Content-Type": {"text/plain; name=caf\xe9"}})
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	ev := w.take(t, 1)
	require.NotContains(t, ev.Headers, "X-Name")
	require.Equal(t, "café", ev.Headers["X-Ok"])
	require.Equal(t, "application/octet-stream", ev.ContentType)
	require.Equal(t, "q=caf%E9", ev.Headers["CamelHttpQuery"], "the raw query is ASCII")
	require.Contains(t, w.log.String(), `msg="header left out: its value is not UTF-8" header=X-Name`)
}

func TestFullStreamAnswers503(t *testing.T) {
	var s sdktest.Collector
	s.Block() // a full stream
	w := start(t, map[string]any{}, &s, func(w *webhook) { w.queueWait = 50 * time.Millisecond })

	resp, body := post(t, w.url(), "one", nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Contains(t, body, "the stream is full")

	require.Zero(t, s.Len(), "the stream never took it")

	// Once the stream has room again, the retry goes through.
	s.Unblock()
	resp, _ = post(t, w.url(), "one", nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, "one", string(s.Events()[0].Body))
}

func TestTooManyPendingAnswers503(t *testing.T) {
	w := start(t, map[string]any{}, &sdktest.Collector{Hold: true}, func(w *webhook) {
		w.pending = make(chan struct{}, 1)
		w.queueWait = 50 * time.Millisecond
	})
	first := postAsync(t, w.url(), "first", nil)
	ev := w.take(t, 1)

	resp, body := post(t, w.url(), "second", nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Equal(t, 1, w.stream.Len(), "the second was not handed to the stream")

	ev.Ack(nil)
	require.Equal(t, http.StatusAccepted, await(t, first).resp.StatusCode)
	second := postAsync(t, w.url(), "second", nil)
	w.take(t, 2).Ack(nil)
	require.Equal(t, http.StatusAccepted, await(t, second).resp.StatusCode, "the slot is free once the first event is accepted")
}

func TestNotAcceptedAnswers503(t *testing.T) {
	w := start(t, map[string]any{}, &sdktest.Collector{Hold: true}, func(w *webhook) { w.ackWait = 50 * time.Millisecond })

	// The stream refuses the event.
	answered := postAsync(t, w.url(), "refused", nil)
	w.take(t, 1).Ack(errors.New("the instance closed"))
	a := await(t, answered)
	require.Equal(t, http.StatusServiceUnavailable, a.resp.StatusCode)
	require.Equal(t, "1", a.resp.Header.Get("Retry-After"))

	// The stream never says: the answer comes after ackWait.
	answered = postAsync(t, w.url(), "unanswered", nil)
	ev := w.take(t, 2)
	a = await(t, answered)
	require.Equal(t, http.StatusServiceUnavailable, a.resp.StatusCode)
	require.Contains(t, a.body, "did not accept the event in time")
	ev.Ack(nil) // late: frees the slot, answers nobody
	require.Eventually(t, func() bool { return len(w.pending) == 0 }, wait, time.Millisecond)
}

func TestRefusedRequests(t *testing.T) {
	w := start(t, map[string]any{"subpath": "/hooks/in", "maxBodySize": 10, "authorization_token": "tok"}, new(sdktest.Collector), nil)
	require.True(t, strings.HasSuffix(w.url(), "/hooks/in"), w.url())
	base := strings.TrimSuffix(w.url(), "/hooks/in")
	auth := http.Header{"Authorization": {"Bearer tok"}}

	resp, _ := post(t, base+"/webhook", "x", auth)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, w.url(), nil)
	require.NoError(t, err)
	a := await(t, send(req))
	require.Equal(t, http.StatusMethodNotAllowed, a.resp.StatusCode)
	require.Equal(t, "POST", a.resp.Header.Get("Allow"))

	for _, header := range []http.Header{nil, {"Authorization": {"Bearer nope"}}, {"Authorization": {"Basic tok"}}, {"Authorization": {"Bearer tok2"}}} {
		resp, _ = post(t, w.url(), "x", header)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "Authorization: %v", header)
		require.Equal(t, "Bearer", resp.Header.Get("WWW-Authenticate"))
	}

	resp, _ = post(t, w.url(), "0123456789+", auth)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "Content-Length says too large")
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, w.url(), io.MultiReader(strings.NewReader("0123456789+")))
	require.NoError(t, err)
	req.Header = auth
	req.ContentLength = -1 // chunked: only reading tells
	require.Equal(t, http.StatusRequestEntityTooLarge, await(t, send(req)).resp.StatusCode, "the body read is too large")

	resp, _ = post(t, w.url(), "0123456789", http.Header{"Authorization": {"bearer  tok"}})
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "a body of maxBodySize bytes, scheme in any case")
	require.Equal(t, 1, w.stream.Len(), "refused requests make no event")
}

func TestPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port

	_, err = sdktest.OpenSource(Kind, map[string]any{"port": port})
	require.EqualError(t, err, fmt.Sprintf("webhook-source: cannot listen on 127.0.0.1:%d: address already in use", port))
	require.ErrorIs(t, err, syscall.EADDRINUSE)
}

func TestParameters(t *testing.T) {
	for _, tt := range []struct {
		config map[string]any
		err    string
	}{
		{map[string]any{"port": 70000}, `webhook-source: parameter "port" must be between 0 and 65535`},
		{map[string]any{"maxBodySize": 0}, `webhook-source: parameter "maxBodySize" must be at least 1`},
	} {
		_, err := sdktest.OpenSource(Kind, tt.config)
		require.EqualError(t, err, tt.err)
	}
	values, err := sdktest.Validate(Kind, map[string]any{})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"subpath": "webhook", "host": "127.0.0.1", "port": int64(8000), "maxBodySize": int64(1 << 20)}, values)
}

// TestStopAnswersWithTheOutcome: the source stops with requests in
// flight. Run returns at once (the SDK acks the events the host never took
// only then) and the port closes, but a request whose event was handed to
// the host is answered with what became of it: 202 once the host is done
// with it, although that is after the stop (a 503 would make a client that
// retries deliver it twice), and 503 when the SDK says the host never took
// it. A request whose event was not handed over yet is answered 503 at
// once. Then the server shuts down.
func TestStopAnswersWithTheOutcome(t *testing.T) {
	stream := &sdktest.Collector{Hold: true}
	w := start(t, map[string]any{}, stream, nil)
	delivered := postAsync(t, w.url(), "delivered", nil)
	deliveredEv := w.take(t, 1)
	notTaken := postAsync(t, w.url(), "not taken", nil)
	notTakenEv := w.take(t, 2)
	stream.Block() // a full stream: the next event is not handed over
	blocked := postAsync(t, w.url(), "blocked", nil)
	require.Eventually(t, func() bool { return len(w.pending) == 3 }, wait, time.Millisecond, "the third request waits for the stream")

	require.NoError(t, w.run.Stop(), "Run ends cleanly, with requests in flight")
	a := await(t, blocked)
	require.Equal(t, http.StatusServiceUnavailable, a.resp.StatusCode, a.body)
	require.Equal(t, "1", a.resp.Header.Get("Retry-After"))
	require.Contains(t, a.body, "the webhook is stopping")
	require.Len(t, stream.Events(), 2, "the stream never took the third")
	_, err := net.DialTimeout("tcp", w.ln.Addr().String(), wait)
	require.Error(t, err, "the port is closed")
	select {
	case a := <-delivered:
		t.Fatalf("answered before its event's outcome was known: %v %q", a.resp.Status, a.body)
	default:
	}

	notTakenEv.Ack(errors.New("the source instance closed before the host accepted the event"))
	a = await(t, notTaken)
	require.Equal(t, http.StatusServiceUnavailable, a.resp.StatusCode, a.body)
	require.Contains(t, a.body, "the webhook is stopping")

	deliveredEv.Ack(nil)
	a = await(t, delivered)
	require.Equal(t, http.StatusAccepted, a.resp.StatusCode, a.body)

	select {
	case <-w.down:
	case <-time.After(wait):
		t.Fatal("the server did not shut down once every request was answered")
	}
}

// TestStopWaitsForAnOutcomeAtMostAckWait: an event handed to the host
// whose outcome nobody tells, the source stopped: the request is answered
// 503 after ackWait, and the server shuts down.
func TestStopWaitsForAnOutcomeAtMostAckWait(t *testing.T) {
	w := start(t, map[string]any{}, &sdktest.Collector{Hold: true}, func(w *webhook) { w.ackWait = 50 * time.Millisecond })
	answered := postAsync(t, w.url(), "in flight", nil)
	w.take(t, 1) // never acked
	require.NoError(t, w.run.Stop())
	a := await(t, answered)
	require.Equal(t, http.StatusServiceUnavailable, a.resp.StatusCode, a.body)
	require.Equal(t, "1", a.resp.Header.Get("Retry-After"))
	select {
	case <-w.down:
	case <-time.After(wait):
		t.Fatal("the server did not shut down")
	}
}

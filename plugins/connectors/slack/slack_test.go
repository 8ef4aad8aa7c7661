package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// secretPath is where the test receiver listens, as Slack's webhooks do:
// the path is the credential.
const secretPath = "/services/T0000/B0000/SECRETsecretSECRET"

// answer is what the receiver answers one post: a status, and a body
// ("ok" for a 2xx without one, as Slack does).
type answer struct {
	status     int
	body       string
	retryAfter string
}

// post is one post the receiver got.
type post struct {
	Channel string `json:"channel"`
	Text    string `json:"text"`
	status  int
	at      time.Time
}

// receiver is a Slack-incoming-webhook-compatible server: it takes JSON
// posts at secretPath, records them in order, and answers each with the
// next of its answers, then "200 ok" as Slack does.
type receiver struct {
	mu      sync.Mutex
	answers []answer
	posts   []post
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != secretPath || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "invalid_token", http.StatusForbidden)
		return
	}
	var p post
	if err := json.NewDecoder(req.Body).Decode(&p); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	a := answer{status: http.StatusOK}
	if len(r.answers) > 0 {
		a, r.answers = r.answers[0], r.answers[1:]
	}
	p.status, p.at = a.status, time.Now()
	r.posts = append(r.posts, p)
	r.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if a.body == "" && a.status >= 200 && a.status <= 299 {
		a.body = "ok"
	}
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

func (r *receiver) received() []post {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]post(nil), r.posts...)
}

// delivered returns the texts of the posts answered 2xx, in order.
func (r *receiver) delivered() []string {
	var out []string
	for _, p := range r.received() {
		if p.status >= 200 && p.status <= 299 {
			out = append(out, p.Text)
		}
	}
	return out
}

// startReceiver starts a receiver on 127.0.0.1 and returns its webhook URL.
func startReceiver(t *testing.T, answers ...answer) (*receiver, string) {
	t.Helper()
	r := &receiver{answers: answers}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + secretPath
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

func events(texts ...string) []sdk.Event {
	out := make([]sdk.Event, len(texts))
	for i, t := range texts {
		out[i] = sdk.Event{Body: []byte(t), ContentType: "text/plain"}
	}
	return out
}

// requireNoSecret checks that the webhook URL and its path appear nowhere.
func requireNoSecret(t *testing.T, webhook string, texts ...string) {
	t.Helper()
	for _, text := range texts {
		require.NotContains(t, text, webhook)
		require.NotContains(t, text, "SECRET")
	}
}

func TestPostsMessagesInOrder(t *testing.T) {
	// Slack answers 200; a receiver that answers another 2xx took the message too.
	r, webhook := startReceiver(t, answer{status: 200}, answer{status: 202}, answer{status: 204})
	s := newTestSink(t, map[string]any{"channel": "#test", "webhookUrl": webhook})
	require.NoError(t, sdktest.Write(t, s, events("AAPL is up", "AAPL is unchanged")...))
	require.NoError(t, sdktest.Write(t, s, events(`{"price": 99}`)...))
	got := r.received()
	require.Len(t, got, 3)
	for _, p := range got {
		require.Equal(t, "#test", p.Channel)
	}
	require.Equal(t, []string{"AAPL is up", "AAPL is unchanged", `{"price": 99}`}, r.delivered())
}

func TestRetriesServerErrorsAndRateLimits(t *testing.T) {
	r, webhook := startReceiver(t, answer{status: 500, body: "<html>\n<body>Internal error</body>\n</html>"}, answer{status: 429, body: "rate_limited", retryAfter: "1"})
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{"channel": "#test", "webhook_url": webhook}, sdktest.LogTo(&logs))
	require.NoError(t, sdktest.Write(t, s, events("AAPL is down")...))

	got := r.received()
	require.Len(t, got, 3)
	require.Equal(t, []string{"AAPL is down"}, r.delivered())
	require.GreaterOrEqual(t, got[2].at.Sub(got[1].at), time.Second, "the third post waited as Retry-After asked")
	require.Contains(t, logs.String(), `error="slack webhook answered 500 Internal Server Error: <html> <body>Internal error</body> </html>"`)
	require.Contains(t, logs.String(), `error="slack webhook answered 429 Too Many Requests: rate_limited: retry after 1s"`)
	requireNoSecret(t, webhook, logs.String())
}

func TestClientErrorIsPermanent(t *testing.T) {
	for _, a := range []answer{{status: 404, body: "no_service"}, {status: 403, body: "invalid_token"}, {status: 400, body: "invalid_payload"}, {status: 501}} {
		r, webhook := startReceiver(t, a)
		var logs sdktest.Log
		s := newTestSink(t, map[string]any{"channel": "#gone", "webhookUrl": webhook}, sdktest.LogTo(&logs))
		err := sdktest.Write(t, s, events("hello")...)
		want := fmt.Sprintf("slack webhook answered %d %s", a.status, http.StatusText(a.status))
		if a.body != "" {
			want += ": " + a.body
		}
		require.EqualError(t, err, want, "Slack's reason is in the error")
		require.True(t, sdk.IsPermanent(err), "the host does not send the message again")
		require.Equal(t, []sdktest.Outcome{sdktest.Failed}, sdktest.Outcomes(1, err))
		require.Len(t, r.received(), 1, "a %d is not retried", a.status)
		requireNoSecret(t, webhook, logs.String(), err.Error())
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	answers := make([]answer, maxAttempts)
	for i := range answers {
		answers[i] = answer{status: 503}
	}
	r, webhook := startReceiver(t, answers...)
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{"channel": "#test", "webhookUrl": webhook}, sdktest.LogTo(&logs))
	err := sdktest.Write(t, s, events("a", "b")...)
	require.EqualError(t, err, "slack webhook answered 503 Service Unavailable")
	require.False(t, sdk.IsPermanent(err), "the host may try again later")
	require.Equal(t, []sdktest.Outcome{sdktest.Resent, sdktest.Resent}, sdktest.Outcomes(2, err))
	require.Len(t, r.received(), maxAttempts, "the first message was tried %d times; the second never", maxAttempts)
	requireNoSecret(t, webhook, logs.String(), err.Error())
}

// TestPartialBatch: when message i of a batch fails, the messages before
// it are acknowledged as posted (the host never sends them again); a
// message Slack refuses fails with Slack's reason, and the ones after it,
// not tried, are sent again; a failure that may pass leaves that message
// and the ones after it to be sent again.
func TestPartialBatch(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		r, webhook := startReceiver(t, answer{status: 200}, answer{status: 404, body: "channel_not_found"})
		s := newTestSink(t, map[string]any{"channel": "#test", "webhookUrl": webhook})
		batch := events("one", "two", "three", "four")
		err := sdktest.Write(t, s, batch...)
		require.EqualError(t, err, "slack webhook answered 404 Not Found: channel_not_found")
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent, sdktest.Resent}, sdktest.Outcomes(len(batch), err))
		require.Equal(t, []string{"one", "two"}, texts(r.received()), "nothing after the refused message is posted in this write")

		require.NoError(t, sdktest.Write(t, s, batch[2:]...), "the host sends the messages after the refused one")
		require.Equal(t, []string{"one", "three", "four"}, r.delivered(), "each message Slack took, once")
	})
	t.Run("unavailable", func(t *testing.T) {
		r, webhook := startReceiver(t, append([]answer{{status: 200}}, slices.Repeat([]answer{{status: 503}}, maxAttempts)...)...)
		s := newTestSink(t, map[string]any{"channel": "#test", "webhookUrl": webhook})
		batch := events("one", "two", "three")
		err := sdktest.Write(t, s, batch...)
		require.EqualError(t, err, "slack webhook answered 503 Service Unavailable")
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Resent, sdktest.Resent}, sdktest.Outcomes(len(batch), err))
		require.NoError(t, sdktest.Write(t, s, batch[1:]...), "the host sends the rest again")
		require.Equal(t, []string{"one", "two", "three"}, r.delivered())
	})
}

// texts returns the texts of the posts, in order.
func texts(posts []post) []string {
	var out []string
	for _, p := range posts {
		out = append(out, p.Text)
	}
	return out
}

// TestReasonIsBoundedAndRedacted: Slack's answer is quoted on one line,
// at most maxReason bytes, and without the webhook URL or its path, even
// when the answer echoes them.
func TestReasonIsBoundedAndRedacted(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	webhook := "http://" + srv.Listener.Addr().String() + secretPath
	long := "invalid_blocks\n" + strings.Repeat("x", 1000)
	echo := "no_text for " + webhook + " (token " + strings.TrimPrefix(secretPath, "/services/T0000/B0000/") + ")"
	r := &receiver{answers: []answer{{status: 400, body: long}, {status: 400, body: echo}}}
	srv.Config.Handler = r
	srv.Start()
	t.Cleanup(srv.Close)
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{"channel": "#test", "webhookUrl": webhook}, sdktest.LogTo(&logs))

	err := sdktest.Write(t, s, events("a")...)
	require.Error(t, err)
	reason := strings.TrimPrefix(err.Error(), "slack webhook answered 400 Bad Request: ")
	require.True(t, strings.HasPrefix(reason, "invalid_blocks xxx"), "one line: %q", reason)
	require.True(t, strings.HasSuffix(reason, "..."))
	require.LessOrEqual(t, len(reason), maxReason+len("..."))

	err = sdktest.Write(t, s, events("b")...)
	require.EqualError(t, err, "slack webhook answered 400 Bad Request: no_text for <webhookUrl> (token <webhook path>)")
	requireNoSecret(t, webhook, logs.String(), err.Error())
}

// TestQueryAndPathAreRedactedFromEchoes: a service that takes Slack's
// messages at a URL with a token in its path and its query, and quotes
// the request back in its error answers (a 500, retried and logged, then
// a 400), as sent and decoded. No part of the URL but scheme://host:port
// is in the error or the log.
func TestQueryAndPathAreRedactedFromEchoes(t *testing.T) {
	const pathToken, queryToken = "SECRETinPATH", "SECRET/inQUERY" // "/" is sent escaped
	statuses := []int{http.StatusInternalServerError, http.StatusBadRequest}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		status := http.StatusBadRequest
		if len(statuses) > 0 {
			status, statuses = statuses[0], statuses[1:]
		}
		mu.Unlock()
		echo := fmt.Sprintf("cannot serve %s %s at %s (path %s, token %s)", r.Method, r.RequestURI, r.Host, r.URL.Path, r.URL.Query().Get("token"))
		http.Error(w, echo, status)
	}))
	t.Cleanup(srv.Close)
	webhook := srv.URL + "/hooks/" + pathToken + "?token=" + url.QueryEscape(queryToken) + "&team=T1"
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{"channel": "#test", "webhookUrl": webhook}, sdktest.LogTo(&logs))

	err := sdktest.Write(t, s, events("a")...)
	require.Error(t, err)
	require.True(t, sdk.IsPermanent(err), "a 400 is permanent: %v", err)
	require.Contains(t, err.Error(), "slack webhook answered 400 Bad Request: cannot serve POST ")
	require.Contains(t, logs.String(), "slack webhook answered 500 Internal Server Error: cannot serve POST ", "the 500 was retried and logged")
	requireNoSecret(t, webhook, logs.String(), err.Error())
	for _, leak := range []string{"SECRET", "token=", "inQUERY", "/hooks/"} {
		require.NotContains(t, err.Error(), leak)
		require.NotContains(t, logs.String(), leak)
	}
	require.Contains(t, err.Error(), " at "+strings.TrimPrefix(srv.URL, "http://")+" ", "host:port may show")
}

func TestWebhookURLIsNeverShown(t *testing.T) {
	srv := httptest.NewServer(&receiver{})
	webhook := srv.URL + secretPath
	srv.Close() // nothing listens there any more: the HTTP client's errors name the URL
	var logs sdktest.Log
	s := newTestSink(t, map[string]any{"channel": "#test", "webhookUrl": webhook}, sdktest.LogTo(&logs))
	err := sdktest.Write(t, s, events("lost")...)
	require.Error(t, err)
	require.Contains(t, err.Error(), "slack webhook: ")
	require.Contains(t, err.Error(), "connection refused")
	require.Equal(t, maxAttempts-1, strings.Count(logs.String(), "retrying"))
	requireNoSecret(t, webhook, logs.String(), err.Error())

	// Whatever the client's error says, the URL and its path are redacted.
	leaky := &url.Error{Op: "Post", URL: webhook, Err: errors.New("proxy refused " + webhook + " and " + secretPath)}
	requireNoSecret(t, webhook, s.requestError(leaky).Error(), s.requestError(errors.New("odd: "+webhook)).Error())
}

// TestBadPortIsRefusedAtOpen: a webhook URL no post could reach is refused
// when the sink is opened, with an error that shows no part of its path,
// rather than retried with every message.
func TestBadPortIsRefusedAtOpen(t *testing.T) {
	for _, port := range []string{"99999", "0", "65536"} {
		_, err := sdktest.OpenSink(Kind, map[string]any{"channel": "#test", "webhookUrl": "https://hooks.slack.com:" + port + secretPath})
		require.EqualError(t, err, "slack-sink: webhookUrl has port "+port+", which is not a port number (1 to 65535)")
	}
	_, err := sdktest.OpenSink(Kind, map[string]any{"channel": "#test", "webhookUrl": "https://hooks.slack.com:https" + secretPath})
	require.EqualError(t, err, "slack-sink: webhookUrl must be an http:// or https:// URL")
	_, err = sdktest.OpenSink(Kind, map[string]any{"channel": "#test", "webhookUrl": "https://:443" + secretPath})
	require.EqualError(t, err, "slack-sink: webhookUrl must be an http:// or https:// URL")
}

func TestParameters(t *testing.T) {
	_, err := sdktest.Validate(Kind, map[string]any{"channel": "#test"})
	require.EqualError(t, err, `slack-sink: missing required parameter "webhookUrl"`)
	values, err := sdktest.Validate(Kind, map[string]any{"channel": "#test", "webhook_url": "https://hooks.slack.com/services/X"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"channel": "#test", "webhookUrl": "https://hooks.slack.com/services/X"}, values)

	_, err = sdktest.OpenSink(Kind, map[string]any{"channel": "#test", "webhookUrl": "hooks.slack.com/services/SECRET"})
	require.EqualError(t, err, "slack-sink: webhookUrl must be an http:// or https:// URL")
}

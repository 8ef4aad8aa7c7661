package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The examples source.star and slack.star run against local peers: a quote
// service standing in for financialmodelingprep.com and a receiver standing
// in for a Slack incoming webhook.

// quoteService answers GETs with AAPL quotes: first `failing` 503 answers,
// then one quote per request with the given prices in turn, the last one
// repeated forever.
type quoteService struct {
	mu      sync.Mutex
	failing int
	prices  []float64
}

func (q *quoteService) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failing > 0 {
		q.failing--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	price := q.prices[0]
	if len(q.prices) > 1 {
		q.prices = q.prices[1:]
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `[{"symbol": "AAPL", "price": %g, "volume": 51234567}]`, price)
}

// startQuotes starts a quote service and returns the URL of its AAPL quote,
// with an API key that must never be shown.
func startQuotes(t *testing.T, q *quoteService) string {
	t.Helper()
	srv := httptest.NewServer(q)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v3/quote-short/AAPL?apikey=SECRET-API-KEY"
}

// slackReceiver takes posts as a Slack incoming webhook does, at a path
// that is the credential. It answers the first post 500, to make the sink
// retry and log, and the others "200 ok".
type slackReceiver struct {
	mu       sync.Mutex
	attempts int
	messages []slackMessage
}

type slackMessage struct {
	Channel string `json:"channel"`
	Text    string `json:"text"`
}

const slackSecretPath = "/services/T0TEST/B0TEST/SECRETwebhookTOKEN"

func (r *slackReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var m slackMessage
	if req.Method != http.MethodPost || req.URL.Path != slackSecretPath || json.NewDecoder(req.Body).Decode(&m) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.attempts == 1 {
		http.Error(w, "internal_error", http.StatusInternalServerError)
		return
	}
	r.messages = append(r.messages, m)
	_, _ = w.Write([]byte("ok"))
}

func (r *slackReceiver) received() []slackMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slackMessage(nil), r.messages...)
}

// requireQuoteMessages checks that messages are the comparisons of the
// prices 100, 101, 101, 99, 99...: up, unchanged, down, then unchanged.
func requireQuoteMessages(t *testing.T, messages []string) {
	t.Helper()
	require.GreaterOrEqual(t, len(messages), 3, "messages: %q", messages)
	require.Equal(t, []string{"AAPL is up", "AAPL is unchanged", "AAPL is down"}, messages[:3])
	for _, m := range messages[3:] {
		require.Equal(t, "AAPL is unchanged", m)
	}
}

func TestSourceExample(t *testing.T) {
	t.Parallel()
	quoteURL := startQuotes(t, &quoteService{failing: 1, prices: []float64{100, 101, 101, 99}})
	stdout, stderr, code := rayvens(t, "run", "--for", "4s", "examples/source.star", quoteURL, "100")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	requireQuoteMessages(t, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"))
	require.Contains(t, stderr, "warn: fetch failed; retrying at the next period error=answered 503 Service Unavailable")
	require.NotContains(t, stderr, "SECRET-API-KEY", "the query string is never logged")
}

func TestSlackExample(t *testing.T) {
	t.Parallel()
	quoteURL := startQuotes(t, &quoteService{prices: []float64{100, 101, 101, 99}})
	receiver := &slackReceiver{}
	slack := httptest.NewServer(receiver)
	defer slack.Close()
	webhook := slack.URL + slackSecretPath

	stdout, stderr, code := rayvens(t, "run", "--for", "4s", "examples/slack.star", "#test", webhook, quoteURL, "100")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	require.Empty(t, stdout)
	var texts []string
	for _, m := range receiver.received() {
		require.Equal(t, "#test", m.Channel)
		texts = append(texts, m.Text)
	}
	requireQuoteMessages(t, texts)
	require.Contains(t, stderr, "warn: posting a message failed; retrying error=slack webhook answered 500 Internal Server Error")
	for _, secret := range []string{webhook, "SECRETwebhookTOKEN", "SECRET-API-KEY"} {
		require.NotContains(t, stdout, secret)
		require.NotContains(t, stderr, secret)
	}
}

func TestSlackExampleUsage(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := rayvens(t, "run", "examples/slack.star", "#test")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	require.Equal(t, "usage: rayvens run examples/slack.star CHANNEL WEBHOOK_URL [QUOTE_URL [PERIOD_MS]]\n", stdout)
	require.Empty(t, stderr, "no connector was started")
}

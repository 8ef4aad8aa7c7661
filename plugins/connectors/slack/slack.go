// Package slack is the slack-sink connector: each event becomes the text of
// one message posted to a Slack incoming webhook, as with the Apache Camel
// Kamelet of the same name. The messages of a batch are posted in order.
//
// A 429 answer is retried after the Retry-After it carries; a 5xx answer
// (but 501 Not Implemented) or a failed connection is retried with
// exponential backoff; any other answer than 2xx is a permanent failure of
// that message, with Slack's reason (the body of its answer, such as
// "channel_not_found"). The first message that cannot be posted stops the
// batch, and Write says so with sdk.Partial: the messages before it were
// posted and are done; the host fails that message (permanent) or sends it
// again, and sends the messages after it again, so none is posted twice
// because another failed.
//
// The webhook URL is the credential: it never appears in a log line or an
// error, which is why errors of the HTTP client (which show the URL) and
// Slack's answers (which may echo the request) are redacted here: they
// show scheme://host:port, and none of the path, query or userinfo.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	slackgo "github.com/slack-go/slack"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Kind declares slack-sink.
var Kind = sdk.SinkKind{
	Name:        "slack-sink",
	Kamelet:     "slack-sink",
	Description: "Sends messages to a Slack channel through an incoming webhook. It honours 429 Retry-After and retries 5xx answers with backoff.",
	Events:      "each event becomes the text of one message",
	Params: []sdk.Param{
		{Name: "channel", Type: sdk.String, Required: true, Description: "The Slack channel to send messages to."},
		{Name: "webhookUrl", Type: sdk.String, Required: true, Secret: true, Aliases: []string{"webhook_url"}, Description: "The webhook URL used by the Slack channel to handle incoming messages."},
	},
	New: newSink,
}

// How one message is retried: at most maxAttempts posts, waiting between
// them from firstWait doubling up to maxWait (or what Retry-After asks),
// and no new attempt once retryBudget has passed since the first, so that a
// long rate limit leaves the next try to the host instead of blocking it.
const (
	maxAttempts    = 6
	firstWait      = 500 * time.Millisecond
	maxWait        = 8 * time.Second
	retryBudget    = time.Minute
	requestTimeout = 30 * time.Second
)

// maxReason bounds how much of Slack's answer an error quotes.
const maxReason = 200

// sink is one slack-sink instance.
type sink struct {
	channel string
	webhook string   // the secret: never in a log line or an error
	secrets []secret // what of webhook may be quoted back to the sink: see redact
	client  *http.Client
	log     *slog.Logger
	// firstWait and maxWait are the constants of the same names, shorter
	// in tests.
	firstWait, maxWait time.Duration
}

func newSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	webhook := cfg.String("webhookUrl")
	u, err := checkURL(webhook)
	if err != nil {
		return nil, err
	}
	return &sink{
		channel:   cfg.String("channel"),
		webhook:   webhook,
		secrets:   secrets(webhook, u),
		client:    &http.Client{Timeout: requestTimeout},
		log:       log,
		firstWait: firstWait,
		maxWait:   maxWait,
	}, nil
}

// checkURL refuses a webhook URL that no post could reach, so that the
// mistake shows when the sink is opened, not as a failure of every
// message. Its errors show no part of the URL but a bad port: its path is
// the credential.
func checkURL(webhook string) (*url.URL, error) {
	u, err := url.Parse(webhook)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, errors.New("slack-sink: webhookUrl must be an http:// or https:// URL")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("slack-sink: webhookUrl has port %s, which is not a port number (1 to 65535)", p)
		}
	}
	return u, nil
}

// Write posts one message per event, in order, and stops at the first
// that cannot be posted: its error, marked sdk.Partial, says that the
// messages before it were posted.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	for i, ev := range batch {
		if err := s.post(ctx, string(ev.Body)); err != nil {
			return sdk.Partial(i, err)
		}
	}
	return nil
}

// post posts one message, retrying what may pass.
func (s *sink) post(ctx context.Context, text string) error {
	payload, err := json.Marshal(&slackgo.WebhookMessage{Channel: s.channel, Text: text})
	if err != nil {
		return sdk.Permanent(fmt.Errorf("slack webhook: the message cannot be encoded: %w", err))
	}
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, s.maxWait
	permanent := false
	_, err = backoff.Retry(ctx, func() (struct{}, error) {
		err := s.attempt(ctx, payload)
		permanent = errors.As(err, new(*backoff.PermanentError))
		return struct{}{}, err
	},
		backoff.WithBackOff(retry),
		backoff.WithMaxTries(maxAttempts),
		backoff.WithMaxElapsedTime(retryBudget),
		backoff.WithNotify(func(err error, wait time.Duration) {
			s.log.Warn("posting a message failed; retrying", "error", err.Error(), "wait", wait.Round(time.Millisecond).String())
		}))
	if err != nil && ctx.Err() != nil {
		return errors.New("slack webhook: stopped before the message was posted")
	}
	if permanent {
		return sdk.Permanent(err) // the host fails this message instead of sending it again
	}
	return err
}

// attempt posts the message once. Its error says "slack webhook" and
// Slack's answer or the reason, never the URL; it is permanent
// (backoff.Permanent) when trying again cannot help, and carries a
// backoff.RetryAfterError when Slack said how long to wait.
func (s *sink) attempt(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.webhook, bytes.NewReader(payload))
	if err != nil {
		return backoff.Permanent(errors.New("slack webhook: cannot make the request"))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return s.requestError(err)
	}
	defer resp.Body.Close()
	said, _ := io.ReadAll(io.LimitReader(resp.Body, 4*maxReason))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		// Slack answers 200; other services that take Slack's messages
		// (rayvens' own webhook-source, for one) may answer another 2xx.
		return nil
	}
	failed := errors.New("slack webhook answered " + resp.Status)
	if reason := s.redact(sdk.Excerpt(said, maxReason)); reason != "" {
		failed = fmt.Errorf("slack webhook answered %s: %s", resp.Status, reason)
	}
	switch {
	case code == http.StatusTooManyRequests:
		if wait, ok := sdk.RetryAfter(resp.Header.Get("Retry-After")); ok {
			return fmt.Errorf("%w: %w", failed, &backoff.RetryAfterError{Duration: wait})
		}
		return failed
	case code >= 500 && code != http.StatusNotImplemented:
		return failed
	}
	return backoff.Permanent(failed)
}

// requestError turns an error of the HTTP client, which shows the URL,
// into one that does not.
func (s *sink) requestError(err error) error {
	var request *url.Error
	switch {
	case errors.As(err, &request) && request.Timeout():
		return fmt.Errorf("slack webhook: no answer within %s", requestTimeout)
	case errors.As(err, &request):
		return fmt.Errorf("slack webhook: %s", s.redact(request.Err.Error()))
	}
	return fmt.Errorf("slack webhook: %s", s.redact(err.Error()))
}

// secret is a part of the webhook URL that may carry the credential, and
// what a message shows in its place.
type secret struct{ text, shown string }

// secrets lists what of the webhook URL u (webhook as configured) may
// carry the credential: everything but scheme://host:port. Slack puts it
// in the path; another service that takes Slack's messages may put it in
// the query, or the userinfo. Each is listed whole, as sent and decoded,
// and so is each of its parts at least minSecretPart bytes long (a peer
// may quote one alone): the user name and password, each part of the path
// but Slack's "services", each value of the query. Longest first, so that
// a secret is removed whole before a part of it.
func secrets(webhook string, u *url.URL) []secret {
	var list []secret
	add := func(shown string, texts ...string) {
		for _, text := range texts {
			if text != "" {
				list = append(list, secret{text, shown})
			}
		}
	}
	addParts := func(shown string, parts ...string) {
		for _, p := range parts {
			if len(p) >= minSecretPart && p != "services" {
				add(shown, p, url.PathEscape(p), url.QueryEscape(p))
			}
		}
	}
	add("<webhookUrl>", webhook, u.String())
	if u.User != nil {
		add("<webhook userinfo>", u.User.String())
		password, _ := u.User.Password()
		addParts("<webhook userinfo>", u.User.Username(), password)
	}
	if len(u.Path) > 1 {
		add("/<webhook path>", u.EscapedPath(), u.Path)
		addParts("<webhook path>", strings.Split(u.Path, "/")...)
	}
	if u.RawQuery != "" {
		query := u.Query()
		add("<webhook query>", u.RawQuery, query.Encode())
		for _, values := range query {
			addParts("<webhook query>", values...)
		}
	}
	if u.Fragment != "" {
		add("<webhook fragment>", u.EscapedFragment(), u.Fragment)
	}
	slices.SortStableFunc(list, func(a, b secret) int { return len(b.text) - len(a.text) })
	return list
}

// redact removes every part of the webhook URL that may carry the
// credential (see secrets) from a message the sink did not write itself:
// an error of the HTTP client, or a peer's answer, which may echo the
// request.
func (s *sink) redact(msg string) string {
	for _, secret := range s.secrets {
		msg = strings.ReplaceAll(msg, secret.text, secret.shown)
	}
	return msg
}

// minSecretPart is the shortest part of the webhook URL that redact
// removes on its own: shorter ones are too common a word to tell.
const minSecretPart = 6

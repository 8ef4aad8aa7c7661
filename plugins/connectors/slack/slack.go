// Package slack is the slack-sink connector: each event becomes the text of
// one message posted to a Slack incoming webhook, as with the Apache Camel
// Kamelet of the same name. The messages of a batch are posted in order.
//
// A 429 answer is retried after the Retry-After it carries; a 5xx answer
// (but 501 Not Implemented) or a failed connection is retried with
// exponential backoff; any other answer than 2xx is a permanent failure of
// that message. The first message that cannot be posted stops the batch and
// Write returns an error: the host sends the whole batch again, so the
// messages before it are posted twice (at-least-once delivery, see
// README.md).
//
// The webhook URL is the credential: it never appears in a log line or an
// error, which is why errors of the HTTP client (which show the URL) are
// rewritten here.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
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

// sink is one slack-sink instance.
type sink struct {
	channel string
	webhook string // the secret: never in a log line or an error
	client  *http.Client
	log     *slog.Logger
	// firstWait and maxWait are the constants of the same names, shorter
	// in tests.
	firstWait, maxWait time.Duration
}

func newSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	webhook := cfg.String("webhookUrl")
	u, err := url.Parse(webhook)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("slack-sink: webhookUrl must be an http:// or https:// URL")
	}
	return &sink{
		channel:   cfg.String("channel"),
		webhook:   webhook,
		client:    &http.Client{Timeout: requestTimeout},
		log:       log,
		firstWait: firstWait,
		maxWait:   maxWait,
	}, nil
}

// Write posts one message per event, in order, and stops at the first that
// cannot be posted. Its error says how many were posted before: the host
// sends the whole batch again, and those are then posted a second time.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	for i, ev := range batch {
		if err := s.post(ctx, string(ev.Body)); err != nil {
			if i == 0 {
				return err
			}
			return fmt.Errorf("%w (the %d messages before it in the batch were posted, and will be posted again with it)", err, i)
		}
	}
	return nil
}

// post posts one message, retrying what may pass.
func (s *sink) post(ctx context.Context, text string) error {
	msg := &slackgo.WebhookMessage{Channel: s.channel, Text: text}
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, s.maxWait
	permanent := false
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := s.explain(slackgo.PostWebhookCustomHTTPContext(ctx, s.webhook, s.client, msg))
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
		return sdk.Permanent(err) // the host need not send the batch again
	}
	return err
}

// explain turns an error of the Slack client into one that says "slack
// webhook" and the answer or the reason, never the URL; it is permanent
// (backoff.Permanent) when trying again cannot help, and carries a
// backoff.RetryAfterError when Slack said how long to wait.
func (s *sink) explain(err error) error {
	var (
		limited *slackgo.RateLimitedError
		status  slackgo.StatusCodeError
		request *url.Error
		number  *strconv.NumError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &status) && status.Code >= 200 && status.Code <= 299:
		// Slack answers 200; other services that take Slack's messages
		// (rayvens' own webhook-source, for one) may answer another 2xx.
		return nil
	case errors.As(err, &limited):
		return fmt.Errorf("slack webhook answered 429 Too Many Requests: %w", &backoff.RetryAfterError{Duration: limited.RetryAfter})
	case errors.As(err, &status) && (status.Code == http.StatusTooManyRequests || status.Code >= 500 && status.Code != http.StatusNotImplemented):
		return fmt.Errorf("slack webhook answered %s", status.Status)
	case errors.As(err, &status):
		return backoff.Permanent(fmt.Errorf("slack webhook answered %s", status.Status))
	case errors.As(err, &request) && request.Timeout():
		return fmt.Errorf("slack webhook: no answer within %s", requestTimeout)
	case errors.As(err, &request):
		return fmt.Errorf("slack webhook: %s", s.redact(request.Err.Error()))
	case errors.As(err, &number):
		// The Slack client could not read a 429's Retry-After.
		return errors.New("slack webhook answered 429 Too Many Requests")
	}
	return fmt.Errorf("slack webhook: %s", s.redact(err.Error()))
}

// redact removes the webhook URL, and its path (where Slack puts the
// credential), from a message the sink did not write itself.
func (s *sink) redact(msg string) string {
	msg = strings.ReplaceAll(msg, s.webhook, "<webhookUrl>")
	if u, err := url.Parse(s.webhook); err == nil && len(u.Path) > 1 {
		msg = strings.ReplaceAll(msg, u.Path, "/<webhook path>")
	}
	return msg
}

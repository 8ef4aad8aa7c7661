// Package httpsink is the http-sink connector: each event is the body of
// one HTTP request, as with the Apache Camel Kamelet of the same name.
//
// A request that fails for a reason that may pass (no connection, a 5xx
// answer, 429 Too Many Requests) is tried again with exponential backoff,
// waiting as long as a Retry-After header asks; any other 4xx answer is a
// permanent failure of that event. The events of a batch are sent in order
// and the first that fails stops the batch: Write then returns an error,
// and the host sends the whole batch again, so the events before it are
// sent twice (at-least-once delivery, see README.md).
package httpsink

import (
	"bytes"
	"context"
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
	"golang.org/x/net/http/httpguts"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Kind declares http-sink.
var Kind = sdk.SinkKind{
	Name:        "http-sink",
	Kamelet:     "http-sink",
	Description: "Forwards each event to an HTTP or HTTPS endpoint, retrying failures with backoff.",
	Events:      "each event is the body of one request",
	Params: []sdk.Param{
		{Name: "url", Type: sdk.String, Required: true, Description: "The URL to which you want to send data."},
		{Name: "method", Type: sdk.String, Default: "POST", Description: "The HTTP method to use."},
		{Name: "contentType", Type: sdk.String, Aliases: []string{"content_type"}, Description: "The Content-Type of the requests (default: the event's own content type)."},
	},
	New: newSink,
}

// methods are the methods the Kamelet allows.
var methods = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE", "PATCH"}

// How one event is retried: at most maxAttempts requests, waiting between
// them from firstWait doubling up to maxWait (or what Retry-After asks),
// and no new attempt once retryBudget has passed since the first.
const (
	maxAttempts    = 5
	firstWait      = 250 * time.Millisecond
	maxWait        = 4 * time.Second
	retryBudget    = 10 * time.Second
	requestTimeout = 30 * time.Second
)

// sink is one http-sink instance. The SDK calls Write once at a time, so
// its fields need no lock.
type sink struct {
	url         string
	where       string // url without query and userinfo, for logs and errors
	method      string
	contentType string // "" means the event's own
	client      *http.Client
	log         *slog.Logger
	// firstWait and maxWait are the constants of the same names, shorter
	// in tests.
	firstWait, maxWait time.Duration
	// badHeaders are the event header names already reported as not valid
	// in HTTP, so each is reported once.
	badHeaders map[string]bool
}

func newSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	u, err := url.Parse(cfg.String("url"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL itself is not shown: it may carry credentials.
		return nil, errors.New("http-sink: url must be an http:// or https:// URL")
	}
	method := strings.ToUpper(cfg.String("method"))
	if !slices.Contains(methods, method) {
		return nil, fmt.Errorf("http-sink: method %q is not one of %s", cfg.String("method"), strings.Join(methods, ", "))
	}
	return &sink{
		url:         u.String(),
		where:       (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(),
		method:      method,
		contentType: cfg.String("contentType"),
		client:      &http.Client{Timeout: requestTimeout},
		log:         log,
		firstWait:   firstWait,
		maxWait:     maxWait,
		badHeaders:  map[string]bool{},
	}, nil
}

// Write sends the events of batch in order and stops at the first that
// cannot be sent. Its error says how many were sent before: the host sends
// the whole batch again, and those are then sent a second time.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	for i, ev := range batch {
		if err := s.send(ctx, ev); err != nil {
			if i == 0 {
				return err
			}
			return fmt.Errorf("%w (the %d events before it in the batch were sent, and will be sent again with it)", err, i)
		}
	}
	return nil
}

// send makes the request for ev, retrying what may pass.
func (s *sink) send(ctx context.Context, ev sdk.Event) error {
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, s.maxWait
	permanent := false
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := s.attempt(ctx, ev)
		permanent = errors.As(err, new(*backoff.PermanentError))
		return struct{}{}, err
	},
		backoff.WithBackOff(retry),
		backoff.WithMaxTries(maxAttempts),
		backoff.WithMaxElapsedTime(retryBudget),
		backoff.WithNotify(func(err error, wait time.Duration) {
			s.log.Warn("request failed; retrying", "error", err.Error(), "wait", wait.Round(time.Millisecond).String())
		}))
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%s %s: stopped before the request succeeded", s.method, s.where)
	}
	if permanent {
		return sdk.Permanent(err) // the host need not send the batch again
	}
	return err
}

// attempt makes one request. Its error is permanent (backoff.Permanent)
// when trying again cannot help, and carries a backoff.RetryAfterError
// when the server said how long to wait.
func (s *sink) attempt(ctx context.Context, ev sdk.Event) error {
	req, err := http.NewRequestWithContext(ctx, s.method, s.url, bytes.NewReader(ev.Body))
	if err != nil {
		return backoff.Permanent(fmt.Errorf("%s %s: cannot make the request", s.method, s.where))
	}
	s.setHeaders(req, ev)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.method, s.where, requestError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return nil
	}
	failed := fmt.Errorf("%s %s answered %s", s.method, s.where, resp.Status)
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if wait, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return fmt.Errorf("%w: %w", failed, &backoff.RetryAfterError{Duration: wait})
		}
		return failed
	case code >= 500 && code != http.StatusNotImplemented:
		return failed
	}
	return backoff.Permanent(failed)
}

// setHeaders copies the event's headers to req (those HTTP can carry) and
// sets its Content-Type: the contentType parameter, else the event's
// Content-Type header, else the event's content type.
func (s *sink) setHeaders(req *http.Request, ev sdk.Event) {
	for name, value := range ev.Headers {
		if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
			if !s.badHeaders[name] {
				s.badHeaders[name] = true
				s.log.Warn("an event header is not a valid HTTP header; it is not sent", "header", name)
			}
			continue
		}
		req.Header.Set(name, value)
	}
	switch {
	case s.contentType != "":
		req.Header.Set("Content-Type", s.contentType)
	case req.Header.Get("Content-Type") == "" && ev.ContentType != "":
		req.Header.Set("Content-Type", ev.ContentType)
	}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}

// requestError strips the URL from an error of the HTTP client: a
// *url.Error shows it whole, query string and userinfo included.
func requestError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if ue.Timeout() {
		return fmt.Errorf("no answer within %s", requestTimeout)
	}
	return ue.Err
}

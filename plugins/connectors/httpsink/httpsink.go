// Package httpsink is the http-sink connector: each event is the body of
// one HTTP request, as with the Apache Camel Kamelet of the same name.
//
// A request that fails for a reason that may pass (no connection, a 5xx
// answer, 429 Too Many Requests) is tried again with exponential backoff,
// waiting as long as a Retry-After header asks; any other 4xx answer is a
// permanent failure of that event, whose error quotes the peer's answer.
// The events of a batch are sent in order and the first that fails stops
// the batch: Write says so with sdk.Partial, so the events before it are
// done and never sent again, and the host fails that event (permanent) or
// sends it again, and sends the ones after it again (see README.md).
//
// Credentials belong in the authorizationToken and headers parameters,
// not in the URL: every log line and error shows the URL as
// scheme://host[:port] only, since its path and query may carry a token
// too, and the peer's answers are quoted without any of them.
package httpsink

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
		{Name: "url", Type: sdk.String, Required: true, Check: sdk.URL("http", "https"), Description: "The URL to which you want to send data."},
		{Name: "method", Type: sdk.String, Default: "POST", Description: "The HTTP method to use."},
		{Name: "contentType", Type: sdk.String, Aliases: []string{"content_type"}, Description: "The Content-Type of the requests (default: the event's own content type)."},
		{Name: "authorizationToken", Type: sdk.String, Secret: true, Aliases: []string{"authorization_token"}, Description: "When set, each request carries the header `Authorization: Bearer <token>`."},
		{Name: "headers", Type: sdk.String, Secret: true, Description: `Headers to send with each request, as a JSON object of names to string values, such as '{"X-Api-Key": "k1", "X-Team": "ops"}'; they replace event headers of the same name.`},
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

// maxReason bounds how much of the peer's answer an error quotes.
const maxReason = 200

// sink is one http-sink instance. The SDK calls Write once at a time, so
// its fields need no lock.
type sink struct {
	url         string
	where       string   // scheme://host[:port] of url, for logs and errors
	secrets     []string // what may carry a credential, never quoted: see redact
	method      string
	contentType string      // "" means the event's own
	headers     http.Header // the headers parameter, and Authorization
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
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		// The URL itself is not shown: it may carry credentials.
		return nil, errors.New("http-sink: url must be an http:// or https:// URL")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("http-sink: url has port %s, which is not a port number (1 to 65535)", p)
		}
	}
	method := strings.ToUpper(cfg.String("method"))
	if !slices.Contains(methods, method) {
		return nil, fmt.Errorf("http-sink: method %q is not one of %s", cfg.String("method"), strings.Join(methods, ", "))
	}
	headers, err := fixedHeaders(cfg)
	if err != nil {
		return nil, err
	}
	return &sink{
		url: u.String(),
		// Only scheme and host: a path or query may hold a token as well
		// as userinfo does.
		where:       (&url.URL{Scheme: u.Scheme, Host: u.Host}).String(),
		secrets:     secrets(u, headers),
		method:      method,
		contentType: cfg.String("contentType"),
		headers:     headers,
		client:      &http.Client{Timeout: requestTimeout},
		log:         log,
		firstWait:   firstWait,
		maxWait:     maxWait,
		badHeaders:  map[string]bool{},
	}, nil
}

// Write sends the events of batch in order and stops at the first that
// cannot be sent: its error, marked sdk.Partial, says that the events
// before it were sent.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	for i, ev := range batch {
		if err := s.send(ctx, ev); err != nil {
			return sdk.Partial(i, err)
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
		return sdk.Permanent(err) // the host fails this event instead of sending it again
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
	said, _ := io.ReadAll(io.LimitReader(resp.Body, 4*maxReason))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return nil
	}
	failed := fmt.Errorf("%s %s answered %s", s.method, s.where, resp.Status)
	if reason := s.redact(sdk.Excerpt(said, maxReason)); reason != "" {
		failed = fmt.Errorf("%s %s answered %s: %s", s.method, s.where, resp.Status, reason)
	}
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if wait, ok := sdk.RetryAfter(resp.Header.Get("Retry-After")); ok {
			return fmt.Errorf("%w: %w", failed, &backoff.RetryAfterError{Duration: wait})
		}
		return failed
	case code >= 500 && code != http.StatusNotImplemented:
		return failed
	}
	return backoff.Permanent(failed)
}

// fixedHeaders reads the headers and authorizationToken parameters: the
// headers every request carries. Its errors name the parameter and the
// header, never a value: both parameters are secret.
func fixedHeaders(cfg sdk.Config) (http.Header, error) {
	h := http.Header{}
	if cfg.Has("headers") {
		var values map[string]string
		if err := json.Unmarshal([]byte(cfg.String("headers")), &values); err != nil || values == nil {
			return nil, errors.New(`http-sink: headers must be a JSON object of header names to string values, such as '{"X-Api-Key": "k1"}'`)
		}
		for name, value := range values {
			if !httpguts.ValidHeaderFieldName(name) {
				return nil, fmt.Errorf("http-sink: headers: %q is not a valid HTTP header name", name)
			}
			if !httpguts.ValidHeaderFieldValue(value) {
				return nil, fmt.Errorf("http-sink: headers: the value of %q is not a valid HTTP header value", name)
			}
			if _, twice := h[http.CanonicalHeaderKey(name)]; twice {
				return nil, fmt.Errorf("http-sink: headers: %q is given twice", http.CanonicalHeaderKey(name))
			}
			h.Set(name, value)
		}
	}
	if cfg.Has("authorizationToken") {
		token := cfg.String("authorizationToken")
		if token == "" || !httpguts.ValidHeaderFieldValue(token) {
			return nil, errors.New("http-sink: authorizationToken must be a non-empty token that an HTTP header can carry (no line breaks)")
		}
		h.Set("Authorization", "Bearer "+token)
	}
	return h, nil
}

// setHeaders copies the event's headers to req (those HTTP can carry),
// then the headers and authorizationToken parameters over them, and sets
// its Content-Type: the contentType parameter, else a Content-Type header
// from the event or the headers parameter, else the event's content type.
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
	for name := range s.headers {
		req.Header.Set(name, s.headers.Get(name))
	}
	switch {
	case s.contentType != "":
		req.Header.Set("Content-Type", s.contentType)
	case req.Header.Get("Content-Type") == "" && ev.ContentType != "":
		req.Header.Set("Content-Type", ev.ContentType)
	}
}

// secrets lists what of the URL and the fixed headers may carry a
// credential, longest first, so that a secret is removed whole before a
// part of it: the URL's userinfo, path and query, whole; and, when at
// least minSecret bytes long (shorter, they cannot be told from ordinary
// words, and are no credential), the user name and password, each part
// of the path, each value of the query, the value of each header of the
// headers parameter and the authorizationToken.
func secrets(u *url.URL, headers http.Header) []string {
	var whole, parts []string
	if u.User != nil {
		whole = append(whole, u.User.String())
		parts = append(parts, u.User.Username())
		if p, ok := u.User.Password(); ok {
			parts = append(parts, p)
		}
	}
	if len(u.Path) > 1 {
		whole = append(whole, u.EscapedPath(), u.Path)
		parts = append(parts, strings.Split(u.Path, "/")...)
	}
	if u.RawQuery != "" {
		whole = append(whole, u.RawQuery)
		for _, values := range u.Query() {
			parts = append(parts, values...)
		}
	}
	for name := range headers {
		value := headers.Get(name)
		parts = append(parts, value)
		if name == "Authorization" {
			parts = append(parts, strings.TrimPrefix(value, "Bearer "))
		}
	}
	for _, p := range parts {
		if len(p) >= minSecret {
			whole = append(whole, p)
		}
	}
	slices.SortFunc(whole, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(whole)
}

// minSecret is the shortest part of a URL or header value that redact
// removes on its own.
const minSecret = 4

// redact removes every secret of the sink from a message the sink did not
// write itself (a peer may echo a token, a path or a query back).
func (s *sink) redact(msg string) string {
	for _, secret := range s.secrets {
		msg = strings.ReplaceAll(msg, secret, "<redacted>")
	}
	return msg
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

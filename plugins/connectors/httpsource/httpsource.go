// Package httpsource is the http-source connector: it fetches a URL
// periodically and emits the body of each successful response, as the
// Apache Camel Kamelet of the same name does.
//
// A fetch that fails (no connection, a timeout, a non-2xx answer) is logged
// and tried again at the next period: a source polling a service that is
// down keeps polling until it is back or the run ends. Logs show the URL
// without its query string and user information, where API keys travel.
package httpsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Kind declares http-source.
var Kind = sdk.SourceKind{
	Name:        "http-source",
	Kamelet:     "http-source",
	Description: "Periodically fetches an HTTP resource and provides the content as output.",
	Events:      "the body of each 2xx response, as a string; failed fetches are logged and retried at the next period",
	Params: []sdk.Param{
		{Name: "url", Type: sdk.String, Required: true, Check: sdk.URL("http", "https"), Description: "The URL to fetch for data."},
		{Name: "period", Type: sdk.Integer, Default: 1000, Check: sdk.AtLeast(1), Description: "The interval between fetches in milliseconds (Rayvens' default: 1000; the Kamelet's is 10000)."},
		{Name: "contentType", Type: sdk.String, Default: "application/json", Aliases: []string{"content_type"}, Description: "The content type accepted for the resource (the Accept header)."},
	},
	New: newHTTPSource,
}

// maxBody is the largest response body emitted; a larger one is a failed
// fetch. It stays well below the largest message the plugin protocol takes.
const maxBody = 32 << 20

// Bounds of the timeout of one fetch, which is otherwise the period: a
// fetch never overlaps the next one by much, and a slow service still gets
// a chance when the period is short.
const (
	minTimeout = time.Second
	maxTimeout = 30 * time.Second
)

// source is one http-source instance.
type source struct {
	url         string
	where       string // url without query and userinfo, for logs
	accept      string
	period      time.Duration
	client      *http.Client
	log         *slog.Logger
	lastFailure string // the reason the last fetch failed, "" after a success
}

func newHTTPSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	u, err := url.Parse(cfg.String("url")) // checked by validation, as period
	if err != nil {
		return nil, errors.New("http-source: url must be an http:// or https:// URL") // not shown: it may carry an API key
	}
	period := cfg.Millis("period")
	return &source{
		url:    u.String(),
		where:  location(u),
		accept: cfg.String("contentType"),
		period: period,
		client: &http.Client{Timeout: min(max(period, minTimeout), maxTimeout)},
		log:    log,
	}, nil
}

// location is u as logs show it: scheme, host and path, without the query
// string and user information that may carry credentials.
func location(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Run fetches the URL at once and then once every period until ctx ends.
// Failed fetches are logged, never fatal.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	ticker := time.NewTicker(s.period)
	defer ticker.Stop()
	for {
		ev, err := s.fetch(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.failed(err)
		default:
			s.succeeded()
			if emit(ctx, ev) != nil {
				return nil // emit fails only when ctx ends or the instance closes: both mean stop
			}
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// fetch makes one GET and returns the body of a 2xx answer as an event.
// Its errors are sentences that never contain the URL's query or userinfo.
func (s *source) fetch(ctx context.Context) (sdk.Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return sdk.Event{}, errors.New("cannot make the request")
	}
	if s.accept != "" {
		req.Header.Set("Accept", s.accept)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return sdk.Event{}, requestError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return sdk.Event{}, fmt.Errorf("answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return sdk.Event{}, fmt.Errorf("reading the answer: %w", requestError(err))
	case len(body) > maxBody:
		return sdk.Event{}, fmt.Errorf("the answer is larger than %d MiB", maxBody>>20)
	}
	contentType := resp.Header.Get("Content-Type")
	if contentType == "" {
		contentType = s.accept
	}
	return sdk.Event{Body: body, ContentType: contentType}, nil
}

// requestError strips the URL from an error of the HTTP client: a
// *url.Error shows it whole, query string included.
func requestError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if ue.Timeout() {
		return errors.New("timed out")
	}
	return ue.Err
}

// failed logs a failed fetch: at warn when the reason is new, at debug
// while the same failure repeats, so a service that is down for an hour
// does not fill the log.
func (s *source) failed(err error) {
	reason := err.Error()
	if reason == s.lastFailure {
		s.log.Debug("fetch failed again; retrying at the next period", "url", s.where, "error", reason)
		return
	}
	s.lastFailure = reason
	s.log.Warn("fetch failed; retrying at the next period", "url", s.where, "error", reason)
}

// succeeded notes a successful fetch, and says so after failures.
func (s *source) succeeded() {
	if s.lastFailure != "" {
		s.log.Info("fetching works again", "url", s.where)
	}
	s.lastFailure = ""
}

// Package webhook is the webhook-source connector: an HTTP endpoint where
// the body of each POST becomes an event, as with the Apache Camel Kamelet
// of the same name.
//
// The answer to a POST tells the caller what became of its event: 202
// Accepted only once the host is done with it end to end (every
// subscriber, derived event and sink write it reached: the SDK's
// Event.Ack), 500 Internal Server Error with the reason when it failed on
// its way, 503 Service Unavailable with Retry-After when the stream is
// full, the event was not handed to the host before the source stopped,
// or the outcome is not known in time. A caller that retries on 503
// therefore loses nothing (it may deliver twice: a 503 after a timeout
// means "not known to be done").
//
// When the source stops, the port closes and Run returns at once, but the
// requests in flight are still answered: one whose event was handed to the
// host with the event's outcome (the host may be done with it, or still
// be; the SDK tells the events it never took only once Run has returned),
// one whose event was not with 503. The server shuts down once they are
// answered.
//
// A caller cannot hold a connection (and the goroutine serving it) by
// sending slowly: its headers must arrive within headerWait of the
// request's start, its body within bodyWait of the headers (408 Request
// Timeout otherwise), and the body is at most maxBodySize bytes (413).
package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Kind declares webhook-source.
var Kind = sdk.SourceKind{
	Name:        "webhook-source",
	Kamelet:     "webhook-source",
	Description: "Creates an HTTP endpoint: the body of each POST to it is an event. It answers 202 only once the event is done end to end (every subscriber and sink write it reached), 500 with the reason when it failed on its way, and 503 with Retry-After while the stream is full.",
	Events:      "the body of each POST, as a string",
	Params: []sdk.Param{
		{Name: "subpath", Type: sdk.String, Default: "webhook", Description: "The subpath where the webhook is registered."},
		{Name: "host", Type: sdk.String, Default: "127.0.0.1", Description: "The address to listen on (Rayvens; use 0.0.0.0 to accept connections from other hosts)."},
		{Name: "port", Type: sdk.Integer, Default: 8000, Check: sdk.Between(0, 65535), Description: "The port to listen on (Rayvens)."},
		{Name: "maxBodySize", Type: sdk.Integer, Default: 1 << 20, Check: sdk.AtLeast(1), Aliases: []string{"max_body_size"}, Description: "The largest body accepted, in bytes; a larger one is answered 413."},
		{Name: "authorizationToken", Type: sdk.String, Secret: true, Aliases: []string{"authorization_token"}, Description: "When set, requests must carry the header `Authorization: Bearer <token>`; others are answered 401."},
	},
	New: newWebhook,
}

// How long a request waits, and how many may wait at once.
const (
	// queueWait bounds the wait for room in the stream: past it the
	// stream is full and the answer is 503 with Retry-After.
	queueWait = time.Second
	// ackWait bounds the wait for the outcome of an event that was
	// handed to it.
	ackWait = 30 * time.Second
	// maxPending is the most events handed to the host and not yet
	// accepted. It bounds the memory bodies take while the stream is full
	// (the SDK would otherwise queue hundreds before emit blocks) and makes
	// a full stream answer 503 promptly.
	maxPending = 64
	// retryAfter is the Retry-After of every 503, in seconds.
	retryAfter = "1"
	// shutdownGrace is how much longer than a request may wait (bodyWait
	// for its body, then ackWait for its event's outcome) a graceful
	// shutdown waits for it: requests still running after that are cut.
	shutdownGrace = 5 * time.Second
	// headerWait bounds the arrival of a request's headers: a connection
	// that has not sent them by then is closed without an answer.
	headerWait = 10 * time.Second
	// bodyWait bounds the arrival of a request's body, from the end of
	// its headers: a body still incomplete by then is answered 408 and
	// its connection closed. It does not bound the wait for the event's
	// outcome (ackWait).
	bodyWait = 30 * time.Second
)

// webhook is one webhook-source instance. Its listener is opened by New,
// so that a port in use is an error when the instance opens.
type webhook struct {
	ln      net.Listener
	path    string // "/" + subpath
	maxBody int64
	token   []byte // sha256 of the authorization token; nil: no token
	log     *slog.Logger

	// pending holds one token per event handed to the host and not yet
	// accepted (capacity maxPending).
	pending chan struct{}
	// down is closed once the server has shut down, after Run: every
	// request it took has been answered (or cut, past the bound).
	down       chan struct{}
	queueWait  time.Duration
	ackWait    time.Duration
	headerWait time.Duration
	bodyWait   time.Duration
}

func newWebhook(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	port := cfg.Int("port") // checked by validation, as maxBodySize
	w := &webhook{
		path:       "/" + strings.Trim(cfg.String("subpath"), "/"),
		maxBody:    cfg.Int("maxBodySize"),
		log:        log,
		pending:    make(chan struct{}, maxPending),
		down:       make(chan struct{}),
		queueWait:  queueWait,
		ackWait:    ackWait,
		headerWait: headerWait,
		bodyWait:   bodyWait,
	}
	if cfg.Has("authorizationToken") {
		sum := sha256.Sum256([]byte(cfg.String("authorizationToken")))
		w.token = sum[:]
	}
	addr := net.JoinHostPort(cfg.String("host"), strconv.FormatInt(port, 10))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) { // "address already in use" rather than Go's "listen tcp ...: bind: ..."
			err = errno
		}
		return nil, fmt.Errorf("webhook-source: cannot listen on %s: %w", addr, err)
	}
	w.ln = ln
	return w, nil
}

// url is where the webhook listens, with the real port when port was 0.
func (w *webhook) url() string {
	return "http://" + w.ln.Addr().String() + w.path
}

// Run serves requests until ctx ends. Then it closes the port and returns
// at once, leaving the requests in flight to be answered (see the package
// doc) by a graceful shutdown of the server, which ends by itself.
func (w *webhook) Run(ctx context.Context, emit sdk.Emit) error {
	srv := &http.Server{
		Handler:           w.handler(ctx, emit),
		ReadHeaderTimeout: w.headerWait,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(w.log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(w.ln) }()
	w.log.Info("listening on " + w.url())

	select {
	case err := <-served:
		go w.shutDown(srv)
		return fmt.Errorf("webhook-source: serving on %s: %w", w.ln.Addr(), err)
	case <-ctx.Done():
	}
	go w.shutDown(srv)
	<-served // http.ErrServerClosed, once the port is closed
	return nil
}

// shutDown shuts srv down gracefully: it closes the port and idle
// connections, and waits until every request in flight is answered, as
// long as one may take (the body's bodyWait, then the outcome's ackWait)
// and shutdownGrace more; what still runs then is cut. It closes w.down.
// It runs on its own, after Run: the SDK acks an event the host never
// took, which answers its request, only once Run has returned.
func (w *webhook) shutDown(srv *http.Server) {
	defer close(w.down)
	ctx, cancel := context.WithTimeout(context.Background(), w.bodyWait+w.ackWait+shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		w.log.Warn("requests still running at shutdown were cut", "error", err)
		_ = srv.Close()
	}
}

// handler answers the requests of one Run: stopped ends when the source
// stops.
func (w *webhook) handler(stopped context.Context, emit sdk.Emit) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.bodyDeadline(rw, r)
		switch {
		case r.URL.Path != w.path:
			http.NotFound(rw, r)
			return
		case r.Method != http.MethodPost:
			rw.Header().Set("Allow", http.MethodPost)
			http.Error(rw, "only POST is accepted here", http.StatusMethodNotAllowed)
			return
		case !w.authorized(r):
			rw.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(rw, "a valid Authorization: Bearer token is required", http.StatusUnauthorized)
			w.log.Debug("request refused: missing or wrong authorization token", "remote", r.RemoteAddr)
			return
		}
		body, err := w.readBody(rw, r)
		if err != nil {
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				http.Error(rw, fmt.Sprintf("the body is larger than %d bytes", w.maxBody), http.StatusRequestEntityTooLarge)
			case errors.Is(err, os.ErrDeadlineExceeded):
				rw.Header().Set("Connection", "close")
				http.Error(rw, fmt.Sprintf("the body did not arrive within %s", w.bodyWait), http.StatusRequestTimeout)
				w.log.Debug("request answered 408: the body did not arrive in time", "remote", r.RemoteAddr)
			default:
				http.Error(rw, "the body could not be read", http.StatusBadRequest)
			}
			return
		}
		w.deliver(stopped, emit, rw, r, body)
	})
}

// authorized checks the bearer token, in constant time (hashes compare
// without revealing the token's length).
func (w *webhook) authorized(r *http.Request) bool {
	if w.token == nil {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], w.token) == 1
}

// bodyDeadline bounds the time the body of r takes to arrive, whether the
// handler reads it or the server does after the answer (to reuse the
// connection). Reading the body to its end lifts the deadline: the server
// clears it to watch the connection for the caller going away, and the
// wait for the outcome has its own bound, ackWait. A request without a
// body gets none, as the server is already watching its connection.
func (w *webhook) bodyDeadline(rw http.ResponseWriter, r *http.Request) {
	if r.Body == http.NoBody {
		return
	}
	if err := http.NewResponseController(rw).SetReadDeadline(time.Now().Add(w.bodyWait)); err != nil {
		w.log.Debug("cannot bound the time the body takes", "error", err)
	}
}

// readBody reads at most maxBody bytes; more is a *http.MaxBytesError.
func (w *webhook) readBody(rw http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > w.maxBody {
		return nil, &http.MaxBytesError{Limit: w.maxBody}
	}
	return io.ReadAll(http.MaxBytesReader(rw, r.Body, w.maxBody))
}

// deliver hands the event to the host and answers once the host is done
// with it (202), or it failed (500), or with 503 when it cannot tell: the
// stream stayed full for queueWait, the source stopped before the event
// was handed over, the host did not take it, or its outcome was not known
// within ackWait. It returns without an answer when the caller went away.
func (w *webhook) deliver(stopped context.Context, emit sdk.Emit, rw http.ResponseWriter, r *http.Request, body []byte) {
	// Until the event is handed over, a stop gives up on it: the host
	// never saw it, so a retry delivers it once.
	queue, cancel := context.WithTimeout(r.Context(), w.queueWait)
	defer cancel()
	defer context.AfterFunc(stopped, cancel)()
	select {
	case w.pending <- struct{}{}:
	case <-queue.Done():
		w.unavailable(rw, r, stopped, "the stream is full")
		return
	}
	acked := make(chan error, 1)
	ev := w.event(r, body)
	ev.Ack = func(err error) {
		<-w.pending
		acked <- err
	}
	if err := emit(queue, ev); err != nil {
		<-w.pending // not queued: Ack will not be called
		w.unavailable(rw, r, stopped, "the stream is full")
		return
	}
	// Handed over: from now on only its Ack tells what became of the
	// event, even if the source stops meanwhile (the host may be done with
	// it already). A 503 for an event the host then delivers would make a
	// client that retries deliver it twice.
	timeout := time.NewTimer(w.ackWait)
	defer timeout.Stop()
	select {
	case err := <-acked:
		var failed *sdk.FailedError
		switch {
		case errors.As(err, &failed):
			w.log.Debug("request answered 500: the event failed", "remote", r.RemoteAddr)
			http.Error(rw, failureText(failed.Reason), http.StatusInternalServerError)
		case err != nil:
			w.unavailable(rw, r, stopped, "the event was not accepted")
		default:
			rw.WriteHeader(http.StatusAccepted)
		}
	case <-timeout.C:
		w.unavailable(rw, r, stopped, "the stream did not accept the event in time")
	case <-r.Context().Done():
	}
}

// maxReasonText bounds the reason a 500 carries.
const maxReasonText = 512

// failureText is the body of a 500: why the event failed, on one line,
// bounded. The reason comes from the pipeline (a stream and subscriber
// name and the error), never from the source's parameters.
func failureText(reason string) string {
	reason = strings.Join(strings.Fields(reason), " ")
	if len(reason) > maxReasonText {
		reason = reason[:maxReasonText] + "..."
	}
	return "the event failed: " + reason
}

// unavailable answers 503 with Retry-After, saying why: reason, or that
// the source is stopping. Nothing is answered to a caller that went away.
func (w *webhook) unavailable(rw http.ResponseWriter, r *http.Request, stopped context.Context, reason string) {
	switch {
	case stopped.Err() != nil:
		reason = "the webhook is stopping"
	case r.Context().Err() != nil:
		return
	}
	rw.Header().Set("Retry-After", retryAfter)
	http.Error(rw, reason+"; retry later", http.StatusServiceUnavailable)
	w.log.Debug("request answered 503: "+reason, "remote", r.RemoteAddr)
}

// event makes the event of a request: its body, its content type, and its
// headers but those below, plus CamelHttpMethod, CamelHttpPath and
// CamelHttpQuery as Camel's platform-http sets them. Headers are text on
// the wire to the host: a value that is not UTF-8 (HTTP allows Latin-1
// bytes) would break the instance's stream, so it is left out.
func (w *webhook) event(r *http.Request, body []byte) sdk.Event {
	ev := sdk.Event{Body: body, ContentType: r.Header.Get("Content-Type"), Headers: map[string]string{}}
	if ev.ContentType == "" || !utf8.ValidString(ev.ContentType) {
		ev.ContentType = "application/octet-stream" // what RFC 9110 lets a recipient assume
	}
	set := func(name, value string) {
		if !utf8.ValidString(value) {
			w.log.Debug("header left out: its value is not UTF-8", "header", name)
			return
		}
		ev.Headers[name] = value
	}
	for name, values := range r.Header {
		if !dropped(name) {
			set(name, strings.Join(values, ", "))
		}
	}
	ev.Headers["CamelHttpMethod"] = r.Method
	set("CamelHttpPath", r.URL.Path)
	if r.URL.RawQuery != "" {
		set("CamelHttpQuery", r.URL.RawQuery)
	}
	return ev
}

// dropped reports whether a request header stays out of the event:
// credentials, headers about the connection rather than the content, and
// Camel* headers, which a caller must not be able to set (a CamelFileName
// would choose where a file-sink writes; Camel filters them for the same
// reason).
func dropped(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization", "Cookie",
		"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Content-Length":
		return true
	}
	lower := strings.ToLower(name)
	return strings.HasPrefix(lower, "camel") || strings.HasPrefix(lower, "org.apache.camel")
}

package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// defaultBaseURI is where the Bot API lives; baseUri points elsewhere (a
// local Bot API server, a test's).
const defaultBaseURI = "https://api.telegram.org"

// maxReason bounds how much of Telegram's description an error quotes.
const maxReason = 200

// botAPI calls the methods of the Bot API for one bot. Every request goes
// to baseURI/bot<token>/<method>: the token is in the URL's path, so no
// error of botAPI shows the URL, and what it quotes of a peer's answer has
// the token replaced.
type botAPI struct {
	kind string // the kind its errors start with
	// prefix starts the errors that reach a user without the host's
	// "KIND: " before them: the source's, which it logs.
	prefix string
	base   string // scheme://host[:port][/path], without a trailing slash
	host   string // host[:port], what errors name
	token  string // the secret
	client *http.Client
}

// newBotAPI checks baseURI and makes the caller. Its errors name the kind
// and the parameter, never the value.
func newBotAPI(kind, baseURI, token string) (*botAPI, error) {
	u, err := url.Parse(baseURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("%s: baseUri must be an http:// or https:// URL with a host and no user or query", kind)
	}
	if strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("%s: authorizationToken is empty", kind)
	}
	return &botAPI{
		kind:   kind,
		base:   strings.TrimRight(u.String(), "/"),
		host:   u.Host,
		token:  token,
		client: &http.Client{},
	}, nil
}

// apiError is a Bot API answer with "ok": false, or an HTTP answer that is
// not the API's.
type apiError struct {
	method      string
	status      int    // the HTTP status
	code        int    // Telegram's error_code (0 if the answer had none)
	description string // Telegram's description, redacted and on one line
	retryAfter  time.Duration
}

func (e *apiError) Error() string {
	if e.description == "" {
		return fmt.Sprintf("Telegram answered %s with %d %s", e.method, e.status, http.StatusText(e.status))
	}
	return fmt.Sprintf("Telegram refused %s: %d %s", e.method, e.code, e.description)
}

// permanent reports whether sending the same request again cannot help: a
// refusal (4xx) other than 429 Too Many Requests and 409 Conflict.
func (e *apiError) permanent() bool {
	code := e.code
	if code == 0 {
		code = e.status
	}
	return code >= 400 && code < 500 && code != http.StatusTooManyRequests && code != http.StatusConflict
}

// unreachableError says that no answer came: the connection failed or
// broke. Its text names the host and the cause, on one line, after the
// prefix (the kind, where nothing else names it).
type unreachableError struct {
	prefix, host, cause string
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("%scannot reach %s: %s", e.prefix, e.host, e.cause)
}

// answer is the envelope of every Bot API answer.
type answer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// call posts params as JSON to method and decodes the result into result.
// It returns an *unreachableError when no answer came, an *apiError when
// the API refused, or another error when the answer was not the API's.
func (b *botAPI) call(ctx context.Context, method string, params, result any) error {
	payload, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("the %s request cannot be encoded: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/bot"+b.token+"/"+method, bytes.NewReader(payload))
	if err != nil {
		return errors.New("cannot make the " + method + " request")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return b.unreachable(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return b.unreachable(err)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		if resp.StatusCode/100 != 2 {
			return &apiError{method: method, status: resp.StatusCode}
		}
		return fmt.Errorf("%s answered %s with something that is not the Bot API's JSON: %s", b.host, method, b.redact(sdk.Excerpt(body, maxReason)))
	}
	if !a.OK {
		e := &apiError{method: method, status: resp.StatusCode, code: a.ErrorCode, description: b.redact(sdk.Excerpt([]byte(a.Description), maxReason))}
		if e.code == 0 {
			e.code = resp.StatusCode
		}
		if a.Parameters.RetryAfter > 0 {
			e.retryAfter = time.Duration(a.Parameters.RetryAfter) * time.Second
		} else if wait, ok := sdk.RetryAfter(resp.Header.Get("Retry-After")); ok {
			e.retryAfter = wait
		}
		return e
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(a.Result, result); err != nil {
		return fmt.Errorf("%s answered %s with a result that cannot be read: %w", b.host, method, err)
	}
	return nil
}

// unreachable turns an error of the HTTP client, whose text holds the URL
// and so the token, into one that names the host and the cause only.
func (b *botAPI) unreachable(err error) error {
	var request *url.Error
	if errors.As(err, &request) {
		err = request.Err
	}
	cause := b.redact(err.Error())
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		cause = "the connection closed before the answer"
	}
	return &unreachableError{prefix: b.prefix, host: b.host, cause: cause}
}

// redact replaces the token in text a peer or a library wrote.
func (b *botAPI) redact(text string) string {
	if b.token == "" {
		return text
	}
	text = strings.ReplaceAll(text, b.token, "<authorizationToken>")
	return strings.ReplaceAll(text, url.PathEscape(b.token), "<authorizationToken>")
}

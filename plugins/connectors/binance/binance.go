// Package binance is the binance-source connector, Python Rayvens' own
// kind: the price of one or more cryptocurrencies in USDT, read from
// Binance's public market data API every period, one event per coin.
//
// Python Rayvens asked Camel's xchange component for Binance's ticker of
// COIN/USDT and marshalled it to JSON, so its scripts read the event's
// "instrument" ("BTC/USDT") and "last" (the price). binance-source polls
// Binance's ticker price endpoint (GET /api/v3/ticker/price?symbol=BTCUSDT,
// which needs no key) and emits those two fields, with Binance's own
// "symbol" and "price" and the time of the poll.
//
// Prices are read, not taken: there is nothing to acknowledge upstream, and
// an instance that starts again (after a crash or a restart) reads the
// prices of the moment. A poll that fails (no connection, a 5xx answer)
// is tried again with backoff, and the outage is logged once, not at each
// poll; a 429 or 418 answer waits as its Retry-After asks. A symbol Binance
// does not know ends the source with an error naming it.
package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// name is the kind's name, for its errors.
const name = "binance-source"

// Kind declares binance-source.
var Kind = sdk.SourceKind{
	Name: name,
	Description: "Polls Binance for the price of one or more cryptocurrencies in USDT, as Python Rayvens' binance-source. " +
		"Failed polls are retried with backoff and an outage is logged once.",
	Events: `one JSON object per coin and period: {"instrument": "BTC/USDT", "last": 63400.01, "symbol": "BTCUSDT", "price": "63400.01000000", "timestamp": 1700000000000}`,
	Params: []sdk.Param{
		{Name: "coin", Type: sdk.String, Required: true, Description: `The official symbol of the cryptocurrency (BTC for Bitcoin), or several, comma-separated ("BTC,ETH"); each is priced in USDT.`},
		{Name: "period", Type: sdk.Integer, Default: 3000, Description: "The milliseconds between two polls of the prices."},
		{Name: "baseUri", Type: sdk.String, Default: defaultBaseURI, Aliases: []string{"base_uri"}, Description: "Advanced: the base URL of Binance's API (another of its endpoints, or a test's); prices are read from baseUri/api/v3/ticker/price."},
	},
	New: newSource,
}

// defaultBaseURI is Binance's API.
const defaultBaseURI = "https://api.binance.com"

// How failed polls are retried: from firstWait growing up to maxWait.
// requestTimeout bounds one request.
const (
	firstWait      = 500 * time.Millisecond
	maxWait        = 30 * time.Second
	requestTimeout = 10 * time.Second
)

// isSymbol reports whether coin may be a symbol: Binance's are capital
// letters and digits. (A loop, not a regexp: a regexp compiled at package
// init would cost every rayvens start.)
func isSymbol(coin string) bool {
	if coin == "" || len(coin) > 20 {
		return false
	}
	for _, r := range coin {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// source is one binance-source instance.
type source struct {
	coins  []string // upper case
	period time.Duration
	base   string // without a trailing slash
	host   string // what errors name
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	// firstWait and maxWait are the constants of the same names, shorter
	// in tests.
	firstWait, maxWait time.Duration
}

// newSource checks the config without any network: the coins' spelling
// (not whether Binance knows them), the period and baseUri.
func newSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	var coins []string
	for c := range strings.SplitSeq(cfg.String("coin"), ",") {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !isSymbol(c) {
			return nil, errors.New(name + `: coin must be one symbol, or several separated by commas ("BTC,ETH"), each of letters and digits`)
		}
		coins = append(coins, c)
	}
	period := cfg.Millis("period")
	if period <= 0 {
		return nil, errors.New(name + ": period must be at least 1 (milliseconds)")
	}
	u, err := url.Parse(cfg.String("baseUri"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, errors.New(name + ": baseUri must be an http:// or https:// URL with a host and no query")
	}
	return &source{
		coins: coins, period: period,
		base: strings.TrimRight(u.String(), "/"), host: u.Host,
		client: &http.Client{Timeout: requestTimeout},
		log:    log, now: time.Now,
		firstWait: firstWait, maxWait: maxWait,
	}, nil
}

// Run polls the prices of the coins every period and emits them, until
// ctx ends. It returns an error only when Binance refuses a coin or the
// request for good (a 4xx answer but 429 and 418): polling again cannot
// help.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, s.maxWait
	var outage error // the failure logged, until a poll succeeds
	for {
		err := s.poll(ctx, emit)
		if ctx.Err() != nil || errors.Is(err, errStop) {
			return nil
		}
		wait := s.period
		var refused *refusal
		switch {
		case errors.As(err, &refused) && refused.permanent():
			return err
		case err != nil:
			wait = retry.NextBackOff()
			if errors.As(err, &refused) && refused.retryAfter > 0 {
				wait = refused.retryAfter
			}
			if outage == nil {
				s.log.Warn(err.Error()+"; trying again with backoff", "wait", wait.String())
			} else {
				s.log.Debug("polling failed again", "error", err.Error(), "wait", wait.String())
			}
			outage = err
		case outage != nil:
			s.log.Info(name + ": reached " + s.host + " again")
			outage = nil
			retry.Reset()
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// errStop says that emit failed: ctx ended or the instance closed.
var errStop = errors.New("the source is stopping")

// poll reads and emits the price of each coin in turn; it stops at the
// first that cannot be read.
func (s *source) poll(ctx context.Context, emit sdk.Emit) error {
	for _, coin := range s.coins {
		ev, err := s.ticker(ctx, coin)
		if err != nil {
			return err
		}
		if emit(ctx, ev) != nil {
			return errStop
		}
	}
	return nil
}

// price is Binance's answer: GET /api/v3/ticker/price?symbol=BTCUSDT gives
// {"symbol": "BTCUSDT", "price": "63400.01000000"}.
type price struct {
	Symbol string `json:"symbol"`
	Price  string `json:"price"`
}

// ticker is an event's body: Python Rayvens' fields (XChange's Ticker)
// and Binance's.
type ticker struct {
	Instrument string      `json:"instrument"`
	Last       json.Number `json:"last"`
	Symbol     string      `json:"symbol"`
	Price      string      `json:"price"`
	Timestamp  int64       `json:"timestamp"`
}

// refusal is an answer of Binance other than 200.
type refusal struct {
	status     int
	code       int    // Binance's error code, e.g. -1121 for an invalid symbol
	msg        string // Binance's message, on one line
	coin       string
	retryAfter time.Duration
}

func (r *refusal) Error() string {
	what := fmt.Sprintf("%s: Binance answered %d %s for coin %s", name, r.status, http.StatusText(r.status), r.coin)
	if r.msg != "" {
		what += ": " + r.msg
	}
	return what
}

// permanent reports whether asking again cannot help: a 4xx answer other
// than 429 Too Many Requests and 418 (an IP banned for a while, after 429s).
func (r *refusal) permanent() bool {
	return r.status >= 400 && r.status < 500 && r.status != http.StatusTooManyRequests && r.status != http.StatusTeapot
}

// ticker reads the price of coin in USDT, and makes its event.
func (s *source) ticker(ctx context.Context, coin string) (sdk.Event, error) {
	pair := coin + "USDT"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/v3/ticker/price?symbol="+pair, nil)
	if err != nil {
		return sdk.Event{}, fmt.Errorf("%s: cannot make the request: %w", name, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return sdk.Event{}, s.unreachable(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return sdk.Event{}, s.unreachable(err)
	}
	if resp.StatusCode != http.StatusOK {
		r := &refusal{status: resp.StatusCode, coin: coin}
		var said struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		}
		if json.Unmarshal(body, &said) == nil && said.Msg != "" {
			r.code, r.msg = said.Code, sdk.Excerpt([]byte(said.Msg), 200)
		}
		if wait, ok := sdk.RetryAfter(resp.Header.Get("Retry-After")); ok {
			r.retryAfter = wait
		}
		return sdk.Event{}, r
	}
	var p price
	if err := json.Unmarshal(body, &p); err != nil || p.Symbol != pair {
		return sdk.Event{}, fmt.Errorf("%s: %s answered for coin %s with something that is not a ticker price: %s", name, s.host, coin, sdk.Excerpt(body, 200))
	}
	if _, err := strconv.ParseFloat(p.Price, 64); err != nil {
		return sdk.Event{}, fmt.Errorf("%s: %s answered for coin %s with a price that is not a number: %s", name, s.host, coin, sdk.Excerpt([]byte(p.Price), 100))
	}
	out, err := json.Marshal(ticker{Instrument: coin + "/USDT", Last: json.Number(p.Price), Symbol: p.Symbol, Price: p.Price, Timestamp: s.now().UnixMilli()})
	if err != nil {
		return sdk.Event{}, fmt.Errorf("%s: %w", name, err)
	}
	return sdk.Event{Body: out, ContentType: "application/json"}, nil
}

// unreachable is err of the HTTP client as one line naming the kind, the
// host and the cause (without the URL, which says nothing more).
func (s *source) unreachable(err error) error {
	var request *url.Error
	if errors.As(err, &request) {
		if request.Timeout() {
			return fmt.Errorf("%s: cannot reach %s: no answer within %s", name, s.host, requestTimeout)
		}
		err = request.Err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: cannot reach %s: the connection closed before the answer", name, s.host)
	}
	return fmt.Errorf("%s: cannot reach %s: %w", name, s.host, err)
}

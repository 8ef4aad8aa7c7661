package binance

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// exchange is Binance's ticker price endpoint on loopback, for the tests:
// GET /api/v3/ticker/price?symbol=... answers as Binance does, and it can
// be stopped and started again on the same address.
type exchange struct {
	t       testing.TB
	mu      sync.Mutex
	prices  map[string]string // by symbol
	asked   []string          // the symbols asked for, in order
	limited int               // how many requests more are answered 429
	addr    string
	srv     *http.Server
	serving sync.WaitGroup
}

func newExchange(t testing.TB, prices map[string]string) *exchange {
	x := &exchange{t: t, prices: prices, addr: "127.0.0.1:0"}
	x.start()
	t.Cleanup(x.stop)
	return x
}

func (x *exchange) url() string  { return "http://" + x.addr }
func (x *exchange) host() string { return x.addr }

func (x *exchange) start() {
	var ln net.Listener
	var err error
	require.Eventually(x.t, func() bool {
		ln, err = net.Listen("tcp", x.addr)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "listen on %s: %v", x.addr, err)
	x.addr = ln.Addr().String()
	x.srv = &http.Server{Handler: http.HandlerFunc(x.handle)}
	x.serving.Go(func() {
		if err := x.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			x.t.Errorf("exchange: %v", err)
		}
	})
}

func (x *exchange) stop() {
	if x.srv == nil {
		return
	}
	_ = x.srv.Close()
	x.serving.Wait()
	x.srv = nil
}

func (x *exchange) set(symbol, price string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.prices[symbol] = price
}

func (x *exchange) limit(n int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.limited = n
}

func (x *exchange) requests() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.asked...)
}

func (x *exchange) handle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet || r.URL.Path != "/api/v3/ticker/price" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":-1,"msg":"Not found."}`))
		return
	}
	sym := r.URL.Query().Get("symbol")
	x.mu.Lock()
	x.asked = append(x.asked, sym)
	p, ok := x.prices[sym]
	limited := x.limited > 0
	if limited {
		x.limited--
	}
	x.mu.Unlock()
	switch {
	case limited:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"code":-1003,"msg":"Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute."}`))
	case !ok:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":-1121,"msg":"Invalid symbol."}`))
	default:
		body, _ := json.Marshal(map[string]string{"symbol": sym, "price": p})
		_, _ = w.Write(body)
	}
}

// open opens a binance-source on x with the waits of a test.
func open(t *testing.T, x *exchange, config map[string]any, opts ...sdktest.Option) *source {
	t.Helper()
	cfg := map[string]any{"baseUri": x.url(), "period": 5}
	for k, v := range config {
		cfg[k] = v
	}
	s := sdktest.NewSource(t, Kind, cfg, opts...).(*source)
	s.firstWait, s.maxWait = 10*time.Millisecond, 50*time.Millisecond
	s.now = func() time.Time { return time.UnixMilli(1700000000000) }
	return s
}

// rayvensEvent is what Python Rayvens' scripts read of an event.
type rayvensEvent struct {
	Instrument string  `json:"instrument"`
	Last       float64 `json:"last"`
}

func instruments(t *testing.T, evs []sdk.Event) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		var e rayvensEvent
		require.NoError(t, json.Unmarshal(ev.Body, &e), "body %s", ev.Body)
		out = append(out, e.Instrument)
	}
	return out
}

func TestEmitsTheTickerOfEachCoin(t *testing.T) {
	x := newExchange(t, map[string]string{"BTCUSDT": "63400.01000000", "ETHUSDT": "3012.50000000"})
	var c sdktest.Collector
	sdktest.Run(t, open(t, x, map[string]any{"coin": "btc, ETH"}), c.Emit)
	evs := c.Wait(t, 4)
	require.Equal(t, []string{"BTC/USDT", "ETH/USDT", "BTC/USDT", "ETH/USDT"}, instruments(t, evs[:4]))
	require.JSONEq(t, `{"instrument":"BTC/USDT","last":63400.01,"symbol":"BTCUSDT","price":"63400.01000000","timestamp":1700000000000}`, string(evs[0].Body))
	require.Equal(t, "application/json", evs[0].ContentType)
	require.Equal(t, []string{"BTCUSDT", "ETHUSDT"}, x.requests()[:2])

	x.set("BTCUSDT", "64000.00000000")
	require.Eventually(t, func() bool {
		evs := c.Events()
		return strings.Contains(string(evs[len(evs)-1].Body), `"last":64000.00000000`) || strings.Contains(string(evs[len(evs)-2].Body), `"last":64000.00000000`)
	}, sdktest.Timeout, 5*time.Millisecond, "each poll reads the price of the moment")
}

func TestPeriodDefaultsToThreeSeconds(t *testing.T) {
	values, err := sdktest.Validate(Kind, map[string]any{"coin": "BTC"})
	require.NoError(t, err)
	require.Equal(t, int64(3000), values["period"])
	require.Equal(t, "https://api.binance.com", values["baseUri"])
}

// TestReconnects stops the exchange mid-run and starts it again on the same
// address: the outage is logged once, polls are tried again with backoff,
// and prices come again once it is back.
func TestReconnects(t *testing.T) {
	x := newExchange(t, map[string]string{"BTCUSDT": "1.5"})
	var log sdktest.Log
	var c sdktest.Collector
	sdktest.Run(t, open(t, x, map[string]any{"coin": "BTC"}, sdktest.LogTo(&log)), c.Emit)
	c.Wait(t, 1)
	x.stop()
	require.Eventually(t, func() bool { return strings.Count(log.String(), "polling failed again") >= 2 }, sdktest.Timeout, 5*time.Millisecond)
	before := c.Len()
	x.start()
	c.Wait(t, before+1)
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "binance-source: reached "+x.host()+" again") }, sdktest.Timeout, 5*time.Millisecond)
	warnings := 0
	for _, r := range log.Records() {
		if r.Level == slog.LevelWarn {
			warnings++
			// Usually "dial tcp ...: connection refused"; a poll in flight
			// when the exchange stopped sees its connection close.
			require.Regexp(t, `^binance-source: cannot reach `+regexp.QuoteMeta(x.host())+`: .+; trying again with backoff$`, r.Message)
		}
	}
	require.Equal(t, 1, warnings, "an outage is logged once, not at each poll:\n%s", log.String())
}

func TestUnreachableSaysKindHostAndCause(t *testing.T) {
	var log sdktest.Log
	src := sdktest.NewSource(t, Kind, map[string]any{"coin": "BTC", "baseUri": "http://127.0.0.1:1"}, sdktest.LogTo(&log))
	var c sdktest.Collector
	run := sdktest.Run(t, src, c.Emit)
	require.Eventually(t, func() bool { return len(log.Records()) > 0 }, sdktest.Timeout, 5*time.Millisecond)
	require.Equal(t, "binance-source: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused; trying again with backoff", log.Records()[0].Message)
	require.NoError(t, run.Stop())
	require.Zero(t, c.Len())
}

// TestWaitsAsTooManyRequestsAsks: a 429 is an outage that waits its
// Retry-After.
func TestWaitsAsTooManyRequestsAsks(t *testing.T) {
	x := newExchange(t, map[string]string{"BTCUSDT": "1.5"})
	x.limit(1)
	var log sdktest.Log
	var c sdktest.Collector
	sdktest.Run(t, open(t, x, map[string]any{"coin": "BTC"}, sdktest.LogTo(&log)), c.Emit)
	c.Wait(t, 1)
	require.Contains(t, log.String(), `msg="binance-source: Binance answered 429 Too Many Requests for coin BTC: Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute.; trying again with backoff" wait=1s`)
}

func TestUnknownCoinEndsTheSource(t *testing.T) {
	x := newExchange(t, map[string]string{"BTCUSDT": "1.5"})
	var c sdktest.Collector
	err := sdktest.Run(t, open(t, x, map[string]any{"coin": "BTC,NOPE"}), c.Emit).Wait()
	require.EqualError(t, err, "binance-source: Binance answered 400 Bad Request for coin NOPE: Invalid symbol.")
	require.Equal(t, []string{"BTC/USDT"}, instruments(t, c.Events()))
}

// TestRestartReadsThePricesAgain: prices are read, not taken, so an
// instance opened again after a crash polls the prices of the moment.
func TestRestartReadsThePricesAgain(t *testing.T) {
	x := newExchange(t, map[string]string{"BTCUSDT": "1.5"})
	held := sdktest.Collector{Hold: true}
	run := sdktest.Run(t, open(t, x, map[string]any{"coin": "BTC"}), held.Emit)
	held.Wait(t, 1)
	require.NoError(t, run.Stop()) // its event neither done nor failed
	x.set("BTCUSDT", "2.5")
	var c sdktest.Collector
	sdktest.Run(t, open(t, x, map[string]any{"coin": "BTC"}, sdktest.Reopened(1)), c.Emit)
	require.JSONEq(t, `{"instrument":"BTC/USDT","last":2.5,"symbol":"BTCUSDT","price":"2.5","timestamp":1700000000000}`, string(c.Wait(t, 1)[0].Body))
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{}, `binance-source: missing required parameter "coin"`},
		{map[string]any{"coin": "BTC,,ETH"}, `binance-source: coin must be one symbol, or several separated by commas ("BTC,ETH"), each of letters and digits`},
		{map[string]any{"coin": "BTC/USDT"}, `binance-source: coin must be one symbol, or several separated by commas ("BTC,ETH"), each of letters and digits`},
		{map[string]any{"coin": "BTC", "period": 0}, "binance-source: period must be at least 1 (milliseconds)"},
		{map[string]any{"coin": "BTC", "period": "3000"}, `binance-source: parameter "period" must be an integer, got string`},
		{map[string]any{"coin": "BTC", "baseUri": "api.binance.com"}, "binance-source: baseUri must be an http:// or https:// URL with a host and no query"},
	} {
		_, err := sdktest.OpenSource(Kind, tc.config)
		require.EqualError(t, err, tc.want, "%v", tc.config)
	}
}

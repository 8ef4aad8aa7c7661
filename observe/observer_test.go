package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/observe"
)

// fakeSink is a connector sink as the observer sees it: its counters are
// what a plugin sink reports, set by the test.
type fakeSink struct {
	name           string
	acked, retries uint64
}

func (s fakeSink) Name() string    { return s.name }
func (s fakeSink) Kind() string    { return "file" }
func (s fakeSink) Acked() uint64   { return s.acked }
func (s fakeSink) Retries() uint64 { return s.retries }

// pipeline runs a known pipeline on a real engine: 20 events appended to
// "numbers", an operator dropping the multiples of 5 (4), a subscriber
// failing on the multiples of 3 that are left (5), an async subscriber
// completing every event.
func pipeline(t *testing.T) (*engine.Engine, *observe.Observer) {
	t.Helper()
	e := engine.New(engine.Options{})
	o := observe.New(observe.Config{
		Engine: e,
		Sinks: func() []observe.Sink {
			return []observe.Sink{fakeSink{"numbers-file", 16, 2}, fakeSink{"detached", 1, 1}}
		},
		Plugins: func() []observe.Plugin { return []observe.Plugin{{Name: "builtin", Restarts: 1, Up: true}} },
	})
	t.Cleanup(o.Close)
	s, err := e.NewStream("numbers", engine.StreamConfig{})
	require.NoError(t, err)
	s.AddOperator("no_fives", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		if ev.(int)%5 == 0 {
			return nil, nil
		}
		return ev, nil
	})
	_, err = s.Subscribe("check", engine.Func("check", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		if ev.(int)%3 == 0 {
			return nil, errors.New("a multiple of three")
		}
		return nil, nil
	}))
	require.NoError(t, err)
	_, err = s.Subscribe("numbers-file", engine.Async("", func(_ engine.Event, done func(error)) { go done(nil) }))
	require.NoError(t, err)
	ctx := context.Background()
	for i := 1; i <= 20; i++ {
		require.NoError(t, s.Append(ctx, i))
	}
	require.NoError(t, e.Wait(ctx))
	return e, o
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// value returns the value of the metric of family name whose labels are
// labels (name=value pairs).
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := families[name]
	require.NotNil(t, f, "no metric %s", name)
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i < len(labels); i += 2 {
			if got[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	require.Failf(t, "metric not found", "%s%v", name, labels)
	return 0
}

func TestMetricsOfAKnownPipeline(t *testing.T) {
	_, o := pipeline(t)
	srv := httptest.NewServer(observe.Handler(o))
	defer srv.Close()
	m := scrape(t, srv.URL)
	n := func(name string, labels ...string) float64 { return value(t, m, name, labels...) }
	require.Equal(t, 20.0, n("rayvens_stream_appended_total", "stream", "numbers"))
	require.Equal(t, 4.0, n("rayvens_stream_dropped_total", "stream", "numbers"))
	require.Equal(t, 16.0, n("rayvens_stream_delivered_total", "stream", "numbers"))
	require.Equal(t, 5.0, n("rayvens_stream_errors_total", "stream", "numbers"))
	require.Equal(t, 0.0, n("rayvens_stream_dead_lettered_total", "stream", "numbers"))
	require.Equal(t, 0.0, n("rayvens_stream_pending", "stream", "numbers"))
	// Every event delivered to a subscriber is timed once.
	require.Equal(t, 16.0, n("rayvens_subscriber_duration_seconds", "stream", "numbers", "subscriber", "check"))
	require.Equal(t, 16.0, n("rayvens_subscriber_duration_seconds", "stream", "numbers", "subscriber", "numbers-file"))
	require.Equal(t, 16.0, n("rayvens_sink_acked_total", "stream", "numbers", "sink", "numbers-file"))
	require.Equal(t, 2.0, n("rayvens_sink_retries_total", "stream", "numbers", "sink", "numbers-file"))
	require.Equal(t, 1.0, n("rayvens_plugin_restarts_total", "plugin", "builtin"))
	require.Equal(t, 1.0, n("rayvens_plugin_up", "plugin", "builtin"))
	require.Equal(t, 0.0, n("rayvens_ready"), "the top level has not run")
	require.Contains(t, m, "go_goroutines")
	require.Contains(t, m, "process_resident_memory_bytes")
	for _, metric := range m["rayvens_sink_acked_total"].GetMetric() {
		for _, l := range metric.GetLabel() {
			require.NotEqual(t, "detached", l.GetValue(), "a sink attached to no stream is left out")
		}
	}
}

func get(t *testing.T, method, url string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func TestHealthReadinessAndStats(t *testing.T) {
	_, o := pipeline(t)
	srv := httptest.NewServer(observe.Handler(o))
	defer srv.Close()

	code, _, body := get(t, http.MethodGet, srv.URL+"/health")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, body)

	code, _, body = get(t, http.MethodGet, srv.URL+"/ready")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.JSONEq(t, `{"ready":false,"reason":"the script's top level is still running"}`, body)
	o.Started()
	code, _, body = get(t, http.MethodGet, srv.URL+"/ready")
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"ready":true}`, body)

	code, _, body = get(t, http.MethodGet, srv.URL+"/api/stats")
	require.Equal(t, http.StatusOK, code)
	var st observe.Stats
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.True(t, st.Ready)
	require.Len(t, st.Streams, 2, "numbers and the derived stream of check")
	require.Equal(t, "numbers>>check", st.Streams[1].Name)
	s := st.Streams[0]
	require.Equal(t, "numbers", s.Name)
	require.Equal(t, [5]uint64{20, 16, 4, 5, 0}, [5]uint64{s.Appended, s.Delivered, s.Dropped, s.Errors, s.DeadLettered})
	require.Equal(t, []observe.SinkStats{{Name: "numbers-file", Kind: "file", Acked: 16, Retries: 2}}, s.Sinks)
	require.Equal(t, []observe.PluginStats{{Name: "builtin", Restarts: 1, Up: true}}, st.Plugins)
	for _, field := range []string{`"in_per_second"`, `"out_per_second"`, `"uptime_seconds"`, `"dead_lettered"`, `"pending"`} {
		require.Contains(t, body, field)
	}

	code, _, body = get(t, http.MethodGet, srv.URL+"/api/graph")
	require.Equal(t, http.StatusServiceUnavailable, code, "no graph func")
	require.Contains(t, body, "not available")

	code, _, _ = get(t, http.MethodGet, srv.URL+"/")
	require.Equal(t, http.StatusOK, code, "the page")

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		code, h, _ := get(t, method, srv.URL+"/metrics")
		require.Equal(t, http.StatusMethodNotAllowed, code, method)
		require.Equal(t, "GET, HEAD", h.Get("Allow"))
	}
	code, _, body = get(t, http.MethodHead, srv.URL+"/health")
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, body)
}

func TestGraphIsTheConfiguredOne(t *testing.T) {
	e := engine.New(engine.Options{})
	graph := map[string]any{"streams": []any{map[string]any{"name": "ticks"}}}
	o := observe.New(observe.Config{Engine: e, Graph: func() any { return graph }})
	defer o.Close()
	srv := httptest.NewServer(observe.Handler(o))
	defer srv.Close()
	code, _, body := get(t, http.MethodGet, srv.URL+"/api/graph")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"streams":[{"name":"ticks"}]}`, body)
}

// The rates are events per second over the last sample: appended for in,
// delivered for out.
func TestRatesOverTheLastSample(t *testing.T) {
	e := engine.New(engine.Options{})
	o := observe.New(observe.Config{Engine: e, SampleEvery: 50 * time.Millisecond})
	defer o.Close()
	s, err := e.NewStream("ticks", engine.StreamConfig{})
	require.NoError(t, err)
	_, err = s.Subscribe("sink", engine.Func("", func(context.Context, engine.Event) (engine.Event, error) { return nil, nil }))
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, s.Append(context.Background(), i))
	}
	require.Eventually(t, func() bool {
		r := o.Stats().Streams[0]
		return r.InPerSecond > 0 && r.OutPerSecond > 0
	}, 5*time.Second, 10*time.Millisecond, "the sample after the appends has rates")
	require.Eventually(t, func() bool {
		r := o.Stats().Streams[0]
		return r.InPerSecond == 0 && r.OutPerSecond == 0
	}, 5*time.Second, 10*time.Millisecond, "a quiet stream's rates fall to zero")
}

// The server binds where it is told, answers there, and once closed the
// port is free and its goroutine gone.
func TestServeAndClose(t *testing.T) {
	e := engine.New(engine.Options{})
	o := observe.New(observe.Config{Engine: e})
	defer o.Close()
	srv, err := observe.Serve("127.0.0.1:0", o)
	require.NoError(t, err)
	addr := srv.Addr().String()
	require.True(t, strings.HasPrefix(addr, "127.0.0.1:"))
	code, _, _ := get(t, http.MethodGet, "http://"+addr+"/health")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, srv.Close(context.Background()))
	_, err = http.Get("http://" + addr + "/health")
	require.Error(t, err, "the port is closed")

	again, err := observe.Serve(addr, o)
	require.NoError(t, err, "the port is free again")
	require.NoError(t, again.Close(context.Background()))
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDocListsEveryMetricAndField keeps docs/observability.md in step
// with what the server exports: every rayvens_ metric and every JSON
// field of /api/stats is documented.
func TestDocListsEveryMetricAndField(t *testing.T) {
	doc, err := os.ReadFile("../docs/observability.md")
	require.NoError(t, err)
	_, o := pipeline(t)
	srv := httptest.NewServer(observe.Handler(o))
	defer srv.Close()
	for name := range scrape(t, srv.URL) {
		if strings.HasPrefix(name, "rayvens_") {
			require.Contains(t, string(doc), "`"+name+"`", "the doc's metrics table lists %s", name)
		}
	}
	for _, v := range []any{observe.Stats{}, observe.StreamStats{}, observe.SourceStats{}, observe.SinkStats{}, observe.PluginStats{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			field, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			require.Contains(t, string(doc), field, "the doc describes the field %s of %s", field, typ.Name())
		}
	}
}

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// startObserved runs rayvens run --http 127.0.0.1:0 with args and returns
// the command, the admin server's base URL (from the line it prints on
// stderr) and its stderr.
func startObserved(t *testing.T, args ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"run", "--http", "127.0.0.1:0"}, args...)...)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	stderr := &syncBuffer{}
	lines := bufio.NewScanner(errPipe)
	require.True(t, lines.Scan(), "rayvens prints where it listens")
	first := lines.Text()
	const prefix = "rayvens: http: listening on "
	require.True(t, strings.HasPrefix(first, prefix), first)
	go func() {
		for lines.Scan() {
			_, _ = stderr.Write([]byte(lines.Text() + "\n"))
		}
	}()
	return cmd, "http://" + strings.TrimPrefix(first, prefix), stderr
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// metricValue returns the value of the metric name{labels...} at url
// (a histogram's sample count), and false if there is none.
func metricValue(t *testing.T, url, name string, labels ...string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
next:
	for _, m := range families[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i < len(labels); i += 2 {
			if got[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return sampleValue(m), true
	}
	return 0, false
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// TestHTTPMetricsOfAKnownPipeline runs testdata/observed.star and checks
// every endpoint against what the pipeline is known to do, then a plugin
// restart, then that the server goes away with the run.
func TestHTTPMetricsOfAKnownPipeline(t *testing.T) {
	cmd, url, stderr := startObserved(t, "testdata/observed.star", t.TempDir())

	code, body := httpGet(t, url+"/health")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, body)

	// Ready once the top level has run, the timer source is connected and
	// the built-in plugin is up.
	require.Eventually(t, func() bool {
		code, _ := httpGet(t, url+"/ready")
		return code == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		v, ok := metricValue(t, url, "rayvens_sink_acked_total", "stream", "out", "sink", "out-file-sink")
		return ok && v == 16
	}, 30*time.Second, 20*time.Millisecond, "the file-sink acknowledges the 16 numbers; stderr:\n%s", stderr)

	exact := map[string]float64{
		"rayvens_stream_appended_total":      20,
		"rayvens_stream_delivered_total":     16,
		"rayvens_stream_dropped_total":       4,
		"rayvens_stream_errors_total":        5,
		"rayvens_stream_dead_lettered_total": 0,
		"rayvens_stream_pending":             0,
	}
	for name, want := range exact {
		v, ok := metricValue(t, url, name, "stream", "numbers")
		require.True(t, ok, name)
		require.Equal(t, want, v, name)
	}
	for _, sub := range []string{"check", "out"} {
		v, ok := metricValue(t, url, "rayvens_subscriber_duration_seconds", "stream", "numbers", "subscriber", sub)
		require.True(t, ok, sub)
		require.Equal(t, 16.0, v, "every number delivered to %s is timed once", sub)
	}
	v, ok := metricValue(t, url, "rayvens_subscriber_duration_seconds", "stream", "out", "subscriber", "out-file-sink")
	require.True(t, ok)
	require.Equal(t, 16.0, v, "a sink is timed until its acknowledgement")
	v, ok = metricValue(t, url, "rayvens_stream_appended_total", "stream", "out")
	require.True(t, ok)
	require.Equal(t, 16.0, v)
	v, ok = metricValue(t, url, "rayvens_sink_retries_total", "stream", "out", "sink", "out-file-sink")
	require.True(t, ok)
	require.Equal(t, 0.0, v)
	v, ok = metricValue(t, url, "rayvens_plugin_restarts_total", "plugin", "rayvens")
	require.True(t, ok, "the built-in plugin is listed")
	require.Equal(t, 0.0, v)
	_, ok = metricValue(t, url, "go_goroutines")
	require.True(t, ok, "the Go runtime collector")

	code, body = httpGet(t, url+"/api/stats")
	require.Equal(t, http.StatusOK, code)
	var stats struct {
		Ready   bool `json:"ready"`
		Streams []struct {
			Name                                              string
			Appended, Delivered, Dropped, Errors, Subscribers uint64
			Sources                                           []struct {
				Name, Kind string
				Connected  bool
			}
			Sinks []struct {
				Name, Kind     string
				Acked, Retries uint64
			}
		} `json:"streams"`
		Plugins []struct {
			Name     string
			Restarts int
			Up       bool
		} `json:"plugins"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &stats))
	require.True(t, stats.Ready)
	byName := map[string]int{}
	for i, s := range stats.Streams {
		byName[s.Name] = i
	}
	n := stats.Streams[byName["numbers"]]
	require.Equal(t, [4]uint64{20, 16, 4, 5}, [4]uint64{n.Appended, n.Delivered, n.Dropped, n.Errors})
	o := stats.Streams[byName["out"]]
	require.Len(t, o.Sinks, 1)
	require.Equal(t, "file-sink", o.Sinks[0].Kind)
	require.Equal(t, uint64(16), o.Sinks[0].Acked)
	tk := stats.Streams[byName["ticks"]]
	require.Len(t, tk.Sources, 1)
	require.Equal(t, "timer-source", tk.Sources[0].Kind)
	require.True(t, tk.Sources[0].Connected)

	code, page := httpGet(t, url+"/")
	require.Equal(t, http.StatusOK, code, "the page")
	require.Contains(t, page, `<script src="app.js" defer></script>`)
	code, _ = httpGet(t, url+"/nothing")
	require.Equal(t, http.StatusNotFound, code)
	req, err := http.NewRequest(http.MethodPost, url+"/ready", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))

	// A plugin killed is restarted, and counted.
	pid := pluginProcess(t, cmd.Process.Pid, "built-in")
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		v, _ := metricValue(t, url, "rayvens_plugin_restarts_total", "plugin", "rayvens")
		return v == 1
	}, 30*time.Second, 20*time.Millisecond, "stderr:\n%s", stderr)
	require.Eventually(t, func() bool {
		code, _ := httpGet(t, url+"/ready")
		return code == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "ready again once the plugin is back and the source reconnected")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = waitWithin(t, cmd, 30*time.Second)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "check failed on 5 numbers")
	require.Equal(t, 1, exit.ExitCode())
	_, err = net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.Error(t, err, "the server stopped with the run")
}

// TestHTTPNotReadyWhileTheTopLevelRuns: readiness waits for the top level.
func TestHTTPNotReadyWhileTheTopLevelRuns(t *testing.T) {
	cmd, url, _ := startObserved(t, "testdata/observed_slow_start.star")
	code, body := httpGet(t, url+"/ready")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.JSONEq(t, `{"ready":false,"reason":"the script's top level is still running"}`, body)
	code, _ = httpGet(t, url+"/health")
	require.Equal(t, http.StatusOK, code, "healthy all the same")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, waitWithin(t, cmd, 30*time.Second), "a graceful stop ends the sleep")
	_, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.Error(t, err, "the server stopped with the run")
}

// TestHTTPBadAddress: a bad --http is a usage error, a port in use one
// clear line and exit 1.
func TestHTTPBadAddress(t *testing.T) {
	_, stderr, code := rayvens(t, "run", "--http", "nowhere", "testdata/observed_slow_start.star")
	require.Equal(t, 2, code)
	require.Equal(t, `rayvens: run: --http "nowhere" is not an address HOST:PORT (e.g. 127.0.0.1:4195) (see rayvens help)`+"\n", stderr)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, stderr, code = rayvens(t, "run", "--http", ln.Addr().String(), "testdata/observed_slow_start.star")
	require.Equal(t, 1, code)
	require.Equal(t, "rayvens: http: cannot listen on "+ln.Addr().String()+": the address is already in use\n", stderr)
}

package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// Real connectors (slack-sink, timer-source) served by the flaky plugin,
// in a process the tests can kill, through the host.

// slackReceiver is a Slack-incoming-webhook-compatible server: it records
// the texts posted to path, in order, and refuses the ones in refuse with
// 404 channel_not_found.
type slackReceiver struct {
	path   string
	refuse map[string]bool

	mu    sync.Mutex
	texts []string
}

func (r *slackReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != r.path {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	var msg struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(req.Body).Decode(&msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.texts = append(r.texts, msg.Text)
	r.mu.Unlock()
	if r.refuse[msg.Text] {
		http.Error(w, "channel_not_found", http.StatusNotFound)
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func (r *slackReceiver) posted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.texts...)
}

// TestSlackSinkRefusedMessage: slack-sink, in its plugin process, posts
// messages one by one; Slack refuses some. Each refused message fails
// with Slack's reason and nothing of the webhook URL; the messages around
// it are posted once each, in order, and done.
func TestSlackSinkRefusedMessage(t *testing.T) {
	const secretPath = "/services/T0000/B0000/SECRETsecretSECRET"
	recv := &slackReceiver{path: secretPath, refuse: map[string]bool{"m-3": true, "m-150": true, "m-151": true}}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, Log: &log})
	webhook := srv.URL + secretPath
	sink, err := h.OpenSink(t.Context(), "slack-sink", "alerts", map[string]any{"channel": "#ops", "webhookUrl": webhook}, nil)
	require.NoError(t, err)

	const n = 300
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("m-%d", i)
	}
	got := deliverAll(t, sink, bodies)
	for i, body := range bodies {
		if recv.refuse[body] {
			require.EqualError(t, got[i], "slack-sink: not written: slack webhook answered 404 Not Found: channel_not_found", body)
			require.NotContains(t, got[i].Error(), "SECRET")
			continue
		}
		require.NoError(t, got[i], body)
	}
	require.Equal(t, bodies, recv.posted(), "each message posted once, in order, the refused ones too")
	require.NotContains(t, log.String(), "SECRET")
}

// TestSlackSinkBadPort: a webhook URL with a port that cannot be is
// refused by the plugin when it opens the instance: every event fails at
// once with that one line, which shows none of the URL's path, and
// nothing is retried.
func TestSlackSinkBadPort(t *testing.T) {
	var log syncBuffer
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, Log: &log})
	sink, err := h.OpenSink(t.Context(), "slack-sink", "alerts", map[string]any{"channel": "#ops", "webhookUrl": "https://hooks.slack.com:99999/services/T0/B0/SECRET"}, nil)
	require.NoError(t, err, "the config has the declared types")
	got := deliverAll(t, sink, []string{"one", "two"})
	for i := range 2 {
		require.EqualError(t, got[i], "slack-sink: webhookUrl has port 99999, which is not a port number (1 to 65535)")
	}
	require.NotContains(t, log.String(), "SECRET")
	require.NotContains(t, log.String(), "retrying")
}

// TestTimerRepeatCountSurvivesKill: timer-source with repeatCount N, its
// plugin process SIGKILLed midway: the restarted process is told how many
// events the host took, and emits only the rest. Exactly N events are
// taken over the run, and the source ends.
func TestTimerRepeatCountSurvivesKill(t *testing.T) {
	h := newHost(t, Options{PluginDirs: []string{filepath.Join(pluginDir, "flaky")}, RestartBackoff: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const n = 20_000
	src, err := h.OpenSource(ctx, "timer-source", "ticks", map[string]any{"message": "tick", "period": 0, "repeatCount": n})
	require.NoError(t, err)
	var got atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, acking(func(ev engine.Event) {
			if string(ev.(Event).Body) != "tick" {
				t.Errorf("unexpected event %v", ev)
			}
			got.Add(1)
		}))
	}()
	require.Eventually(t, func() bool { return got.Load() > n/4 }, time.Minute, time.Millisecond)
	pid := h.pid("flaky")
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	atKill := got.Load()
	select {
	case err := <-done:
		require.NoError(t, err, "the source ends after repeatCount events")
	case <-time.After(time.Minute):
		t.Fatal("the source did not end")
	}
	require.Equal(t, int64(n), got.Load(), "exactly repeatCount events over the run, none twice")
	require.NotZero(t, h.pid("flaky"), "a new plugin process took over")
	require.NotEqual(t, pid, h.pid("flaky"))
	t.Logf("%d events taken when the plugin was killed, %d in all", atKill, got.Load())
}

package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// fakeT stands in for a test that the kit fails: it records the failures
// and runs its own cleanups, so that the real test can check them.
type fakeT struct {
	testing.TB // the real test, for what fakeT does not override
	mu         sync.Mutex
	failures   []string
	logs       []string
	cleanups   []func()
}

func (f *fakeT) Helper() {}

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

func (f *fakeT) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.failures) > 0
}

func (f *fakeT) Log(args ...any) { f.Logf("%s", fmt.Sprint(args...)) }

func (f *fakeT) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// run runs a test body with f as its test, then f's cleanups, and returns
// the failures.
func (f *fakeT) run(body func(t testing.TB)) []string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failures
}

// failures runs body as a test and returns how it failed.
func failures(t *testing.T, body func(t testing.TB)) []string {
	f := &fakeT{TB: t}
	return f.run(body)
}

// recorder is a sink kind that records what it is given. A body "panic"
// panics, "reject" is a permanent error, "fail" another one.
type recorder struct {
	mu       sync.Mutex
	batches  [][]sdk.Event
	closed   int
	closeErr error
}

func (r *recorder) Write(_ context.Context, batch []sdk.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, batch)
	for _, ev := range batch {
		switch string(ev.Body) {
		case "panic":
			panic("a bad event")
		case "reject":
			return fmt.Errorf("recorder-sink: %w", sdk.Permanent(errors.New("rejected")))
		case "fail":
			return errors.New("recorder-sink: disk full")
		}
	}
	return nil
}

func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed++
	return r.closeErr
}

func recorderKind(r *recorder) sdk.SinkKind {
	return sdk.SinkKind{
		Name:        "recorder-sink",
		Description: "Records what it is given.",
		Params:      []sdk.Param{{Name: "label", Type: sdk.String, Aliases: []string{"the_label"}}},
		New: func(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
			log.Info("recording", "label", cfg.String("label"))
			return r, nil
		},
	}
}

// sourceFunc makes a source kind of a Run function.
func sourceFunc(run func(ctx context.Context, emit sdk.Emit) error) sdk.SourceKind {
	return sdk.SourceKind{
		Name:        "func-source",
		Description: "Runs a function.",
		New: func(sdk.Config, *slog.Logger) (sdk.Source, error) {
			return runFunc(run), nil
		},
	}
}

type runFunc func(ctx context.Context, emit sdk.Emit) error

func (f runFunc) Run(ctx context.Context, emit sdk.Emit) error { return f(ctx, emit) }

func TestValidateAsTheHostDoes(t *testing.T) {
	values, err := sdktest.Validate(counterKind, map[string]any{"limit": 3.0})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"limit": int64(3), "contentType": "text/plain"}, values, "canonical names, defaults, int64")

	_, err = sdktest.Validate(counterKind, map[string]any{})
	require.EqualError(t, err, `counter-source: missing required parameter "limit"`)
	_, err = sdktest.Validate(counterKind, map[string]any{"limit": "three"})
	require.ErrorContains(t, err, `counter-source: parameter "limit"`)
	require.NotContains(t, err.Error(), "three", "errors never show a value")

	broken := counterKind
	broken.Params = append([]sdk.Param{{Name: "limit", Type: sdk.String}}, counterKind.Params...)
	_, err = sdktest.Validate(broken, map[string]any{"limit": 3})
	require.EqualError(t, err, `counter-source: parameter name "limit" is declared twice`, "the declaration is checked as sdk.Serve checks it")
}

func TestOpenReportsWhatTheHostWould(t *testing.T) {
	_, err := sdktest.OpenSource(counterKind, map[string]any{"limit": -1})
	require.EqualError(t, err, "counter-source: limit must be positive")

	panicking := sdk.SourceKind{Name: "panic-source", New: func(sdk.Config, *slog.Logger) (sdk.Source, error) { panic("nil map") }}
	var logs sdktest.Log
	_, err = sdktest.OpenSource(panicking, nil, sdktest.LogTo(&logs))
	require.EqualError(t, err, "New panicked: nil map")
	require.Equal(t, "New panicked", logs.Records()[0].Message)
	require.Contains(t, logs.Records()[0].Attr("stack"), "sdktest_test.go")

	_, err = sdktest.OpenSink(sdk.SinkKind{Name: "lazy-sink"}, nil)
	require.EqualError(t, err, `kind "lazy-sink" has no New function`)
}

func TestNewSourceFailsTheTest(t *testing.T) {
	got := failures(t, func(t testing.TB) {
		sdktest.NewSource(t, counterKind, map[string]any{"limit": 0})
		t.Errorf("not reached")
	})
	require.Equal(t, []string{"sdktest: cannot open a counter-source: counter-source: limit must be positive"}, got)
}

func TestCollectorAcceptsLikeTheHost(t *testing.T) {
	var c sdktest.Collector
	var acks []error
	ev := sdk.Event{Body: []byte("one"), ContentType: "text/plain", Headers: map[string]string{}, Ack: func(err error) { acks = append(acks, err) }}
	require.NoError(t, c.Emit(t.Context(), ev))
	require.NoError(t, c.Emit(t.Context(), sdk.Event{Body: []byte{}}), "an event without Ack")
	require.Equal(t, []error{nil}, acks, "accepted at once")

	got := c.Wait(t, 2)
	require.Equal(t, 2, c.Len())
	require.Equal(t, "one", string(got[0].Body))
	require.Nil(t, got[0].Headers, "as the wire carries them: empty is nil")
	require.Nil(t, got[1].Body)
	require.NotNil(t, got[0].Ack, "the test may look, the collector has acknowledged it")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, c.Emit(ctx, ev), context.Canceled)
	require.Equal(t, 2, c.Len(), "an emit whose context ended takes nothing")
}

func TestCollectorHold(t *testing.T) {
	c := sdktest.Collector{Hold: true}
	var acks []error
	require.NoError(t, c.Emit(t.Context(), sdk.Event{Body: []byte("x"), Ack: func(err error) { acks = append(acks, err) }}))
	require.Empty(t, acks, "left to the test")
	refused := errors.New("the instance closed")
	c.Events()[0].Ack(refused)
	require.Equal(t, []error{refused}, acks)
}

func TestCollectorBlock(t *testing.T) {
	var c sdktest.Collector
	c.Block()
	emitted := make(chan error, 1)
	go func() { emitted <- c.Emit(t.Context(), sdk.Event{Body: []byte("x")}) }()
	require.Never(t, func() bool { return len(emitted) > 0 }, 50*time.Millisecond, time.Millisecond, "a full stream blocks emit")
	c.Unblock()
	require.NoError(t, <-emitted)
	require.Equal(t, 1, c.Len())

	c.Block()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.Emit(ctx, sdk.Event{}), context.DeadlineExceeded, "until its context ends")
	require.Equal(t, 1, c.Len())
}

func TestCollectorWaitFails(t *testing.T) {
	var c sdktest.Collector
	err := c.Emit(t.Context(), sdk.Event{Body: []byte("x"), Headers: map[string]string{"X-Name": "\xe9"}})
	require.ErrorContains(t, err, "the event cannot be sent over the wire")
	got := failures(t, func(t testing.TB) { c.Wait(t, 1) })
	require.Len(t, got, 1)
	require.Contains(t, got[0], "sdktest: the source emitted an event the host cannot receive: ")
}

func TestRun(t *testing.T) {
	var c sdktest.Collector
	src := sdktest.NewSource(t, counterKind, map[string]any{"limit": 3})
	require.NoError(t, sdktest.Run(t, src, c.Emit).Wait(), "the source ends by itself")
	require.Len(t, c.Events(), 3)

	forever := sourceFunc(func(ctx context.Context, emit sdk.Emit) error {
		<-ctx.Done()
		return errors.New("stopped")
	})
	r := sdktest.Run(t, sdktest.NewSource(t, forever, nil), c.Emit)
	require.EqualError(t, r.Stop(), "stopped", "Stop ends the context and returns what Run returned")

	panicking := sourceFunc(func(context.Context, sdk.Emit) error { panic("nil map") })
	require.EqualError(t, sdktest.Run(t, sdktest.NewSource(t, panicking, nil), c.Emit).Wait(), "Run panicked: nil map")
}

func TestEmitFailsOnceRunReturned(t *testing.T) {
	var leaked sdk.Emit
	leaking := sourceFunc(func(_ context.Context, emit sdk.Emit) error {
		leaked = emit
		return nil
	})
	var c sdktest.Collector
	require.NoError(t, sdktest.Run(t, sdktest.NewSource(t, leaking, nil), c.Emit).Wait())
	require.EqualError(t, leaked(t.Context(), sdk.Event{}), "the source instance closed before the host accepted the event")
	require.Zero(t, c.Len())
}

func TestRunChecksAtTheEnd(t *testing.T) {
	failing := sourceFunc(func(context.Context, sdk.Emit) error { return errors.New("broken") })
	got := failures(t, func(t testing.TB) {
		sdktest.Run(t, sdktest.NewSource(t, failing, nil), new(sdktest.Collector).Emit)
	})
	require.Equal(t, []string{"sdktest: Run returned an error: broken"}, got, "an error nobody looked at fails the test")
}

func TestWrite(t *testing.T) {
	r := &recorder{}
	var logs sdktest.Log
	sink := sdktest.NewSink(t, recorderKind(r), map[string]any{"the_label": "audit"}, sdktest.LogTo(&logs))
	require.Equal(t, "audit", logs.Records()[0].Attr("label"), "the config New got")

	headers := map[string]string{"a": "1"}
	require.NoError(t, sdktest.Write(t, sink, sdk.Event{Body: []byte("one"), Headers: headers, Ack: func(error) {}}, sdk.Event{}))
	got := r.batches[0]
	require.Len(t, got, 2)
	require.Equal(t, "one", string(got[0].Body))
	require.Nil(t, got[0].Ack, "Ack does not travel")
	got[0].Headers["a"] = "changed"
	require.Equal(t, "1", headers["a"], "the sink has copies")

	err := sdktest.Write(t, sink, sdk.Event{Body: []byte("reject")})
	require.EqualError(t, err, "recorder-sink: rejected")
	require.True(t, sdk.IsPermanent(err))
	err = sdktest.Write(t, sink, sdk.Event{Body: []byte("fail")})
	require.EqualError(t, err, "recorder-sink: disk full")
	require.False(t, sdk.IsPermanent(err))
	require.EqualError(t, sdktest.Write(t, sink, sdk.Event{Body: []byte("panic")}), "Write panicked: a bad event")
}

// TestOutcomes: what the host makes of each event of a batch, for each
// kind of error a Write returns.
func TestOutcomes(t *testing.T) {
	const (
		w = sdktest.Written
		f = sdktest.Failed
		r = sdktest.Resent
	)
	down := errors.New("down")
	for _, tc := range []struct {
		name string
		err  error
		want []sdktest.Outcome
	}{
		{"written", nil, []sdktest.Outcome{w, w, w, w}},
		{"not written", down, []sdktest.Outcome{r, r, r, r}},
		{"refused", sdk.Permanent(down), []sdktest.Outcome{f, f, f, f}},
		{"partly written", sdk.Partial(2, down), []sdktest.Outcome{w, w, r, r}},
		{"one refused", sdk.Partial(1, sdk.Permanent(down)), []sdktest.Outcome{w, f, r, r}},
		{"the first refused, wrapped", fmt.Errorf("x: %w", sdk.Permanent(sdk.Partial(0, down))), []sdktest.Outcome{f, r, r, r}},
		{"the last refused", sdk.Partial(3, sdk.Permanent(down)), []sdktest.Outcome{w, w, w, f}},
		{"beyond the batch", sdk.Partial(4, down), []sdktest.Outcome{r, r, r, r}},
		{"beyond the batch, refused", sdk.Partial(-1, sdk.Permanent(down)), []sdktest.Outcome{f, f, f, f}},
	} {
		require.Equal(t, tc.want, sdktest.Outcomes(4, tc.err), tc.name)
	}
}

// TestReopened: a source opened as after a plugin restart finds in its
// Config how many events the host took before.
func TestReopened(t *testing.T) {
	var taken []uint64
	kind := sourceFunc(nil)
	kind.New = func(cfg sdk.Config, _ *slog.Logger) (sdk.Source, error) {
		taken = append(taken, cfg.Taken())
		return runFunc(func(context.Context, sdk.Emit) error { return nil }), nil
	}
	sdktest.NewSource(t, kind, nil)
	sdktest.NewSource(t, kind, nil, sdktest.Reopened(42))
	require.Equal(t, []uint64{0, 42}, taken)
}

func TestNewSinkClosesAtTheEnd(t *testing.T) {
	r := &recorder{closeErr: errors.New("recorder-sink: flush failed")}
	got := failures(t, func(t testing.TB) {
		sdktest.NewSink(t, recorderKind(r), nil)
	})
	require.Equal(t, 1, r.closed)
	require.Equal(t, []string{"sdktest: closing the recorder-sink: recorder-sink: flush failed"}, got)
}

func TestLog(t *testing.T) {
	var logs sdktest.Log
	sink, err := sdktest.OpenSink(sdk.SinkKind{
		Name: "chatty-sink",
		New: func(_ sdk.Config, log *slog.Logger) (sdk.Sink, error) {
			log.Debug("starting")
			log.With("kind", "chatty-sink").WithGroup("http").Warn("slow", "status", 503, slog.Group("retry", "after", time.Second))
			sdk.OutputLogger(log).Info("hello world")
			return &recorder{}, nil
		},
	}, nil, sdktest.LogTo(&logs))
	require.NoError(t, err)
	require.NotNil(t, sink)

	records := logs.Records()
	require.Len(t, records, 3)
	require.Equal(t, slog.LevelDebug, records[0].Level)
	require.Equal(t, "slow", records[1].Message)
	require.Equal(t, "503", records[1].Attr("http.status"))
	require.Equal(t, "1s", records[1].Attr("http.retry.after"))
	require.Equal(t, "chatty-sink", records[1].Attr("kind"))
	require.Empty(t, records[1].Attr("status"))
	require.False(t, records[1].Output())
	require.True(t, records[2].Output(), "sdk.OutputLogger")
	require.Equal(t, `level=DEBUG msg=starting
level=WARN msg=slow kind=chatty-sink http.status=503 http.retry.after=1s
level=INFO msg="hello world" @output=true
`, logs.String())
}

func TestLogShownWhenTheTestFails(t *testing.T) {
	var f *fakeT
	got := failures(t, func(t testing.TB) {
		f = t.(*fakeT)
		sdktest.NewSink(t, recorderKind(&recorder{}), map[string]any{"label": "x"})
		t.Errorf("the test fails")
	})
	require.Equal(t, []string{"the test fails"}, got)
	require.Len(t, f.logs, 1)
	require.True(t, strings.HasPrefix(f.logs[0], "what the recorder-sink logged:\nlevel=INFO msg=recording label=x"), f.logs[0])
}

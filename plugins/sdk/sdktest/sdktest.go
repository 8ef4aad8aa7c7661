// Package sdktest runs a connector's kinds in process, for the connector's
// own tests, the way a host runs them out of process. A config goes the
// way a script's config goes: the declaration is checked as [sdk.Serve]
// checks it, the config is validated as the host validates it (aliases,
// defaults, types, the same error messages) and sent to the SDK as the
// wire carries it; New, Run, Write and Close are called through the SDK's
// panic guard; events cross the wire's encoding both ways.
//
//	func TestTicks(t *testing.T) {
//		src := sdktest.NewSource(t, timer.Kind, map[string]any{"message": "tick", "period": 1})
//		var c sdktest.Collector
//		sdktest.Run(t, src, c.Emit)
//		for _, ev := range c.Wait(t, 3) {
//			require.Equal(t, "tick", string(ev.Body))
//		}
//	}
//
// What it holds:
//   - [NewSource] and [NewSink] make an instance or fail the test; a sink
//     that is an io.Closer is closed when the test ends. [OpenSource],
//     [OpenSink] and [Validate] return the error instead, for tests of what
//     a script's author is told.
//   - [Collector] stands in for the host's stream: its Emit records events
//     and accepts them as the host does (Event.Ack(nil)), or leaves that to
//     the test (Hold), or blocks as a full stream does (Block).
//   - [Run] runs a source in a goroutine that it stops and waits for when
//     the test ends.
//   - [Write] hands a batch to a sink and returns its acknowledgement;
//     [Outcomes] says what the host makes of it, event by event (written,
//     failed, sent again).
//   - [Reopened] opens a source as after a plugin restart (sdk.Config's
//     Taken).
//   - [Log] records what an instance logs ([LogTo]); what an instance logs
//     is shown when its test fails.
//
// Every wait is bounded by [Timeout]; nothing sleeps.
package sdktest

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
)

// Timeout bounds every wait of the kit (Collector.Wait, Running.Stop, ...):
// past it the test fails. A passing test never reaches it.
const Timeout = 10 * time.Second

// Option changes how an instance is made.
type Option func(*options)

type options struct {
	log   *Log
	taken uint64
}

// LogTo makes the instance log to l, for a test that checks what it logs.
func LogTo(l *Log) Option { return func(o *options) { o.log = l } }

// Reopened makes the source instance as the SDK does when the host opens
// it again after its plugin process died, having taken n events from it
// before: New's sdk.Config has Taken() == n.
func Reopened(n uint64) Option { return func(o *options) { o.taken = n } }

// Validate validates config for kind as the host and the SDK do, and
// returns the values New would get in its sdk.Config (canonical names,
// defaults filled in, values as string, int64, float64 or bool), or the
// error a script's author would see. kind is an sdk.SourceKind or an
// sdk.SinkKind.
func Validate(kind interface{ Kind() camel.Kind }, config map[string]any) (map[string]any, error) {
	k := kind.Kind()
	if err := k.Check(); err != nil {
		return nil, err
	}
	return validate(k, config)
}

// validate follows a config from a script to New: the host validates it
// against the declaration the plugin sent it, sends the values as a
// protobuf Struct, and the SDK validates those against the declaration
// again.
func validate(k camel.Kind, config map[string]any) (map[string]any, error) {
	pk, err := wire.KindToProto(k)
	if err != nil {
		return nil, fmt.Errorf("%s: the declaration cannot be sent to the host: %w", k.Name, err)
	}
	values, err := wire.KindFromProto(pk).Validate(config)
	if err != nil {
		return nil, err
	}
	st, err := structpb.NewStruct(values)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.Name, err)
	}
	return k.Validate(st.AsMap())
}

// OpenSource makes an instance of kind as the SDK does when the host opens
// one: it returns the source, or the error the host would report (a broken
// declaration, a config that does not validate, or New's error). The
// source logs nowhere unless an option says so.
func OpenSource(kind sdk.SourceKind, config map[string]any, opts ...Option) (sdk.Source, error) {
	return open(kind.Kind(), kind.New, config, newOptions(opts))
}

// OpenSink makes an instance of kind as OpenSource does. Closing it, if it
// is an io.Closer, is the caller's.
func OpenSink(kind sdk.SinkKind, config map[string]any, opts ...Option) (sdk.Sink, error) {
	return open(kind.Kind(), kind.New, config, newOptions(opts))
}

// NewSource makes an instance of kind as OpenSource does, and fails the
// test if that fails. What the source logs is shown if the test fails.
func NewSource(t testing.TB, kind sdk.SourceKind, config map[string]any, opts ...Option) sdk.Source {
	t.Helper()
	src, _ := mustOpen(t, kind.Kind(), kind.New, config, opts)
	return src
}

// NewSink makes an instance of kind as OpenSink does, and fails the test
// if that fails. If the sink is an io.Closer, it is closed when the test
// ends, and an error closing it fails the test. What the sink logs is
// shown if the test fails.
func NewSink(t testing.TB, kind sdk.SinkKind, config map[string]any, opts ...Option) sdk.Sink {
	t.Helper()
	sink, o := mustOpen(t, kind.Kind(), kind.New, config, opts)
	if c, ok := sink.(io.Closer); ok {
		t.Cleanup(func() {
			if err := guard.Call(o.log.logger(), "Close", c.Close); err != nil {
				t.Errorf("sdktest: closing the %s: %v", kind.Name, err)
			}
		})
	}
	return sink
}

// mustOpen opens an instance for test t, which fails if that fails, and
// returns it with its options.
func mustOpen[T any](t testing.TB, k camel.Kind, newFn func(sdk.Config, *slog.Logger) (T, error), config map[string]any, opts []Option) (T, options) {
	t.Helper()
	o := newTestOptions(t, k.Name, opts)
	inst, err := open(k, newFn, config, o)
	if err != nil {
		t.Fatalf("sdktest: cannot open a %s: %v", k.Name, err)
	}
	return inst, o
}

// open checks the declaration as sdk.Serve does, validates config and
// calls New.
func open[T any](k camel.Kind, newFn func(sdk.Config, *slog.Logger) (T, error), config map[string]any, o options) (T, error) {
	var inst T
	if err := k.Check(); err != nil {
		return inst, err
	}
	if newFn == nil {
		return inst, fmt.Errorf("kind %q has no New function", k.Name)
	}
	values, err := validate(k, config)
	if err != nil {
		return inst, err
	}
	log := slog.New(slog.DiscardHandler)
	if o.log != nil {
		log = o.log.logger()
	}
	err = guard.Call(log, "New", func() (err error) {
		inst, err = newFn(sdk.NewConfig(values).WithTaken(o.taken), log)
		return err
	})
	return inst, err
}

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// newTestOptions are the options of an instance made for test t: it always
// logs to a Log, shown if the test fails.
func newTestOptions(t testing.TB, kind string, opts []Option) options {
	o := newOptions(opts)
	if o.log == nil {
		o.log = new(Log)
	}
	t.Cleanup(func() {
		if t.Failed() && len(o.log.Records()) > 0 {
			t.Logf("what the %s logged:\n%s", kind, o.log)
		}
	})
	return o
}

// testLogger logs to t, for the panics of calls made on the test's
// goroutine or on goroutines the test waits for.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// Command benchplugin is a plugin for the host's benchmarks (bench_test.go).
// It serves two kinds:
//   - paced-source emits count events at a steady rate, each body the time
//     it was emitted (Unix nanoseconds, as text), so that the host can tell
//     how long an event took to reach a sink;
//   - paced-sink takes at most rate events per second (0: as fast as they
//     come) and does nothing else with them: a sink of no work, or a slow
//     one.
package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:    "bench",
		Version: "v0.0.0",
		Sources: []sdk.SourceKind{{
			Name:        "paced-source",
			Description: "Emits count events at rate events per second; each body is when it was emitted, in Unix nanoseconds.",
			Params: []sdk.Param{
				{Name: "rate", Type: sdk.Integer, Required: true, Description: "events per second"},
				{Name: "count", Type: sdk.Integer, Required: true},
			},
			New: newPacedSource,
		}},
		Sinks: []sdk.SinkKind{{
			Name:        "paced-sink",
			Description: "Takes at most rate events per second and drops them.",
			Params: []sdk.Param{
				{Name: "rate", Type: sdk.Integer, Default: 0, Description: "events per second at most; 0: no limit"},
			},
			New: newPacedSink,
		}},
	})
}

// pace is a steady rate from a start: event n is due at start + n/rate.
type pace struct {
	rate  int64
	start time.Time
}

func (p pace) due(n int64) time.Time {
	return p.start.Add(time.Duration(n * int64(time.Second) / p.rate))
}

// wait waits until event n is due, or ctx ends (false).
func (p pace) wait(ctx context.Context, timer *time.Timer, n int64) bool {
	d := time.Until(p.due(n))
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		timer.Stop()
		return false
	}
}

type pacedSource struct {
	rate, count int64
}

func newPacedSource(cfg sdk.Config, _ *slog.Logger) (sdk.Source, error) {
	s := &pacedSource{rate: cfg.Int("rate"), count: cfg.Int("count")}
	if s.rate <= 0 || s.count < 0 {
		return nil, errors.New("paced-source: rate must be positive and count not negative")
	}
	return s, nil
}

// Run emits each event when it is due. Behind (the timer fired late, or
// emit blocked), it emits the events that are due at once: the rate holds
// on average.
func (s *pacedSource) Run(ctx context.Context, emit sdk.Emit) error {
	p := pace{rate: s.rate, start: time.Now()}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for n := int64(0); n < s.count; n++ {
		if !p.wait(ctx, timer, n) {
			return nil
		}
		body := strconv.AppendInt(nil, time.Now().UnixNano(), 10)
		if err := emit(ctx, sdk.Event{Body: body, ContentType: "text/plain"}); err != nil {
			return nil // the host stopped the source
		}
	}
	return nil
}

type pacedSink struct {
	p       pace
	written int64
}

func newPacedSink(cfg sdk.Config, _ *slog.Logger) (sdk.Sink, error) {
	rate := cfg.Int("rate")
	if rate < 0 {
		return nil, errors.New("paced-sink: rate must not be negative")
	}
	return &pacedSink{p: pace{rate: rate}}, nil
}

// Write takes the batch once the rate allows all of it.
func (s *pacedSink) Write(ctx context.Context, batch []sdk.Event) error {
	if s.p.rate == 0 {
		return nil
	}
	if s.written == 0 {
		s.p.start = time.Now()
	}
	s.written += int64(len(batch))
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	if !s.p.wait(ctx, timer, s.written) {
		return ctx.Err()
	}
	return nil
}

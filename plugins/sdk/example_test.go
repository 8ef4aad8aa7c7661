package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// counter is a source that emits "1", "2", ... every period.
type counter struct{ period time.Duration }

func (c counter) Run(ctx context.Context, emit sdk.Emit) error {
	ticker := time.NewTicker(c.period)
	defer ticker.Stop()
	for n := 1; ; n++ {
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return nil
		}
		if err := emit(ctx, sdk.Event{Body: fmt.Appendf(nil, "%d", n), ContentType: "text/plain"}); err != nil {
			return nil // the host stopped the source
		}
	}
}

// A plugin's main is one call to Serve.
func ExampleServe() {
	sdk.Serve(sdk.Plugin{
		Name:    "counter",
		Version: "v1.0.0",
		Sources: []sdk.SourceKind{{
			Name:        "counter-source",
			Description: "Counts, once a period.",
			Params: []sdk.Param{
				{Name: "period", Type: sdk.Integer, Default: 1000, Description: "milliseconds between counts"},
			},
			New: func(cfg sdk.Config, _ *slog.Logger) (sdk.Source, error) {
				return counter{period: cfg.Millis("period")}, nil
			},
		}},
	})
}

// A connector is tested without a host: make a Config with NewConfig and
// call Run with an emit function of your own.
func ExampleNewConfig() {
	src := counter{period: sdk.NewConfig(map[string]any{"period": int64(1)}).Millis("period")}
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	emit := func(ctx context.Context, ev sdk.Event) error {
		got = append(got, string(ev.Body))
		if len(got) == 3 {
			cancel() // like a host that stops the source: emit fails
			return ctx.Err()
		}
		return nil
	}
	_ = src.Run(ctx, emit)
	fmt.Println(got)
	// Output: [1 2 3]
}

// A sink marks the write errors that sending the batch again cannot fix;
// the host, and a test, tell them apart with IsPermanent.
func ExamplePermanent() {
	notFound := fmt.Errorf("http-sink: %w", sdk.Permanent(errors.New("POST /in answered 404 Not Found")))
	refused := errors.New("http-sink: connection refused")
	fmt.Println(sdk.IsPermanent(notFound), sdk.IsPermanent(refused))
	// Output: true false
}

// A source that reads a large object before it emits it reports the read,
// so that the host's live views show its progress.
func ExampleTrackRead() {
	run := func(ctx context.Context, emit sdk.Emit, key string, size int64, body io.Reader) error {
		r := sdk.TrackRead(ctx, key, size, body)
		defer r.Finish()
		content, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return emit(ctx, sdk.Event{Body: content, ContentType: "application/octet-stream", Headers: map[string]string{"key": key}})
	}
	emit := func(_ context.Context, ev sdk.Event) error {
		fmt.Println(ev.Headers["key"], len(ev.Body))
		return nil
	}
	_ = run(context.Background(), emit, "orders.csv", 11, strings.NewReader("id,amount\n"))
	// Output: orders.csv 10
}

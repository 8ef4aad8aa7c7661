package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// counterKind is a source kind as a connector declares one: it counts from
// 1 to limit, then ends.
var counterKind = sdk.SourceKind{
	Name:        "counter-source",
	Description: "Counts from 1 to limit.",
	Params: []sdk.Param{
		{Name: "limit", Type: sdk.Integer, Required: true, Description: "The last number."},
		{Name: "contentType", Type: sdk.String, Default: "text/plain", Aliases: []string{"content_type"}, Description: "The content type of the events."},
	},
	New: func(cfg sdk.Config, _ *slog.Logger) (sdk.Source, error) {
		if cfg.Int("limit") <= 0 {
			return nil, errors.New("counter-source: limit must be positive")
		}
		return &counter{limit: cfg.Int("limit"), contentType: cfg.String("contentType")}, nil
	},
}

type counter struct {
	limit       int64
	contentType string
}

func (c *counter) Run(ctx context.Context, emit sdk.Emit) error {
	for n := int64(1); n <= c.limit; n++ {
		if err := emit(ctx, sdk.Event{Body: strconv.AppendInt(nil, n, 10), ContentType: c.contentType}); err != nil {
			return nil // the host stopped the source
		}
	}
	return nil
}

// Validate gives what New gets, or what a script's author is told.
func ExampleValidate() {
	values, err := sdktest.Validate(counterKind, map[string]any{"limit": 3, "content_type": "text/csv"})
	fmt.Println(values, err)
	_, err = sdktest.Validate(counterKind, map[string]any{"limt": 3})
	fmt.Println(err)
	// Output:
	// map[contentType:text/csv limit:3] <nil>
	// counter-source: unknown parameter "limt" (did you mean "limit"?)
}

// OpenSource returns the error New returns, as the host reports it.
func ExampleOpenSource() {
	_, err := sdktest.OpenSource(counterKind, map[string]any{"limit": 0})
	fmt.Println(err)
	// Output: counter-source: limit must be positive
}

// A Collector is the emit function a source runs with. In a test,
// sdktest.Run(t, src, c.Emit) runs the source in a goroutine it stops when
// the test ends, and c.Wait(t, n) waits for n events.
func ExampleCollector() {
	src, err := sdktest.OpenSource(counterKind, map[string]any{"limit": 3})
	if err != nil {
		panic(err)
	}
	var c sdktest.Collector
	_ = src.Run(context.Background(), c.Emit)
	for _, ev := range c.Events() {
		fmt.Println(string(ev.Body), ev.ContentType)
	}
	// Output:
	// 1 text/plain
	// 2 text/plain
	// 3 text/plain
}

// poster writes its events one by one, as a sink posting each to an
// endpoint does; the endpoint refuses "bad".
type poster struct{}

func (poster) Write(_ context.Context, batch []sdk.Event) error {
	for i, ev := range batch {
		if string(ev.Body) == "bad" {
			return sdk.Partial(i, sdk.Permanent(errors.New("poster-sink: the endpoint answered 400 Bad Request")))
		}
	}
	return nil
}

// Outcomes shows what the host makes of a Write's error: with sdk.Partial
// and sdk.Permanent, the events before the refused one are written, it
// fails, and the ones after it are sent again.
func ExampleOutcomes() {
	kind := sdk.SinkKind{Name: "poster-sink", Description: "Posts each event.", New: func(sdk.Config, *slog.Logger) (sdk.Sink, error) { return poster{}, nil }}
	sink, err := sdktest.OpenSink(kind, nil)
	if err != nil {
		panic(err)
	}
	batch := []sdk.Event{{Body: []byte("one")}, {Body: []byte("bad")}, {Body: []byte("three")}}
	err = sink.Write(context.Background(), batch)
	fmt.Println(err)
	fmt.Println(sdktest.Outcomes(len(batch), err))
	// Output:
	// poster-sink: the endpoint answered 400 Bad Request
	// [written failed sent again]
}

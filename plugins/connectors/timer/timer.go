// Package timer is the timer-source connector: it emits a fixed message
// periodically, as the Apache Camel Kamelet of the same name does.
package timer

import (
	"context"
	"log/slog"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Kind declares timer-source.
var Kind = sdk.SourceKind{
	Name:        "timer-source",
	Kamelet:     "timer-source",
	Description: "Produces periodic messages with a custom payload.",
	Events:      "the message, as a string",
	Params: []sdk.Param{
		{Name: "period", Type: sdk.Integer, Default: 1000, Check: sdk.AtLeast(0), Description: "The interval (in milliseconds) to wait between producing the next message."},
		{Name: "message", Type: sdk.String, Required: true, Description: "The message to generate."},
		{Name: "contentType", Type: sdk.String, Default: "text/plain", Aliases: []string{"content_type"}, Description: "The content type of the generated message."},
		{Name: "repeatCount", Type: sdk.Integer, Aliases: []string{"repeat_count"}, Description: "Specifies a maximum limit of number of fires; the source ends after that many messages in the run, counted across plugin restarts."},
	},
	New: newTimer,
}

// timer is one timer-source instance.
type timer struct {
	period      time.Duration // 0: as fast as the host accepts them
	message     string
	contentType string
	repeat      int64 // 0 or less: forever, as in Camel
	// taken is how many messages the host took from earlier processes of
	// this instance: repeatCount is per run, so a restarted plugin emits
	// only the rest.
	taken uint64
}

func newTimer(cfg sdk.Config, _ *slog.Logger) (sdk.Source, error) {
	return &timer{
		period:      cfg.Millis("period"),
		message:     cfg.String("message"),
		contentType: cfg.String("contentType"),
		repeat:      cfg.Int("repeatCount"),
		taken:       cfg.Taken(),
	}, nil
}

// Run emits the message once every period, the first one period after it
// starts, until ctx ends or repeatCount messages are out, counting those
// the host took before the instance was reopened.
func (t *timer) Run(ctx context.Context, emit sdk.Emit) error {
	var tick <-chan time.Time
	if t.period > 0 {
		ticker := time.NewTicker(t.period)
		defer ticker.Stop()
		tick = ticker.C
	}
	for n := t.taken; t.repeat <= 0 || n < uint64(t.repeat); n++ {
		if !next(ctx, tick) {
			return nil
		}
		ev := sdk.Event{Body: []byte(t.message), ContentType: t.contentType}
		if err := emit(ctx, ev); err != nil {
			return nil // emit fails only when ctx ends or the instance closes: both mean stop
		}
	}
	return nil
}

// next waits for the next tick (none when tick is nil: period 0) and
// reports whether to go on.
func next(ctx context.Context, tick <-chan time.Time) bool {
	if tick == nil {
		return ctx.Err() == nil
	}
	select {
	case <-tick:
		return true
	case <-ctx.Done():
		return false
	}
}

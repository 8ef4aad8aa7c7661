// Package cron is the cron-source connector: it emits a fixed message on a
// cron schedule, as the Apache Camel Kamelet of the same name does.
//
// Camel's cron component takes Quartz expressions: six fields, seconds
// first ("0/3 10 * * * ?"), an optional seventh for the year, and "+" for
// a space (a schedule in a URI). cron-source takes those, and the five
// fields of Unix cron (minute first) too, and the descriptors of
// github.com/robfig/cron/v3, whose parser it uses ("@hourly", "@every
// 1m30s"); a "CRON_TZ=Europe/Paris " prefix sets the time zone (the local
// one otherwise). The year field may only be "*" or "?".
//
// A fire that comes while the host still has not taken the last message
// (backpressure) is skipped, not queued: the next message goes out at the
// next time the schedule names after that, as Quartz does for a misfire
// with "do nothing".
package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Kind declares cron-source.
var Kind = sdk.SourceKind{
	Name:        "cron-source",
	Kamelet:     "cron-source",
	Description: "Send events at specific time.",
	Events:      "the message, as a string, at each time the schedule names",
	Params: []sdk.Param{
		{Name: "schedule", Type: sdk.String, Required: true, Check: checkSchedule, Description: `A cron expression that is used to trigger events generation: Quartz's six fields, seconds first ("0/3 10 * * * ?"; "+" for a space), or Unix cron's five, or a descriptor ("@hourly", "@every 1m30s"); a "CRON_TZ=Area/City " prefix sets the time zone.`},
		{Name: "message", Type: sdk.String, Required: true, Description: "The message to generate."},
	},
	New: newCron,
}

// checkSchedule is the schedule's Param.Check: `rayvens check` finds a
// schedule that does not parse.
func checkSchedule(v any) error {
	s, _ := v.(string)
	if _, err := parse(s); err != nil {
		return fmt.Errorf("is not a cron schedule: %s", reason(err))
	}
	return nil
}

// reason is what robfig's parse error says is wrong, without the text of
// the schedule it ends with (": [every minute]"): errors quote names only.
func reason(err error) string {
	msg, _, _ := strings.Cut(err.Error(), ": ")
	return strings.ReplaceAll(msg, `"`, "'")
}

// parser reads Quartz's and Unix cron's fields and the descriptors.
var parser = robfig.NewParser(robfig.SecondOptional | robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)

// source is one cron-source instance.
type source struct {
	schedule robfig.Schedule
	message  string
	now      func() time.Time
}

func newCron(cfg sdk.Config, _ *slog.Logger) (sdk.Source, error) {
	sched, err := parse(cfg.String("schedule"))
	if err != nil {
		return nil, fmt.Errorf("cron-source: schedule: %w", err)
	}
	return &source{schedule: sched, message: cfg.String("message"), now: time.Now}, nil
}

// parse reads a schedule: "+" stands for a space, as in Camel's URIs, and
// a seventh field (Quartz's year) must be "*" or "?".
func parse(expr string) (robfig.Schedule, error) {
	expr = strings.TrimSpace(strings.ReplaceAll(expr, "+", " "))
	tz := ""
	if strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ=") {
		var rest string
		tz, rest, _ = strings.Cut(expr, " ")
		tz += " "
		expr = strings.TrimSpace(rest)
	}
	if fields := strings.Fields(expr); len(fields) == 7 && !strings.HasPrefix(expr, "@") {
		if year := fields[6]; year != "*" && year != "?" {
			return nil, errors.New("a year field is not supported; use * or leave it out")
		}
		expr = strings.Join(fields[:6], " ")
	}
	sched, err := parser.Parse(tz + expr)
	if err != nil {
		return nil, err // robfig's errors name the field at fault
	}
	return sched, nil
}

// Run emits the message at each time the schedule names, until ctx ends.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	for {
		next := s.schedule.Next(s.now())
		if next.IsZero() {
			return nil // a schedule that never fires again (a date in the past)
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		if err := emit(ctx, sdk.Event{Body: []byte(s.message), ContentType: "text/plain"}); err != nil {
			return nil // emit fails only when ctx ends or the instance closes: both mean stop
		}
	}
}

package cron

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func TestFiresOnTheSchedule(t *testing.T) {
	src := sdktest.NewSource(t, Kind, map[string]any{"schedule": "* * * * * ?", "message": "tick"})
	var c sdktest.Collector
	r := sdktest.Run(t, src, c.Emit)
	events := c.Wait(t, 2) // one a second
	require.NoError(t, r.Stop())
	for _, ev := range events {
		require.Equal(t, "tick", string(ev.Body))
		require.Equal(t, "text/plain", ev.ContentType)
	}
}

// TestScheduleSyntax checks, on fixed times, the next times of Quartz's
// expressions (Camel's), Unix cron's, descriptors and time zones.
func TestScheduleSyntax(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.DateTime, s)
		require.NoError(t, err)
		return tm
	}
	cases := []struct{ expr, from, next string }{
		{"0/3 10 * * * ?", "2026-12-02 09:10:01", "2026-12-02 09:10:03"},
		{"0/3+10+*+*+*+?", "2026-12-02 09:10:58", "2026-12-02 10:10:00"}, // "+" for spaces, as in a URI
		{"0 0 12 * * ? *", "2026-12-02 09:10:00", "2026-12-02 12:00:00"}, // Quartz's year field, as *
		{"30 8 * * 1-5", "2026-12-04 09:00:00", "2026-12-07 08:30:00"},   // Unix cron: Friday to Monday
		{"@hourly", "2026-12-02 09:10:00", "2026-12-02 10:00:00"},
		{"@every 90s", "2026-12-02 09:10:00", "2026-12-02 09:11:30"},
		{"CRON_TZ=Asia/Tokyo 0 0 9 * * ?", "2026-12-02 00:00:00", "2026-12-03 00:00:00"}, // 09:00 in Tokyo is 00:00 UTC
	}
	for _, tc := range cases {
		sched, err := parse(tc.expr)
		require.NoError(t, err, tc.expr)
		require.Equal(t, utc(tc.next), sched.Next(utc(tc.from).In(time.UTC)).UTC(), tc.expr)
	}
}

func TestParameters(t *testing.T) {
	_, err := sdktest.Validate(Kind, map[string]any{"message": "m"})
	require.EqualError(t, err, `cron-source: missing required parameter "schedule"`)
	_, err = sdktest.Validate(Kind, map[string]any{"schedule": "* * * * *"})
	require.EqualError(t, err, `cron-source: missing required parameter "message"`)
	for expr, msg := range map[string]string{
		"61 * * * * ?":                       `cron-source: parameter "schedule" is not a cron schedule: end of range (61) above maximum (59)`,
		"every minute":                       `cron-source: parameter "schedule" is not a cron schedule: expected 5 to 6 fields, found 2`,
		"0 0 12 * * ? 2027":                  `cron-source: parameter "schedule" is not a cron schedule: a year field is not supported; use * or leave it out`,
		"CRON_TZ=Nowhere/Atlantis * * * * *": `cron-source: parameter "schedule" is not a cron schedule: provided bad location Nowhere/Atlantis`,
	} {
		_, err := sdktest.OpenSource(Kind, map[string]any{"schedule": expr, "message": "m"})
		require.EqualError(t, err, msg, expr)
	}
}

package log

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// line is one line the sink logged: its level, its message, and whether it
// is marked as output.
type line struct {
	Level   slog.Level
	Message string
	Output  bool
}

// logged writes batch to a new sink of config and returns the lines it
// logged.
func logged(t *testing.T, config map[string]any, batch ...sdk.Event) []line {
	t.Helper()
	var logs sdktest.Log
	sink := sdktest.NewSink(t, Kind, config, sdktest.LogTo(&logs))
	require.NoError(t, sdktest.Write(t, sink, batch...))
	var lines []line
	for _, r := range logs.Records() {
		lines = append(lines, line{Level: r.Level, Message: r.Message, Output: r.Output()})
	}
	return lines
}

func text(s string) sdk.Event { return sdk.Event{Body: []byte(s), ContentType: "text/plain"} }

func TestDefaultFormat(t *testing.T) {
	lines := logged(t, nil, text("hello"), sdk.Event{Body: []byte(`{"a":1}`), ContentType: "application/json"})
	require.Equal(t, []line{
		{Level: slog.LevelInfo, Output: true, Message: "log-sink: Exchange[ExchangePattern: InOnly, BodyType: text/plain, Body: hello]"},
		{Level: slog.LevelInfo, Output: true, Message: `log-sink: Exchange[ExchangePattern: InOnly, BodyType: application/json, Body: {"a":1}]`},
	}, lines)
}

func TestOptions(t *testing.T) {
	ev := sdk.Event{Body: []byte("hello"), ContentType: "text/plain", Headers: map[string]string{"b": "2", "CamelFileName": "a.txt"}}
	for _, tt := range []struct {
		name   string
		config map[string]any
		want   line
	}{
		{"headers, level and logger name", map[string]any{"showHeaders": true, "level": "warn", "loggerName": "audit"},
			line{Level: slog.LevelWarn, Message: "audit: Exchange[ExchangePattern: InOnly, Headers: {CamelFileName=a.txt, b=2}, BodyType: text/plain, Body: hello]"}},
		{"multiline and marker", map[string]any{"multiline": true, "marker": "IN", "level": "ERROR"},
			line{Level: slog.LevelError, Message: "log-sink [IN]: Exchange[\n  ExchangePattern: InOnly\n  BodyType: text/plain\n  Body: hello\n]"}},
		{"body only", map[string]any{"show_exchange_pattern": false, "showBodyType": false, "level": "TRACE"},
			line{Level: slog.LevelDebug, Message: "log-sink: Exchange[Body: hello]"}},
		{"properties", map[string]any{"showProperties": true, "showBody": false},
			line{Level: slog.LevelInfo, Message: "log-sink: Exchange[ExchangePattern: InOnly, Properties: {loggerName=log-sink}, BodyType: text/plain]"}},
		{"all properties", map[string]any{"showAllProperties": true, "showProperties": true, "showBody": false, "showBodyType": false},
			line{Level: slog.LevelInfo, Message: "log-sink: Exchange[ExchangePattern: InOnly, AllProperties: {kind=log-sink, loggerName=log-sink}]"}},
		{"streams have no effect", map[string]any{"showStreams": true, "showCachedStreams": false},
			line{Level: slog.LevelInfo, Message: "log-sink: Exchange[ExchangePattern: InOnly, BodyType: text/plain, Body: hello]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Output = true
			require.Equal(t, []line{tt.want}, logged(t, tt.config, ev))
		})
	}
}

func TestLogMask(t *testing.T) {
	secrets := []sdk.Event{
		text(`{"user":"ann","password":"hunter2","apiKey": "k-123", "n": 1}`),
		text("user=ann&password=hunter2&access_token=abc.def"),
		text("db_password: hunter2, Secret='x y'"),
		{Body: []byte("hello"), ContentType: "text/plain", Headers: map[string]string{"X-Api-Key": "k-123", "X-Request": "42"}},
	}
	lines := logged(t, map[string]any{"logMask": true, "showHeaders": true, "showExchangePattern": false, "showBodyType": false}, secrets...)
	messages := make([]string, len(lines))
	for i, l := range lines {
		messages[i] = l.Message
	}
	require.Equal(t, []string{
		`log-sink: Exchange[Headers: {}, Body: {"user":"ann","password":"xxxxx","apiKey": "xxxxx", "n": 1}]`,
		`log-sink: Exchange[Headers: {}, Body: user=ann&password=xxxxx&access_token=xxxxx]`,
		`log-sink: Exchange[Headers: {}, Body: db_password: xxxxx, Secret=xxxxx]`,
		`log-sink: Exchange[Headers: {X-Api-Key=xxxxx, X-Request=42}, Body: hello]`,
	}, messages)

	unmasked := logged(t, map[string]any{"showExchangePattern": false, "showBodyType": false}, secrets[1])
	require.Equal(t, "log-sink: Exchange[Body: user=ann&password=hunter2&access_token=abc.def]", unmasked[0].Message, "masking is off by default, as in Camel")
}

func TestBodies(t *testing.T) {
	long := strings.Repeat("é", maxChars+5)
	lines := logged(t, map[string]any{"showExchangePattern": false, "showBodyType": false},
		text(long), sdk.Event{Body: []byte{0xff, 0xfe, 0}}, sdk.Event{})
	require.Equal(t, "log-sink: Exchange[Body: "+strings.Repeat("é", maxChars)+"... [Body clipped after 10000 chars, total length is 10005]]", lines[0].Message)
	require.Equal(t, "log-sink: Exchange[Body: [binary body of 3 bytes]]", lines[1].Message)
	require.Equal(t, "log-sink: Exchange[Body: ]", lines[2].Message)

	lines = logged(t, map[string]any{"showExchangePattern": false}, sdk.Event{Body: []byte("x")})
	require.Equal(t, "log-sink: Exchange[BodyType: application/octet-stream, Body: x]", lines[0].Message, "no content type")
}

func TestLevels(t *testing.T) {
	require.Empty(t, logged(t, map[string]any{"level": "off"}, text("hello")), "OFF logs nothing")

	_, err := sdktest.OpenSink(Kind, map[string]any{"level": "verbose"})
	require.EqualError(t, err, `log-sink: unknown level "verbose" (want DEBUG, INFO, WARN, ERROR or OFF)`)

	values, err := sdktest.Validate(Kind, nil)
	require.NoError(t, err)
	require.Equal(t, "INFO", values["level"])
	require.Equal(t, "log-sink", values["loggerName"])
}

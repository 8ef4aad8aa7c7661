// Package log is the log-sink connector: it writes each event to rayvens'
// log, formatted as Apache Camel's log component formats an exchange, as
// the Camel Kamelet of the same name does:
//
//	log-sink: Exchange[ExchangePattern: InOnly, BodyType: text/plain, Body: hello]
//
// Its lines are the output a user asked for, not diagnostics: they carry
// the attribute that makes the host show them whatever --log-level says
// (except off), at the level the sink is configured with.
package log

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Kind declares log-sink.
var Kind = sdk.SinkKind{
	Name:        "log-sink",
	Kamelet:     "log-sink",
	Description: "Logs all data that it receives to rayvens' log, useful for debugging purposes. Its lines are shown whatever --log-level says (unless off).",
	Events:      "each event is one log line",
	Params: []sdk.Param{
		{Name: "loggerName", Type: sdk.String, Default: "log-sink", Aliases: []string{"logger_name"}, Description: "Name of the logging category to use."},
		{Name: "level", Type: sdk.String, Default: "INFO", Description: "Logging level to use: DEBUG, INFO, WARN or ERROR (TRACE is shown as DEBUG; OFF logs nothing)."},
		{Name: "logMask", Type: sdk.Boolean, Default: false, Aliases: []string{"log_mask"}, Description: "Mask sensitive information like password or passphrase in the log."},
		{Name: "marker", Type: sdk.String, Description: "An optional marker shown with each line."},
		{Name: "multiline", Type: sdk.Boolean, Default: false, Description: "If enabled then each information is outputted on a newline."},
		{Name: "showAllProperties", Type: sdk.Boolean, Default: false, Aliases: []string{"show_all_properties"}, Description: "Show all of the exchange properties (in Rayvens: the kind of the sink and its logger name)."},
		{Name: "showBody", Type: sdk.Boolean, Default: true, Aliases: []string{"show_body"}, Description: "Show the message body."},
		{Name: "showBodyType", Type: sdk.Boolean, Default: true, Aliases: []string{"show_body_type"}, Description: "Show the body type (in Rayvens: its content type)."},
		{Name: "showExchangePattern", Type: sdk.Boolean, Default: true, Aliases: []string{"show_exchange_pattern"}, Description: "Shows the Message Exchange Pattern (always InOnly for a sink)."},
		{Name: "showHeaders", Type: sdk.Boolean, Default: false, Aliases: []string{"show_headers"}, Description: "Show the headers received."},
		{Name: "showProperties", Type: sdk.Boolean, Default: false, Aliases: []string{"show_properties"}, Description: "Show the exchange properties (in Rayvens: the logger name of the sink)."},
		{Name: "showStreams", Type: sdk.Boolean, Default: false, Aliases: []string{"show_streams"}, Description: "Show the stream bodies (Rayvens bodies are never streams: no effect)."},
		{Name: "showCachedStreams", Type: sdk.Boolean, Default: true, Aliases: []string{"show_cached_streams"}, Description: "Whether to show cached stream bodies (Rayvens bodies are never streams: no effect)."},
	},
	New: newLogSink,
}

// maxChars is where a body is clipped, as Camel's log component does by
// default: a large body would bury everything else.
const maxChars = 10000

// levels are the accepted levels: the Kamelet's, TRACE shown as DEBUG
// (slog has nothing finer) and OFF logging nothing.
var levels = map[string]slog.Level{"TRACE": slog.LevelDebug, "DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo, "WARN": slog.LevelWarn, "ERROR": slog.LevelError}

// logSink is one log-sink instance.
type logSink struct {
	log   *slog.Logger // nil: level OFF
	level slog.Level
	// prefix starts each message: the logger name and the marker.
	prefix string

	loggerName                                             string
	mask, multiline                                        bool
	showExchangePattern, showAllProperties, showProperties bool
	showHeaders, showBodyType, showBody                    bool
}

func newLogSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	s := &logSink{
		loggerName:          cfg.String("loggerName"),
		mask:                cfg.Bool("logMask"),
		multiline:           cfg.Bool("multiline"),
		showExchangePattern: cfg.Bool("showExchangePattern"),
		showAllProperties:   cfg.Bool("showAllProperties"),
		showProperties:      cfg.Bool("showProperties"),
		showHeaders:         cfg.Bool("showHeaders"),
		showBodyType:        cfg.Bool("showBodyType"),
		showBody:            cfg.Bool("showBody"),
	}
	level := strings.ToUpper(cfg.String("level"))
	if l, ok := levels[level]; ok {
		s.level = l
		s.log = sdk.OutputLogger(log)
	} else if level != "OFF" {
		return nil, fmt.Errorf("log-sink: unknown level %q (want DEBUG, INFO, WARN, ERROR or OFF)", cfg.String("level"))
	}
	s.prefix = s.loggerName
	if m := cfg.String("marker"); m != "" {
		s.prefix += " [" + m + "]"
	}
	return s, nil
}

// Write logs each event of the batch, one log line per event.
func (s *logSink) Write(ctx context.Context, batch []sdk.Event) error {
	if s.log == nil {
		return nil
	}
	for _, ev := range batch {
		s.log.Log(ctx, s.level, s.prefix+": "+s.format(ev))
	}
	return nil
}

// format renders an event as Camel's DefaultExchangeFormatter renders an
// exchange: Exchange[ExchangePattern: InOnly, Headers: {...}, BodyType:
// ..., Body: ...], each item on its own line when multiline, with the
// values of likely secrets masked when logMask is set.
func (s *logSink) format(ev sdk.Event) string {
	var items []string
	if s.showExchangePattern {
		items = append(items, "ExchangePattern: InOnly")
	}
	switch {
	case s.showAllProperties:
		items = append(items, fmt.Sprintf("AllProperties: {kind=%s, loggerName=%s}", "log-sink", s.loggerName))
	case s.showProperties:
		items = append(items, fmt.Sprintf("Properties: {loggerName=%s}", s.loggerName))
	}
	if s.showHeaders {
		items = append(items, "Headers: "+headers(ev.Headers))
	}
	if s.showBodyType {
		items = append(items, "BodyType: "+bodyType(ev))
	}
	if s.showBody {
		items = append(items, "Body: "+body(ev.Body))
	}
	var out string
	if s.multiline {
		out = "Exchange[\n  " + strings.Join(items, "\n  ") + "\n]"
	} else {
		out = "Exchange[" + strings.Join(items, ", ") + "]"
	}
	if s.mask {
		out = maskSecrets(out)
	}
	return out
}

// headers renders headers as Camel does, sorted by name: {a=1, b=2}.
func headers(h map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(h)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + h[k])
	}
	b.WriteByte('}')
	return b.String()
}

// bodyType is the event's content type: Rayvens bodies are bytes with a
// content type, not Java objects.
func bodyType(ev sdk.Event) string {
	if ev.ContentType == "" {
		return "application/octet-stream"
	}
	return ev.ContentType
}

// body renders a body as text, clipped at maxChars as Camel does; bytes
// that are not UTF-8 are not sent to a terminal.
func body(b []byte) string {
	if !utf8.Valid(b) {
		return fmt.Sprintf("[binary body of %d bytes]", len(b))
	}
	s, chars := string(b), 0
	for i := range s {
		if chars == maxChars {
			return fmt.Sprintf("%s... [Body clipped after %d chars, total length is %d]", s[:i], maxChars, utf8.RuneCountInString(s))
		}
		chars++
	}
	return s
}

// secretKey matches the names of likely secrets, as Camel's
// DefaultMaskingFormatter's keywords do.
const secretKey = `(?:passphrase|password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)`

// mask is a pattern of secrets and what its matches become.
type mask struct {
	re   *regexp.Regexp
	with string
}

// masks are applied in order: JSON members ("password": "x"), then
// key=value and key: value pairs (password=x, Token: x). Values become
// xxxxx, as in Camel. They are compiled when a sink first masks, not when
// the program starts: every rayvens process links this package, and most
// never mask.
var masks = sync.OnceValue(func() []mask {
	return []mask{
		{regexp.MustCompile(`(?i)("[^"]*` + secretKey + `[^"]*"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^\s,}\]]+)`), `${1}"xxxxx"`},
		{regexp.MustCompile(`(?i)(\b[\w.-]*` + secretKey + `[\w.-]*\s*[=:]\s*)(?:"[^"]*"|'[^']*'|[^\s,;&'"}\])]+)`), `${1}xxxxx`},
	}
})

// maskSecrets replaces the values of likely secrets in s with xxxxx.
func maskSecrets(s string) string {
	for _, m := range masks() {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

package wire

import (
	"io"
	"log/slog"
)

// Plugin log lines travel on the plugin's stderr as JSON objects, one per
// line, with the keys below (the ones go-plugin understands too); every
// other key is an attribute. The host parses them, filters by level and
// prints them prefixed with the plugin and instance names.
const (
	LogLevelKey    = "@level"   // "debug", "info", "warn" or "error"
	LogMessageKey  = "@message" // the message
	LogInstanceKey = "instance" // the connector instance, when there is one
	LogKindKey     = "kind"     // the connector kind, when there is one
	LogOutputKey   = "@output"  // true: the line is a connector's output (a log-sink's), shown at any level but off
	logTimeKey     = "@timestamp"
)

// NewLogHandler returns the slog handler a plugin logs with.
func NewLogHandler(w io.Writer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.Attr{} // the host stamps lines itself
			case slog.LevelKey:
				return slog.String(LogLevelKey, levelName(a.Value.Any().(slog.Level)))
			case slog.MessageKey:
				return slog.String(LogMessageKey, a.Value.String())
			}
			return a
		},
	})
}

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}

package sdk

import (
	"log/slog"

	"github.com/rayvens/rayvens/plugins/internal/wire"
)

// OutputLogger returns a logger whose lines are the connector's output
// rather than diagnostics, as a log sink's are: the host shows them
// whatever its log level, unless logging is off.
func OutputLogger(log *slog.Logger) *slog.Logger { return log.With(wire.LogOutputKey, true) }

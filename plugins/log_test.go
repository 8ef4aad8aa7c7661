package plugins

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/internal/lines"
	"github.com/rayvens/rayvens/plugins/internal/wire"
)

// TestPluginLogLevels checks how plugin log lines are shown: diagnostics
// at the host's level and above; a connector's output (wire.LogOutputKey)
// at any level but off.
func TestPluginLogLevels(t *testing.T) {
	for _, tt := range []struct {
		level Level
		want  string
	}{
		{LevelDebug, "rayvens: [rayvens out-log-sink] debug: a debug diagnostic\n" +
			"rayvens: [rayvens out-log-sink] info: log-sink: Exchange[Body: hello]\n" +
			"rayvens: [rayvens out-log-sink] warn: a warning n=1\n"},
		{LevelWarn, "rayvens: [rayvens out-log-sink] info: log-sink: Exchange[Body: hello]\n" +
			"rayvens: [rayvens out-log-sink] warn: a warning n=1\n"},
		{LevelError, "rayvens: [rayvens out-log-sink] info: log-sink: Exchange[Body: hello]\n"},
		{LevelOff, ""},
	} {
		t.Run(tt.level.String(), func(t *testing.T) {
			var out strings.Builder
			pl := &pluginLog{l: &logger{out: lines.New(&out), level: tt.level}, plugin: "rayvens"}
			// Lines as the SDK writes them, through its handler.
			log := slog.New(wire.NewLogHandler(pl)).With(wire.LogKindKey, "log-sink", wire.LogInstanceKey, "out-log-sink")
			log.Debug("a debug diagnostic")
			log.Info("log-sink: Exchange[Body: hello]", wire.LogOutputKey, true)
			log.Warn("a warning", "n", 1)
			require.Equal(t, tt.want, out.String())
		})
	}
}

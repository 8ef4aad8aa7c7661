// Package connectors is the built-in plugin: the connectors the rayvens
// binary serves itself, when it re-executes itself as a plugin. Each
// connector has its own folder here, with its code, its test and a README
// listing its parameters; adding one is one line in Plugin.
package connectors

import (
	"github.com/rayvens/rayvens/plugins/connectors/file"
	"github.com/rayvens/rayvens/plugins/connectors/filewatch"
	"github.com/rayvens/rayvens/plugins/connectors/httpsink"
	"github.com/rayvens/rayvens/plugins/connectors/httpsource"
	"github.com/rayvens/rayvens/plugins/connectors/log"
	"github.com/rayvens/rayvens/plugins/connectors/slack"
	"github.com/rayvens/rayvens/plugins/connectors/timer"
	"github.com/rayvens/rayvens/plugins/connectors/webhook"
	"github.com/rayvens/rayvens/plugins/sdk"
)

// Plugin returns the built-in plugin, "rayvens", at the given version.
func Plugin(version string) sdk.Plugin {
	return sdk.Plugin{
		Name:    "rayvens",
		Version: version,
		Sources: []sdk.SourceKind{
			timer.Kind,
			httpsource.Kind,
			webhook.Kind,
			file.SourceKind,
			file.RawSourceKind,
			filewatch.Kind,
		},
		Sinks: []sdk.SinkKind{
			log.Kind,
			httpsink.Kind,
			slack.Kind,
			file.SinkKind,
		},
	}
}

// Package connectors is the built-in plugin: the connectors the rayvens
// binary serves itself, when it re-executes itself as a plugin. Each
// connector is one folder here holding its declaration (name, description,
// events, parameters) next to its code, its tests (on plugins/sdk/sdktest),
// a README whose parameter table is generated from the declaration, and an
// example.star. Adding a connector is a new folder and one line in Plugin;
// `go generate ./plugins/connectors` then updates its README and
// docs/connectors.md. Tests keep each folder whole: TestConnectorFolders
// (its kinds are in Plugin, it has a README with their tables and an
// example), TestReadmes and TestConnectorsDoc (nothing generated is
// stale), and the root's connectors_examples_e2e_test.go (each example
// passes `rayvens check`).
package connectors

import (
	"sync"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/connectors/binance"
	"github.com/rayvens/rayvens/plugins/connectors/cron"
	"github.com/rayvens/rayvens/plugins/connectors/file"
	"github.com/rayvens/rayvens/plugins/connectors/filewatch"
	"github.com/rayvens/rayvens/plugins/connectors/generic"
	"github.com/rayvens/rayvens/plugins/connectors/httpsink"
	"github.com/rayvens/rayvens/plugins/connectors/httpsource"
	"github.com/rayvens/rayvens/plugins/connectors/kafka"
	"github.com/rayvens/rayvens/plugins/connectors/log"
	"github.com/rayvens/rayvens/plugins/connectors/mqtt"
	"github.com/rayvens/rayvens/plugins/connectors/nats"
	"github.com/rayvens/rayvens/plugins/connectors/postgresql"
	"github.com/rayvens/rayvens/plugins/connectors/redis"
	"github.com/rayvens/rayvens/plugins/connectors/s3"
	"github.com/rayvens/rayvens/plugins/connectors/slack"
	"github.com/rayvens/rayvens/plugins/connectors/telegram"
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
			cron.Kind,
			generic.SourceKind,
			generic.PeriodicSourceKind,
			telegram.SourceKind,
			binance.Kind,
			s3.SourceKind, s3.COSSourceKind,
			redis.SourceKind,
			postgresql.SourceKind,
			mqtt.SourceKind,
			nats.SourceKind,
			kafka.SourceKind,
		},
		Sinks: []sdk.SinkKind{
			log.Kind,
			httpsink.Kind,
			slack.Kind,
			file.SinkKind,
			generic.SinkKind,
			telegram.SinkKind,
			s3.SinkKind, s3.COSSinkKind,
			redis.SinkKind,
			postgresql.SinkKind,
			mqtt.SinkKind,
			nats.SinkKind,
			kafka.SinkKind,
		},
	}
}

// Catalog returns the catalog of the built-in kinds, assembled from their
// declarations. It starts nothing: `rayvens check` validates configs
// against it without a plugin host.
func Catalog() *camel.Catalog { return catalog() }

var catalog = sync.OnceValue(func() *camel.Catalog {
	c, err := camel.NewCatalog(Plugin("").Kinds()...)
	if err != nil {
		panic("plugins/connectors: " + err.Error()) // a broken declaration; TestCatalog fails first
	}
	return c
})

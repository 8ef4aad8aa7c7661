package plugins

import (
	"context"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// ScriptConnectors is the host as scripts see it: what builtins.Connectors
// declares (check a config, open a source as an [engine.Source], open a
// sink as an [engine.Sink]), plus Failed and Err for a plugin that fails
// for good. Pass it as starlark.Options.Connectors; the caller still owns
// and closes the host.
type ScriptConnectors struct{ Host *Host }

// Check validates config for a kind of the given direction.
func (c ScriptConnectors) Check(ctx context.Context, kind string, dir camel.Direction, config map[string]any) error {
	return c.Host.Check(ctx, kind, dir, config)
}

// OpenSource opens a source instance; its events are [Event] values.
func (c ScriptConnectors) OpenSource(ctx context.Context, kind, name string, config map[string]any) (engine.Source, error) {
	src, err := c.Host.OpenSource(ctx, kind, name, config)
	if err != nil {
		return nil, err // not a nil *Source in an interface
	}
	return src, nil
}

// OpenSink opens a sink instance whose events are encoded with encode.
func (c ScriptConnectors) OpenSink(ctx context.Context, kind, name string, config map[string]any, encode camel.Encoder) (engine.Sink, error) {
	sink, err := c.Host.OpenSink(ctx, kind, name, config, encode)
	if err != nil {
		return nil, err
	}
	return sink, nil
}

// Kind is the host's [Host.Kind]: the graph of a run (builtins.Describer)
// takes from it which parameters are secret.
func (c ScriptConnectors) Kind(ctx context.Context, name string) (camel.Kind, error) {
	return c.Host.Kind(ctx, name)
}

// Failed is the host's [Host.Failed].
func (c ScriptConnectors) Failed() <-chan struct{} { return c.Host.Failed() }

// Err is the host's [Host.Err].
func (c ScriptConnectors) Err() error { return c.Host.Err() }

// Command embed is a complete Go program that embeds a Rayvens script: it
// feeds the script sensor readings from Go, consumes in Go the alerts the
// script derives from them, and lets the script send those alerts to a
// built-in connector, which the program serves itself.
//
//	go run ./examples/embed
package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/signal"

	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins"
	"github.com/rayvens/rayvens/plugins/connectors"
	rayvens "github.com/rayvens/rayvens/starlark"
)

//go:embed pipeline.star
var pipeline string

func main() {
	// Started by the plugin host for the built-in connectors, this program
	// serves them and exits here; otherwise this returns at once.
	connectors.ServeIfPlugin()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	// Ctrl-C stops the run gracefully: what was accepted is still
	// delivered, within rayvens.DefaultDrainTimeout.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The connectors scripts may use: the built-in ones, served by this
	// very program (see main).
	host, err := plugins.NewHost(plugins.Options{
		Builtin:        connectors.Plugin("embed"),
		BuiltinCommand: connectors.Command(),
	})
	if err != nil {
		return err
	}
	defer host.Close()

	script, err := rayvens.New(rayvens.Options{Connectors: plugins.ScriptConnectors{Host: host}})
	if err != nil {
		return err
	}
	// A stream the Go program feeds, visible to the script as `readings`.
	readings, err := script.Engine().NewStream("readings", engine.StreamConfig{})
	if err != nil {
		return err
	}
	// A stream the script feeds, visible to it as `alerts`. Go subscribes
	// to it before Start, so it would see even what the script's top level
	// appends.
	alerts, err := script.Engine().NewStream("alerts", engine.StreamConfig{})
	if err != nil {
		return err
	}
	_, err = alerts.Subscribe("printer", engine.Func("printer",
		func(_ context.Context, ev engine.Event) (engine.Event, error) {
			fmt.Println("ALERT:", rayvens.GoValue(ev)) // events are Starlark values; GoValue makes them Go
			return nil, nil
		}))
	if err != nil {
		return err
	}
	for name, s := range map[string]*engine.Stream{"readings": readings, "alerts": alerts} {
		if err := script.Define(name, s); err != nil {
			return err
		}
	}
	if err := script.Start(ctx, "pipeline.star", pipeline); err != nil {
		return err
	}

	// Feed readings from Go; Append blocks if the script falls behind, and
	// refuses at once a Go value a script cannot see.
	for _, r := range []struct {
		sensor  string
		celsius float64
	}{{"kitchen", 21.5}, {"attic", 29.0}, {"attic", 31.5}, {"kitchen", 22.0}, {"attic", 33.0}, {"attic", 28.0}, {"attic", 30.5}} {
		if err := readings.Append(ctx, map[string]any{"sensor": r.sensor, "celsius": r.celsius}); err != nil {
			return err
		}
	}
	// Runs until every reading has gone through the pipeline.
	return script.Wait()
}

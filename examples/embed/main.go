// Command embed is a complete Go program that embeds a Rayvens script: it
// creates a stream the script subscribes to, feeds it sensor readings from
// Go, and consumes in Go the alerts the script derives from them.
//
//	go run ./examples/embed
package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/builtins"
	"github.com/rayvens/rayvens/engine"
	rayvens "github.com/rayvens/rayvens/starlark"
)

//go:embed pipeline.star
var pipeline string

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	script, err := rayvens.New(rayvens.Options{})
	if err != nil {
		return err
	}
	// A stream of the Go program, visible to the script as `readings`.
	readings, err := script.Engine().NewStream("readings", engine.StreamConfig{})
	if err != nil {
		return err
	}
	if err := script.Define("readings", readings); err != nil {
		return err
	}
	if err := script.Start(ctx, "pipeline.star", pipeline); err != nil {
		return err
	}

	// Consume the script's alerts in Go.
	_, err = script.Stream("alerts").Subscribe("printer", engine.Func("printer",
		func(_ context.Context, ev engine.Event) (engine.Event, error) {
			fmt.Println("ALERT:", builtins.FromStarlark(ev.(starlark.Value)))
			return nil, nil
		}))
	if err != nil {
		return err
	}

	// Feed readings from Go; Append blocks if the script falls behind.
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

// Command flakyplugin serves flaky-sink, a sink for the host's tests that
// fails every write while a control file exists (an endpoint that is down)
// and otherwise appends each event's body as a line to a file.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/rayvens/rayvens/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:    "flaky",
		Version: "v0.0.0",
		Sinks: []sdk.SinkKind{{
			Name:        "flaky-sink",
			Description: "Appends each event's body as a line to path, except while the file down exists: then every write fails.",
			Params: []sdk.Param{
				{Name: "path", Type: sdk.String, Required: true},
				{Name: "down", Type: sdk.String, Required: true},
			},
			New: func(cfg sdk.Config, _ *slog.Logger) (sdk.Sink, error) {
				return &flaky{path: cfg.String("path"), down: cfg.String("down")}, nil
			},
		}},
	})
}

type flaky struct{ path, down string }

func (f *flaky) Write(_ context.Context, batch []sdk.Event) error {
	if _, err := os.Stat(f.down); err == nil {
		return errors.New("the endpoint is down")
	}
	var buf []byte
	for _, ev := range batch {
		buf = append(append(buf, ev.Body...), '\n')
	}
	file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := file.Write(buf); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

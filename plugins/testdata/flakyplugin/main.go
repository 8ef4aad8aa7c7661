// Command flakyplugin is a plugin for the host's tests. It serves
// flaky-sink, a sink that appends each event's body as a line to a file,
// one event at a time, and fails as an endpoint does:
//   - every write fails while a control file exists (an endpoint that is
//     down);
//   - after writing an event whose body starts with "outage", it fails the
//     next two writes of an event (an endpoint down for a moment);
//   - an event whose body starts with "reject" is refused for good.
//
// A failure names the event it is about (sdk.Partial): the ones before it
// in the batch were written. The plugin also serves real connectors,
// timer-source, file-source-raw, slack-sink and file-sink, so that the
// tests can run them through the host in a process they can kill.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/rayvens/rayvens/plugins/connectors/file"
	"github.com/rayvens/rayvens/plugins/connectors/slack"
	"github.com/rayvens/rayvens/plugins/connectors/timer"
	"github.com/rayvens/rayvens/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:    "flaky",
		Version: "v0.0.0",
		Sources: []sdk.SourceKind{timer.Kind, file.RawSourceKind},
		Sinks: []sdk.SinkKind{{
			Name:        "flaky-sink",
			Description: "Appends each event's body as a line to path, except while the file down exists, for two events after an \"outage...\" one, and for \"reject...\" events.",
			Params: []sdk.Param{
				{Name: "path", Type: sdk.String, Required: true},
				{Name: "down", Type: sdk.String, Required: true},
			},
			New: func(cfg sdk.Config, _ *slog.Logger) (sdk.Sink, error) {
				return &flaky{path: cfg.String("path"), down: cfg.String("down")}, nil
			},
		}, slack.Kind, file.SinkKind},
	})
}

type flaky struct {
	path, down string
	outage     int // events still to fail after an "outage" one
}

func (f *flaky) Write(_ context.Context, batch []sdk.Event) error {
	file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer file.Close()
	for i, ev := range batch {
		body := string(ev.Body)
		if _, err := os.Stat(f.down); err == nil {
			return sdk.Partial(i, errors.New("the endpoint is down"))
		}
		if f.outage > 0 {
			f.outage--
			return sdk.Partial(i, errors.New("the endpoint is down for a moment"))
		}
		if strings.HasPrefix(body, "reject") {
			return sdk.Partial(i, sdk.Permanent(fmt.Errorf("refused %s (event %d of %d in its batch)", body, i+1, len(batch))))
		}
		if _, err := file.Write(append(ev.Body, '\n')); err != nil {
			return sdk.Partial(i, err)
		}
		if strings.HasPrefix(body, "outage") {
			f.outage = 2
		}
	}
	return nil
}

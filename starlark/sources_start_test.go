package starlark_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/camel"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// TestSourcesStartAfterTheTopLevelDeclares: a source attached before the
// stream's subscribers (Rayvens' own order: Stream(name, source_config=...)
// then s >> f) holds its events until the top level has declared the
// rest, so none reaches nobody and is acknowledged as done unseen. The
// script waits, while it still declares, for the source to emit
// everything; with the source started at once it would, and the sink
// added afterwards would miss those events.
func TestSourcesStartAfterTheTopLevelDeclares(t *testing.T) {
	const n = 200
	events := make([]camel.Event, n)
	for i := range events {
		events[i] = camel.Event{Body: []byte(fmt.Sprint(i)), ContentType: "text/plain"}
	}
	conns := &headerConnectors{events: events}
	emitted := make(chan struct{})
	conns.emitted = emitted
	// Not a timing margin of the assertion: the source must not emit here,
	// and this bounds how long the script gives it to.
	waitEmitted := starlark.NewBuiltin("wait_emitted", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		select {
		case <-emitted:
			return starlark.True, nil
		case <-time.After(300 * time.Millisecond):
			return starlark.False, nil
		}
	})
	var stdout syncBuffer
	err := rstarlark.Run(context.Background(), "order.star", `
s = Stream("in", source_config=dict(kind="h-source"))
print("emitted before the sink:", wait_emitted())
s.add_sink(dict(kind="h-sink"))
`, rstarlark.Options{Stdout: &stdout, Stderr: &stdout, Connectors: conns, DrainTimeout: 10 * time.Second,
		Predeclared: starlark.StringDict{"wait_emitted": waitEmitted}})
	require.NoError(t, err, stdout.String())
	require.Contains(t, stdout.String(), "emitted before the sink: False")
	conns.mu.Lock()
	defer conns.mu.Unlock()
	require.Equal(t, events, conns.sent, "the sink declared after the source got every event")
	require.Len(t, conns.acks, n)

	// A source attached while the top level waits starts at once: the
	// top level waits for its events.
	late := &headerConnectors{events: events[:3]}
	var lateOut syncBuffer
	err = rstarlark.Run(context.Background(), "late.star", `
s = Stream("in")
s.add_sink(dict(kind="h-sink"))
sleep(0)
s.add_source(dict(kind="h-source"))
s.disconnect_all(after_idle_for=0.05)
print("sent", s.event_count())
`, rstarlark.Options{Stdout: &lateOut, Stderr: &lateOut, Connectors: late, DrainTimeout: 10 * time.Second})
	require.NoError(t, err, lateOut.String())
	require.Contains(t, lateOut.String(), "sent 3\n")
}

package starlark_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// failingConnectors opens nothing and fails for good when fail is closed,
// as a plugin host does when a plugin crashed too often.
type failingConnectors struct{ fail chan struct{} }

func (failingConnectors) Check(context.Context, string, camel.Direction, map[string]any) error {
	return nil
}

func (failingConnectors) OpenSource(context.Context, string, string, map[string]any) (engine.Source, error) {
	return nil, errors.New("no sources here")
}

func (failingConnectors) OpenSink(context.Context, string, string, map[string]any, camel.Encoder) (engine.Sink, error) {
	return nil, errors.New("no sinks here")
}

func (c failingConnectors) Failed() <-chan struct{} { return c.fail }
func (failingConnectors) Err() error {
	return errors.New("plugin dice: crashed 6 times in a minute; giving up")
}

// TestFatalSaysWhereTheTopLevelStopped: connectors that fail for good stop
// the run, and the error says where the top level was, so nobody takes the
// statements after it for run.
func TestFatalSaysWhereTheTopLevelStopped(t *testing.T) {
	conns := failingConnectors{fail: make(chan struct{})}
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- rstarlark.Run(context.Background(), "producer.star", `
s = Stream("s")
s >> (lambda e: None)
print("started")
i = 0
while True:
    s << i
    i += 1
    sleep(0.001)
print("never")
s << "never"
`, rstarlark.Options{Stdout: &stdout, Connectors: conns})
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "started") }, 10*time.Second, time.Millisecond)
	close(conns.fail)
	select {
	case err := <-done:
		require.ErrorContains(t, err, "plugin dice: crashed 6 times in a minute; giving up")
		require.Regexp(t, `the top level was stopped at producer\.star:(7|8|9):\d+, in the statement of line 6, and the 2 top-level statements after it did not run$`, err.Error())
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop")
	}
}

package starlark_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// TestCallbackStepBudget stops a runaway callback with a clear error; the
// run goes on and reports the failure.
func TestCallbackStepBudget(t *testing.T) {
	var stderr, stdout bytes.Buffer
	err := rstarlark.Run(context.Background(), "spin.star", `
def spin(e):
    while True:
        pass

s = Stream("s")
s >> spin
s >> (lambda e: print("still delivered", e))
s << 1
`, rstarlark.Options{Stdout: &stdout, Stderr: &stderr, MaxCallbackSteps: 100_000})
	var failures *rstarlark.FailuresError
	require.ErrorAs(t, err, &failures)
	require.Equal(t, uint64(1), failures.N)
	require.Contains(t, stderr.String(), `spin.star:2:1: stream "s": subscriber "spin": Starlark computation cancelled: spin ran past its budget of 100000 steps (a runaway loop?)`)
	require.Equal(t, "still delivered 1\n", stdout.String())
}

// TestTopLevelStepBudget stops a runaway top level.
func TestTopLevelStepBudget(t *testing.T) {
	err := rstarlark.Run(context.Background(), "loop.star", "while True:\n    pass\n",
		rstarlark.Options{MaxSteps: 1000})
	var e *rstarlark.Error
	require.ErrorAs(t, err, &e)
	require.Contains(t, e.Msg, "too many steps")
}

// TestCancel stops a running script from Go: a graceful stop, not an error.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- rstarlark.Run(ctx, "forever.star", `
s = Stream("s")
s >> print
i = 0
while True:
    s << i
    i += 1
    sleep(0.001)
`, rstarlark.Options{Stdout: &stdout})
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "\n3\n") }, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the script did not stop")
	}
}

// TestGoValuesReachScripts checks the conversions of events appended from Go.
func TestGoValuesReachScripts(t *testing.T) {
	var stdout bytes.Buffer
	s, err := rstarlark.New(rstarlark.Options{Stdout: &stdout})
	require.NoError(t, err)
	in, err := s.Engine().NewStream("in", engineConfig())
	require.NoError(t, err)
	require.NoError(t, s.Define("inbox", in))
	require.NoError(t, s.Start(context.Background(), "types.star", `inbox >> (lambda e: print(type(e), e))`))
	ctx := context.Background()
	for _, v := range []any{"text", 42, 2.5, true, []byte("raw"), []any{1, "two"}, map[string]any{"k": []any{}}} {
		require.NoError(t, in.Append(ctx, v))
	}
	require.NoError(t, in.Append(ctx, struct{}{}))
	err = s.Wait()
	require.Error(t, err, "an unconvertible Go value is a reported failure")
	require.Equal(t, `string text
int 42
float 2.5
bool True
bytes raw
list [1, "two"]
dict {"k": []}
`, stdout.String())
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func engineConfig() engine.StreamConfig { return engine.StreamConfig{} }

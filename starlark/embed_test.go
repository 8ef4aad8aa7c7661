package starlark_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

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
	require.ErrorIs(t, err, rstarlark.ErrMaxSteps)
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

// TestGoValuesReachScripts checks the conversions of events appended from
// Go, slices and maps of every supported element type included, and that
// an unsupported value is refused by Append itself, with its Go type.
func TestGoValuesReachScripts(t *testing.T) {
	var stdout bytes.Buffer
	s, err := rstarlark.New(rstarlark.Options{Stdout: &stdout})
	require.NoError(t, err)
	in, err := s.Engine().NewStream("in", engineConfig())
	require.NoError(t, err)
	require.NoError(t, s.Define("inbox", in))
	require.NoError(t, s.Start(context.Background(), "types.star", `inbox >> (lambda e: print(type(e), e))`))
	ctx := context.Background()
	type celsius float64
	when := time.Date(2026, 3, 1, 12, 30, 0, 500, time.UTC)
	for _, v := range []any{
		"text", 42, 2.5, true, []byte("raw"), []any{1, "two"}, map[string]any{"k": []any{}},
		[]string{"a", "b"}, []int{1, 2}, []float64{0.5}, map[string]string{"b": "2", "a": "1"},
		map[string]int{"n": 1}, []map[string]any{{"id": 1, "tags": []string{"x"}}},
		uint8(7), celsius(21.5), [2]bool{true, false}, when, map[string]any{"nil": nil},
	} {
		require.NoError(t, in.Append(ctx, v), "%T", v)
	}
	for _, tt := range []struct {
		v    any
		want string
	}{
		{struct{ X int }{1}, "a Go struct { X int } cannot be an event for a script (use "},
		{&struct{}{}, "a Go *struct {} cannot be an event for a script"},
		{[]struct{}{{}}, "a Go []struct {} cannot be an event for a script: [0] is a struct {} (use "},
		{map[string]any{"c": make(chan int)}, `a Go map[string]interface {} cannot be an event for a script: ["c"] is a chan int (use `},
		{map[int]string{1: "x"}, "a Go map[int]string cannot be an event for a script: its keys are not strings"},
		{[]any{map[int]bool{}}, "a Go []interface {} cannot be an event for a script: [0] is a map[int]bool, whose keys are not strings"},
	} {
		err := in.Append(ctx, tt.v)
		require.ErrorContains(t, err, `stream "in": `+tt.want, "%T is refused at Append", tt.v)
		ok, err := in.TryAppend(tt.v)
		require.False(t, ok)
		require.ErrorContains(t, err, tt.want)
	}
	require.NoError(t, s.Wait(), "refused values are not failures of the run")
	require.Equal(t, `string text
int 42
float 2.5
bool True
bytes raw
list [1, "two"]
dict {"k": []}
list ["a", "b"]
list [1, 2]
list [0.5]
dict {"a": "1", "b": "2"}
dict {"n": 1}
list [{"id": 1, "tags": ["x"]}]
int 7
float 21.5
list [True, False]
string 2026-03-01T12:30:00.0000005Z
dict {"nil": None}
`, stdout.String())
}

// TestOneRepresentation checks that Go code sees the same events as the
// script on a stream the script can see, whoever appended them: frozen
// Starlark values, which GoValue turns into plain Go.
func TestOneRepresentation(t *testing.T) {
	s, err := rstarlark.New(rstarlark.Options{Stdout: io.Discard})
	require.NoError(t, err)
	given, err := s.Engine().NewStream("given", engineConfig())
	require.NoError(t, err)
	require.NoError(t, s.Define("given", given))
	ctx := context.Background()
	require.NoError(t, s.Start(ctx, "both.star", `
made = Stream("made")
given >> made
`))
	made := s.Stream("made")
	var mu sync.Mutex
	var seen []any
	_, err = made.Subscribe("go", engine.Func("go", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		if _, ok := ev.(starlark.Value); !ok {
			return nil, fmt.Errorf("a %T on a script's stream", ev)
		}
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, rstarlark.GoValue(ev))
		return nil, nil
	}))
	require.NoError(t, err)
	require.NoError(t, made.Append(ctx, "from Go, on the script's stream"))
	require.NoError(t, given.Append(ctx, map[string]int{"via": 1}))
	mutable := starlark.NewList([]starlark.Value{starlark.MakeInt(1)})
	require.NoError(t, made.Append(ctx, mutable))
	require.NoError(t, s.Wait(), "no subscriber saw anything but a starlark.Value")
	require.ErrorContains(t, mutable.Append(starlark.None), "frozen", "a Starlark value appended from Go is frozen")
	require.ElementsMatch(t, []any{"from Go, on the script's stream", map[string]any{"via": int64(1)}, []any{int64(1)}}, seen)
}

// TestGoValue checks the helper on batches and on values that are not
// Starlark's.
func TestGoValue(t *testing.T) {
	require.Equal(t, []any{"a", int64(2)}, rstarlark.GoValue([]engine.Event{starlark.String("a"), starlark.MakeInt(2)}))
	require.Equal(t, map[string]any{"k": nil}, rstarlark.GoValue(mustDict(t, "k", starlark.None)))
	require.Equal(t, 7, rstarlark.GoValue(7), "a Go value is returned as it is")
}

func mustDict(t *testing.T, k string, v starlark.Value) *starlark.Dict {
	d := starlark.NewDict(1)
	require.NoError(t, d.SetKey(starlark.String(k), v))
	return d
}

// TestTopLevelEventsReachGo checks the documented way for Go code to see
// what a script's top level appends: a stream made in Go, subscribed to
// and defined before Start. A stream the script makes is found after
// Start, too late for those events.
func TestTopLevelEventsReachGo(t *testing.T) {
	s, err := rstarlark.New(rstarlark.Options{Stdout: io.Discard})
	require.NoError(t, err)
	ctx := context.Background()
	alerts, err := s.Engine().NewStream("alerts", engineConfig())
	require.NoError(t, err)
	var got collected
	_, err = alerts.Subscribe("go", engine.Func("go", got.add))
	require.NoError(t, err)
	require.NoError(t, s.Define("alerts", alerts))
	require.NoError(t, s.Start(ctx, "early.star", `
alerts << "first" << "second"
late = Stream("late")
late << "gone before Go can subscribe"
`))
	var missed collected
	_, err = s.Stream("late").Subscribe("go", engine.Func("go", missed.add))
	require.NoError(t, err)
	require.NoError(t, s.Wait())
	require.Equal(t, []any{"first", "second"}, got.values())
	require.Empty(t, missed.values())
}

type collected struct {
	mu  sync.Mutex
	evs []any
}

func (c *collected) add(_ context.Context, ev engine.Event) (engine.Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evs = append(c.evs, rstarlark.GoValue(ev))
	return nil, nil
}

func (c *collected) values() []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.evs
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

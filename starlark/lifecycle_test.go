package starlark_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/engine"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// TestLifecycleErrors checks that the steps of a Script called out of order
// fail with sentinels.
func TestLifecycleErrors(t *testing.T) {
	ctx := context.Background()
	s, err := rstarlark.New(rstarlark.Options{Stdout: io.Discard})
	require.NoError(t, err)
	require.ErrorIs(t, s.Wait(), rstarlark.ErrNotStarted)
	require.NoError(t, s.Start(ctx, "ok.star", "x = 1"))
	require.ErrorIs(t, s.Start(ctx, "ok.star", "x = 1"), rstarlark.ErrStarted)
	err = s.Define("late", starlark.None)
	require.ErrorIs(t, err, rstarlark.ErrStarted)
	require.EqualError(t, err, `define "late": the script has already started`)
	require.NoError(t, s.Wait())
	require.ErrorIs(t, s.Wait(), rstarlark.ErrFinished)

	failed, err := rstarlark.New(rstarlark.Options{Stdout: io.Discard})
	require.NoError(t, err)
	require.Error(t, failed.Start(ctx, "bad.star", "1 // 0"))
	require.ErrorIs(t, failed.Wait(), rstarlark.ErrFinished, "Start failed and shut the run down")
}

// TestMaxStepsIsTyped checks that a top level past its budget is
// ErrMaxSteps, and that another error that only says the same words is not.
func TestMaxStepsIsTyped(t *testing.T) {
	err := rstarlark.Run(context.Background(), "loop.star", "while True:\n    pass\n", rstarlark.Options{MaxSteps: 1000})
	require.ErrorIs(t, err, rstarlark.ErrMaxSteps)
	err = rstarlark.Run(context.Background(), "words.star", `fail("too many steps")`, rstarlark.Options{MaxSteps: 1000})
	require.Error(t, err)
	require.NotErrorIs(t, err, rstarlark.ErrMaxSteps)
}

// TestDrainTimeout stops a run whose subscriber would need 1027 × 0.1 s to
// drain: the run is killed after DrainTimeout, and the error counts what was
// abandoned. Unbounded, Wait would take 100 s; it must return long before.
func TestDrainTimeout(t *testing.T) {
	var stderr syncBuffer
	s, err := rstarlark.New(rstarlark.Options{Stdout: io.Discard, Stderr: &stderr, DrainTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, s.Start(ctx, "slow.star", `
def slow(e):
    sleep(0.1)

s = Stream("s", capacity=2000)
s >> slow
for i in range(1027):
    s << i
`))
	cancel()
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return: the drain is not bounded")
	}
	require.ErrorIs(t, err, rstarlark.ErrDrainTimeout)
	var lost *engine.UndeliveredError
	require.ErrorAs(t, err, &lost)
	// Callbacks cancelled by the kill fail fast, so a few more events may
	// end as failures before the engine stops; the rest are counted.
	require.Positive(t, lost.N)
	require.LessOrEqual(t, lost.N, int64(1027))
	require.Regexp(t, `^the run was stopped and did not drain within 200ms: shutdown interrupted with \d+ events not delivered$`, err.Error())
}

// TestNoDrainTimeout checks that a negative DrainTimeout keeps the drain
// unbounded: a stopped run still delivers everything it accepted.
func TestNoDrainTimeout(t *testing.T) {
	var stdout syncBuffer
	s, err := rstarlark.New(rstarlark.Options{Stdout: &stdout, DrainTimeout: -1})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, s.Start(ctx, "slow.star", `
def slow(e):
    sleep(0.01)
    print(e)

s = Stream("s")
s >> slow
for i in range(30):
    s << i
`))
	cancel()
	require.NoError(t, s.Wait())
	require.Contains(t, stdout.String(), "\n29\n")
}

// TestCheckContext checks that Check stops with its context's error when
// the context ends first.
func TestCheckContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := rstarlark.Check(ctx, "loop.star", "while True:\n    pass\n", rstarlark.Options{})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, errors.Is(err, rstarlark.ErrMaxSteps))
}

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// upperOnly is an Accept function: strings are taken in upper case, nil
// results drop "skip", other types are refused.
func upperOnly(ev engine.Event) (engine.Event, error) {
	s, ok := ev.(string)
	if !ok {
		return nil, fmt.Errorf("a %T is not a string", ev)
	}
	if s == "skip" {
		return nil, nil
	}
	return strings.ToUpper(s), nil
}

// TestAcceptConverts checks that every way into a stream goes through its
// Accept function: Append, TryAppend, a source and a Forward.
func TestAcceptConverts(t *testing.T) {
	e, log := newEngine(t)
	s := newStream(t, e, "in", engine.StreamConfig{Accept: upperOnly})
	var got collector
	subscribe(t, s, "c", got.sub("c"))

	ctx := testContext(t)
	require.NoError(t, s.Append(ctx, "a"))
	ok, err := s.TryAppend("b")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.Append(ctx, "skip"), "a nil result drops the event")
	_, err = s.AddSource("src", engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		return emit(ctx, "c")
	}))
	require.NoError(t, err)
	wait(t, e)
	from := newStream(t, e, "from", engine.StreamConfig{})
	subscribe(t, from, "", engine.Forward(s))
	appendAll(t, from, "d")
	wait(t, e)

	require.Equal(t, []engine.Event{"A", "B", "C", "D"}, got.events())
	require.Equal(t, uint64(4), s.Stats().Appended, "a dropped event is not counted")
	require.Empty(t, log.all())
}

// TestAcceptRefuses checks that a refused event is an error of Append
// itself, naming the stream, and reaches no subscriber.
func TestAcceptRefuses(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "in", engine.StreamConfig{Accept: upperOnly})
	var got collector
	subscribe(t, s, "c", got.sub("c"))

	err := s.Append(testContext(t), 42)
	require.EqualError(t, err, `stream "in": a int is not a string`)
	ok, err := s.TryAppend(42)
	require.False(t, ok)
	require.Error(t, err)
	require.NoError(t, s.Append(testContext(t), nil), "nil is ignored before Accept")
	wait(t, e)
	require.Empty(t, got.events())
	require.Zero(t, s.Stats().Appended)
}

// TestSetAccept checks that Accept can be set on a stream made without one,
// and removed again.
func TestSetAccept(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "in", engine.StreamConfig{})
	var got collector
	subscribe(t, s, "c", got.sub("c"))

	appendAll(t, s, "before")
	s.SetAccept(upperOnly)
	appendAll(t, s, "during")
	sentinel := errors.New("refused")
	s.SetAccept(func(engine.Event) (engine.Event, error) { return nil, sentinel })
	require.ErrorIs(t, s.Append(testContext(t), "x"), sentinel, "the refusal is wrapped")
	s.SetAccept(nil)
	appendAll(t, s, "after")
	wait(t, e)
	require.Equal(t, []engine.Event{"before", "DURING", "after"}, got.events())
}

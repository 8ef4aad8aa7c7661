package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// TestDeadLetters: the events a subscriber, an operator or a sink of a
// stream fails on go to its dead-letter stream as records naming the
// stream, the subscriber, the error and the event; they count as handled
// (no failure reported, the receipt is done), and the other subscribers
// still get every event.
func TestDeadLetters(t *testing.T) {
	e, log := newEngine(t)
	dl := newStream(t, e, "dl", engine.StreamConfig{})
	letters := &collector{}
	subscribe(t, dl, "letters", letters.sub("letters"))
	s := newStream(t, e, "s", engine.StreamConfig{DeadLetter: dl})
	s.AddOperator("no-7", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		if ev == 7 {
			return nil, errors.New("seven is refused")
		}
		return ev, nil
	})
	subscribe(t, s, "odd", engine.Func("odd", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		if ev.(int)%2 == 1 {
			return nil, fmt.Errorf("%d is odd", ev)
		}
		return nil, nil
	}))
	all := &collector{}
	subscribe(t, s, "all", all.sub("all"))
	k := &sink{got: make(chan engine.Event, 10)}
	subscribe(t, s, "k", engine.ToSink("k", k))

	ctx := testContext(t)
	var receipts []*engine.Receipt
	for i := range 8 {
		r, err := s.AppendAck(ctx, i)
		require.NoError(t, err)
		receipts = append(receipts, r)
	}
	for range 7 {
		<-k.got
	}
	k.ack(errors.New("disk full"))
	for _, r := range receipts {
		require.NoError(t, waitReceipt(t, r))
	}
	wait(t, e)
	require.Empty(t, log.all(), "dead-lettered failures are not reported")
	require.Equal(t, []engine.Event{0, 1, 2, 3, 4, 5, 6}, all.events())
	require.ElementsMatch(t, []engine.Event{
		map[string]any{"stream": "s", "subscriber": "no-7", "error": "seven is refused", "event": 7},
		map[string]any{"stream": "s", "subscriber": "odd", "error": "1 is odd", "event": 1},
		map[string]any{"stream": "s", "subscriber": "odd", "error": "3 is odd", "event": 3},
		map[string]any{"stream": "s", "subscriber": "odd", "error": "5 is odd", "event": 5},
		map[string]any{"stream": "s", "subscriber": "k", "error": "disk full", "event": 0},
		map[string]any{"stream": "s", "subscriber": "k", "error": "disk full", "event": 1},
		map[string]any{"stream": "s", "subscriber": "k", "error": "disk full", "event": 2},
		map[string]any{"stream": "s", "subscriber": "k", "error": "disk full", "event": 3},
		map[string]any{"stream": "s", "subscriber": "k", "error": "disk full", "event": 4},
		map[string]any{"stream": "s", "subscriber": "k", "error": "disk full", "event": 5},
		map[string]any{"stream": "s", "subscriber": "k", "error": "disk full", "event": 6},
	}, letters.events())
	st := s.Stats()
	require.Equal(t, uint64(11), st.DeadLettered)
	require.Equal(t, uint64(0), st.Errors)
}

// TestDeadLetterFailureFailsTheEvent: an event is handled by its dead
// letter only when the record is: if the dead-letter stream's subscriber
// fails too, the event's receipt fails with that failure, which is
// reported.
func TestDeadLetterFailureFailsTheEvent(t *testing.T) {
	e, log := newEngine(t)
	dl := newStream(t, e, "dl", engine.StreamConfig{})
	subscribe(t, dl, "store", engine.Func("store", func(context.Context, engine.Event) (engine.Event, error) {
		return nil, errors.New("the dead-letter store is down")
	}))
	s := newStream(t, e, "s", engine.StreamConfig{DeadLetter: dl})
	subscribe(t, s, "f", engine.Func("f", func(context.Context, engine.Event) (engine.Event, error) {
		return nil, errors.New("bad event")
	}))
	r, err := s.AppendAck(testContext(t), "x")
	require.NoError(t, err)
	require.ErrorContains(t, waitReceipt(t, r), `stream "dl": subscriber "store": the dead-letter store is down`)
	wait(t, e)
	errs := log.streamErrors()
	require.Len(t, errs, 1)
	require.Equal(t, "dl", errs[0].Stream)
}

// TestDeadLetterOfAnotherEngine is refused.
func TestDeadLetterOfAnotherEngine(t *testing.T) {
	e1, _ := newEngine(t)
	e2, _ := newEngine(t)
	dl := newStream(t, e1, "dl", engine.StreamConfig{})
	_, err := e2.NewStream("s", engine.StreamConfig{DeadLetter: dl})
	require.EqualError(t, err, `the dead-letter stream "dl" belongs to another engine`)
}

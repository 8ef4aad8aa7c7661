package queue

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
)

const capacity = 256

var errClosed = errors.New("closed")

// TestQueueHoldsABatchAndWaits: puts beyond the capacity wait until a
// batch is taken; the events come out in order, each with its own done;
// the consumer is told once per batch that events are ready.
func TestQueueHoldsABatchAndWaits(t *testing.T) {
	q := New(capacity)
	ctx := t.Context()
	var got []string
	var mu sync.Mutex
	doneOf := func(i int) func(error) {
		return func(err error) {
			require.NoError(t, err)
			mu.Lock()
			got = append(got, strconv.Itoa(i))
			mu.Unlock()
		}
	}
	for i := range capacity {
		require.NoError(t, q.Put(ctx, camel.Event{Body: []byte(strconv.Itoa(i))}, doneOf(i)))
	}
	require.Len(t, q.Ready(), 1, "one token for the batch")
	putting := make(chan error, 1)
	go func() { putting <- q.Put(ctx, camel.Event{Body: []byte(strconv.Itoa(capacity))}, doneOf(capacity)) }()
	select {
	case err := <-putting:
		t.Fatalf("a put into a full queue returned %v", err)
	case <-time.After(20 * time.Millisecond): // not a timing target: it must not return at all
	}

	<-q.Ready()
	events, dones := q.Take()
	require.Len(t, events, capacity)
	require.NoError(t, <-putting, "taking a batch makes room")
	for i, ev := range events {
		require.Equal(t, strconv.Itoa(i), string(ev.Body))
		dones[i](nil)
	}
	<-q.Ready()
	events, dones = q.Take()
	require.Len(t, events, 1)
	dones[0](nil)
	require.Len(t, got, capacity+1)
	for i, s := range got {
		require.Equal(t, strconv.Itoa(i), s, "each done is its event's")
	}
}

// TestQueueCutsAtMaxBatchBytes: a batch stops once its events reach
// wire.MaxBatchBytes; the rest is ready for the next one.
func TestQueueCutsAtMaxBatchBytes(t *testing.T) {
	q := New(capacity)
	big := camel.Event{Body: make([]byte, wire.MaxBatchBytes/2)}
	for range 3 {
		require.NoError(t, q.Put(t.Context(), big, func(error) {}))
	}
	<-q.Ready()
	events, _ := q.Take()
	require.Len(t, events, 2, "the second event takes the batch past the limit")
	<-q.Ready()
	events, _ = q.Take()
	require.Len(t, events, 1)
	events, _ = q.Take()
	require.Empty(t, events)
}

// TestQueueClose: a closed queue refuses events, and a put waiting for
// room gives up; what was queued stays and fails with FailAll; a put
// waiting for room also ends with its context. An event without a done
// function is left out.
func TestQueueClose(t *testing.T) {
	q := New(capacity)
	ctx := t.Context()
	var failed []error
	for i := range capacity {
		done := func(err error) { failed = append(failed, err) }
		if i == 0 {
			done = nil
		}
		require.NoError(t, q.Put(ctx, camel.Event{}, done))
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, q.Put(short, camel.Event{}, func(error) {}), context.DeadlineExceeded)

	waiting := make(chan error, 1)
	go func() {
		waiting <- q.Put(ctx, camel.Event{}, func(error) { t.Error("a refused event's done was called") })
	}()
	q.Close(errClosed)
	require.ErrorIs(t, <-waiting, errClosed)
	require.ErrorIs(t, q.Put(ctx, camel.Event{}, func(error) {}), errClosed)

	q.Close(errors.New("closed again"))
	require.ErrorIs(t, q.Put(ctx, camel.Event{}, nil), errClosed, "the first error stays")
	q.FailAll(context.Canceled)
	require.Len(t, failed, capacity-1)
	for _, err := range failed {
		require.ErrorIs(t, err, context.Canceled)
	}
	require.Zero(t, q.Len())
}

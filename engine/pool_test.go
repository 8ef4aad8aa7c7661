package engine_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

func TestPoolRunsInParallel(t *testing.T) {
	const n, parallelism = 10_000, 4
	e, log := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})

	// A barrier instead of timing: no callback gets past it until two of
	// them have been inside at the same moment, which a pool that runs one
	// event at a time never achieves.
	var inside atomic.Int32
	overlap := make(chan struct{})
	var once sync.Once
	seen := make([]atomic.Int32, n)
	p, err := e.NewPool("work", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		defer inside.Add(-1)
		if inside.Add(1) >= 2 {
			once.Do(func() { close(overlap) })
		}
		select {
		case <-overlap:
		default:
			timer := time.NewTimer(deadline)
			defer timer.Stop()
			select {
			case <-overlap:
			case <-timer.C:
				return nil, errors.New("no other callback ran at the same time")
			}
		}
		seen[ev.(int)].Add(1)
		return ev, nil
	}, parallelism)
	require.NoError(t, err)
	require.Equal(t, "work", p.Name())
	results := subscribe(t, s, "", p)
	require.Equal(t, []string{"work"}, s.Subscriptions())
	var got collector
	subscribe(t, results, "", got.sub("got"))

	appendAll(t, s, ints(n)...)
	wait(t, e)
	require.Empty(t, log.all())
	for i := range seen {
		require.Equal(t, int32(1), seen[i].Load(), "event %d", i)
	}
	require.ElementsMatch(t, ints(n), got.events())
	shutdown(t, e)
}

func TestPoolNeedsParallelism(t *testing.T) {
	e, _ := newEngine(t)
	_, err := e.NewPool("none", func(context.Context, engine.Event) (engine.Event, error) { return nil, nil }, 0)
	require.ErrorContains(t, err, "parallelism")
	shutdown(t, e)
}

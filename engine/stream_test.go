package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// seqEvent is event seq of publisher pub.
type seqEvent struct{ pub, seq int }

// orderCheck verifies, from one goroutine, that each publisher's events
// arrive in order, each exactly once.
type orderCheck struct {
	next []int
	bad  []string
}

func newOrderCheck(publishers int) *orderCheck {
	return &orderCheck{next: make([]int, publishers)}
}

func (c *orderCheck) see(ev engine.Event) {
	se := ev.(seqEvent)
	if se.seq != c.next[se.pub] && len(c.bad) < 10 {
		c.bad = append(c.bad, fmt.Sprintf("publisher %d: got %d, want %d", se.pub, se.seq, c.next[se.pub]))
	}
	c.next[se.pub] = se.seq + 1
}

func TestOrderPerPublisher(t *testing.T) {
	const publishers, perPublisher = 4, 100_000
	e, log := newEngine(t)
	s := newStream(t, e, "in", engine.StreamConfig{})

	byFunc := newOrderCheck(publishers)
	subscribe(t, s, "func", engine.Func("", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		byFunc.see(ev)
		return nil, nil
	}))
	var byActor *orderCheck
	a, err := e.NewActor("checker", func(context.Context) (any, error) {
		byActor = newOrderCheck(publishers)
		return byActor, nil
	}, 64)
	require.NoError(t, err)
	subscribe(t, s, "", a.Method("see", func(_ context.Context, state any, ev engine.Event) (engine.Event, error) {
		state.(*orderCheck).see(ev)
		return nil, nil
	}))

	publish(t, s, publishers, perPublisher, nil)
	wait(t, e)

	for name, c := range map[string]*orderCheck{"func": byFunc, "actor": byActor} {
		require.Empty(t, c.bad, name)
		for p := range publishers {
			require.Equal(t, perPublisher, c.next[p], "%s: events of publisher %d", name, p)
		}
	}
	require.Equal(t, uint64(publishers*perPublisher), s.Stats().Appended)
	require.Empty(t, log.all())
	shutdown(t, e)
}

// publish appends perPublisher seqEvents from each of publishers
// goroutines, calling between (if not nil) after each append, and fails t
// if an append fails.
func publish(t *testing.T, s *engine.Stream, publishers, perPublisher int, between func(i int)) {
	t.Helper()
	ctx := testContext(t)
	errs := make(chan error, publishers)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				if err := s.Append(ctx, seqEvent{p, i}); err != nil {
					errs <- err
					return
				}
				if between != nil {
					between(i)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// gate is a slow subscriber: each call blocks until the test takes its event
// from ch, so the test decides when each event is done.
type gate struct{ ch chan engine.Event }

func newGate() *gate { return &gate{ch: make(chan engine.Event)} }

func (g *gate) handle(ctx context.Context, ev engine.Event) (engine.Event, error) {
	select {
	case g.ch <- ev:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *gate) take(t *testing.T) engine.Event {
	t.Helper()
	select {
	case ev := <-g.ch:
		return ev
	case <-time.After(deadline):
		require.FailNow(t, "no event reached the subscriber")
		return nil
	}
}

func TestBackpressure(t *testing.T) {
	const capacity, mailbox, parallelism = 16, 4, 2
	cases := []struct {
		name string
		// build subscribes g behind the stream it returns and says how many
		// events the pipeline holds once every queue is full.
		build   func(t *testing.T, e *engine.Engine, g *gate) (in *engine.Stream, full int)
		ordered bool
	}{{
		name: "func",
		build: func(t *testing.T, e *engine.Engine, g *gate) (*engine.Stream, int) {
			s := newStream(t, e, "in", engine.StreamConfig{Capacity: capacity})
			subscribe(t, s, "slow", engine.Func("", g.handle))
			return s, capacity + 1 // the inbox and the event in hand
		},
		ordered: true,
	}, {
		name: "actor",
		build: func(t *testing.T, e *engine.Engine, g *gate) (*engine.Stream, int) {
			s := newStream(t, e, "in", engine.StreamConfig{Capacity: capacity})
			a, err := e.NewActor("slow", nil, mailbox)
			require.NoError(t, err)
			subscribe(t, s, "", a.Method("", func(ctx context.Context, _ any, ev engine.Event) (engine.Event, error) {
				return g.handle(ctx, ev)
			}))
			// inbox, the dispatcher's event waiting for the mailbox, the
			// mailbox, the actor's event in hand
			return s, capacity + 1 + mailbox + 1
		},
		ordered: true,
	}, {
		name: "pool",
		build: func(t *testing.T, e *engine.Engine, g *gate) (*engine.Stream, int) {
			s := newStream(t, e, "in", engine.StreamConfig{Capacity: capacity})
			p, err := e.NewPool("slow", g.handle, parallelism)
			require.NoError(t, err)
			subscribe(t, s, "", p)
			// inbox, the dispatcher's event waiting for the queue, the
			// queue (parallelism long), one event in each worker's hand
			return s, capacity + 1 + parallelism + parallelism
		},
	}, {
		name: "derived",
		build: func(t *testing.T, e *engine.Engine, g *gate) (*engine.Stream, int) {
			s := newStream(t, e, "in", engine.StreamConfig{Capacity: capacity})
			d := subscribe(t, s, "pass", engine.Func("", func(_ context.Context, ev engine.Event) (engine.Event, error) {
				return ev, nil
			}))
			subscribe(t, d, "slow", engine.Func("", g.handle))
			// in's inbox, in's event waiting for d's inbox, d's inbox, the
			// event in hand
			return s, capacity + 1 + capacity + 1
		},
		ordered: true,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, log := newEngine(t)
			g := newGate()
			in, full := tc.build(t, e, g)
			ctx := testContext(t)

			// Fill every queue without blocking: TryAppend succeeds until the
			// pipeline holds exactly full events, then refuses.
			fill(t, in, full)
			// An event being handed from one queue to the next is counted on
			// both sides, hence a few more than full.
			bound := int64(full + 3)
			require.LessOrEqual(t, e.Pending(), bound)
			ok, err := in.TryAppend(full)
			require.NoError(t, err)
			require.False(t, ok, "TryAppend accepted an event beyond the pipeline's capacity")
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			err = in.Append(short, full)
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded, "Append returned although every queue is full")

			// A producer keeps appending while the test lets one event through
			// at a time; nothing may queue up beyond the bounded queues.
			const more = 200
			total := full + more
			produced := make(chan error, 1)
			go func() {
				for i := full; i < total; i++ {
					if err := in.Append(ctx, i); err != nil {
						produced <- err
						return
					}
				}
				produced <- nil
			}()
			seen := make([]bool, total)
			for i := range total {
				ev := g.take(t)
				n := ev.(int)
				require.False(t, seen[n], "event %d delivered twice", n)
				seen[n] = true
				if tc.ordered {
					require.Equal(t, i, n)
				}
				require.LessOrEqual(t, e.Pending(), bound)
				for _, s := range e.Streams() {
					require.LessOrEqual(t, s.Stats().Pending, int64(capacity+mailbox+parallelism+2), s.Name())
				}
			}
			select {
			case err := <-produced:
				require.NoError(t, err)
			case <-time.After(deadline):
				require.FailNow(t, "producer did not finish")
			}
			wait(t, e)
			require.Equal(t, uint64(total), in.Stats().Appended)
			require.Empty(t, log.all())
			shutdown(t, e)
		})
	}
}

func TestBatchTimeout(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "batched", engine.StreamConfig{BatchSize: 3, BatchTimeout: 20 * time.Millisecond})
	var got collector
	subscribe(t, s, "", got.sub("batches"))
	appendAll(t, s, ints(7)...)

	want := []engine.Event{
		[]engine.Event{0, 1, 2},
		[]engine.Event{3, 4, 5},
		[]engine.Event{6},
	}
	require.Eventually(t, func() bool { return got.len() == 3 }, deadline, tick)
	require.Equal(t, want, got.events())
	require.Equal(t, uint64(3), s.Stats().Delivered)
	shutdown(t, e)
}

func TestBatchFlushOnDrain(t *testing.T) {
	want := []engine.Event{
		[]engine.Event{0, 1, 2},
		[]engine.Event{3, 4, 5},
		[]engine.Event{6},
	}
	for name, drain := range map[string]func(*engine.Engine, context.Context) error{
		"Wait":     (*engine.Engine).Wait,
		"Shutdown": (*engine.Engine).Shutdown,
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := newEngine(t)
			s := newStream(t, e, "batched", engine.StreamConfig{BatchSize: 3, BatchTimeout: 10 * time.Minute})
			var got collector
			subscribe(t, s, "", got.sub("batches"))
			appendAll(t, s, ints(7)...)

			// The partial batch must not wait ten minutes: the deadline of
			// ctx is the "promptly".
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			require.NoError(t, drain(e, ctx))
			require.Equal(t, want, got.events())
			shutdown(t, e)
		})
	}
}

func TestShutdownDrainsEverything(t *testing.T) {
	const n = 10_000
	e, log := newEngine(t)
	in := newStream(t, e, "in", engine.StreamConfig{Capacity: 64})
	plusOne := subscribe(t, in, "plus-one", engine.Func("", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		return ev.(int) + 1, nil
	}))
	a, err := e.NewActor("doubler", nil, 8)
	require.NoError(t, err)
	doubled := subscribe(t, plusOne, "", a.Method("double", func(_ context.Context, _ any, ev engine.Event) (engine.Event, error) {
		return ev.(int) * 2, nil
	}))
	var count, sum atomic.Int64
	p, err := e.NewPool("count", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		count.Add(1)
		sum.Add(int64(ev.(int)))
		return nil, nil
	}, 3)
	require.NoError(t, err)
	subscribe(t, doubled, "", p)

	appendAll(t, in, ints(n)...)
	shutdown(t, e) // no Wait: Shutdown itself drains

	require.Equal(t, int64(n), count.Load())
	require.Equal(t, int64(n*(n+1)), sum.Load()) // sum of 2*(i+1) for i < n
	require.Empty(t, log.all())
	require.Zero(t, e.Pending())
}

func TestOperators(t *testing.T) {
	e, log := newEngine(t)
	s := newStream(t, e, "ops", engine.StreamConfig{})
	var got collector
	subscribe(t, s, "", got.sub("got"))
	appendAll(t, s, -1) // before any operator: untouched
	s.AddOperator("op", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		switch n := ev.(int); {
		case n == 5:
			return nil, errors.New("five is not allowed")
		case n == 7:
			panic("seven")
		case n%2 == 1:
			return nil, nil // dropped
		default:
			return n, nil
		}
	})
	s.AddOperator("op", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		return ev.(int) * 10, nil
	})
	appendAll(t, s, ints(10)...)
	wait(t, e)

	require.Equal(t, []engine.Event{-1, 0, 20, 40, 60, 80}, got.events())
	st := s.Stats()
	require.Equal(t, uint64(11), st.Appended)
	require.Equal(t, uint64(6), st.Delivered)
	require.Equal(t, uint64(5), st.Dropped) // 1, 3, 9 by nil; 5 and 7 by failure
	require.Equal(t, uint64(2), st.Errors)
	require.Equal(t, uint64(2), e.Errors())

	errs := log.streamErrors()
	require.Len(t, errs, 2)
	require.Equal(t, "ops", errs[0].Stream)
	require.Equal(t, "operator", errs[0].Kind)
	require.Equal(t, 5, errs[0].Event)
	require.ErrorContains(t, errs[0], "five is not allowed")
	require.Equal(t, 7, errs[1].Event)
	require.ErrorContains(t, errs[1], "panic: seven")
	shutdown(t, e)
}

func TestOperatorSeesBatches(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "batched", engine.StreamConfig{BatchSize: 2, BatchTimeout: 10 * time.Minute})
	s.AddOperator("op", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		return len(ev.([]engine.Event)), nil
	})
	var got collector
	subscribe(t, s, "", got.sub("sizes"))
	appendAll(t, s, ints(5)...)
	wait(t, e)
	require.Equal(t, []engine.Event{2, 2, 1}, got.events())
	shutdown(t, e)
}

func TestDerivedStream(t *testing.T) {
	e, log := newEngine(t)
	s := newStream(t, e, "numbers", engine.StreamConfig{})
	halves := subscribe(t, s, "half", engine.Func("", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		if n := ev.(int); n%2 == 0 {
			return n / 2, nil
		}
		return nil, nil // dropped from the derived stream
	}))
	require.Equal(t, "numbers>>half", halves.Name())
	require.Same(t, halves, e.Stream("numbers>>half"))
	var got collector
	subscribe(t, halves, "", got.sub("got"))

	appendAll(t, s, ints(10)...)
	wait(t, e)
	require.Equal(t, []engine.Event{0, 1, 2, 3, 4}, got.events())
	require.Equal(t, uint64(5), halves.Stats().Appended)
	require.Empty(t, log.all())
	shutdown(t, e)
}

func TestForwardKeepsOrder(t *testing.T) {
	const n = 5000
	e, _ := newEngine(t)
	a := newStream(t, e, "a", engine.StreamConfig{Capacity: 8})
	b := newStream(t, e, "b", engine.StreamConfig{Capacity: 8})
	require.Same(t, b, subscribe(t, a, "", engine.Forward(b)))
	require.Equal(t, []string{"b"}, a.Subscriptions())
	var got collector
	subscribe(t, b, "", got.sub("got"))

	appendAll(t, a, ints(n)...)
	wait(t, e)
	require.Equal(t, ints(n), got.events())
	shutdown(t, e)
}

func TestSubscriberFailureSkipsOnlyThatSubscriber(t *testing.T) {
	e, log := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var first, bad, last collector
	subscribe(t, s, "", first.sub("first"))
	subscribe(t, s, "", engine.Func("bad", func(ctx context.Context, ev engine.Event) (engine.Event, error) {
		switch ev.(int) {
		case 2:
			return nil, errors.New("two is bad")
		case 4:
			panic("four is worse")
		}
		return bad.handle(ctx, ev)
	}))
	subscribe(t, s, "", last.sub("last"))

	appendAll(t, s, ints(6)...)
	wait(t, e)
	require.Equal(t, ints(6), first.events())
	require.Equal(t, []engine.Event{0, 1, 3, 5}, bad.events())
	require.Equal(t, ints(6), last.events())

	errs := log.streamErrors()
	require.Len(t, errs, 2)
	for i, want := range []struct {
		ev  int
		msg string
	}{{2, "two is bad"}, {4, "panic: four is worse"}} {
		require.Equal(t, "s", errs[i].Stream)
		require.Equal(t, "subscriber", errs[i].Kind)
		require.Equal(t, "bad", errs[i].Name)
		require.Equal(t, want.ev, errs[i].Event)
		require.ErrorContains(t, errs[i], want.msg)
		require.ErrorContains(t, errs[i], `stream "s": subscriber "bad"`)
	}
	require.Equal(t, uint64(2), s.Stats().Errors)
	require.Equal(t, uint64(2), e.Errors())
	shutdown(t, e)
}

func TestUnsubscribe(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var kept, removed collector
	subscribe(t, s, "", kept.sub("kept"))
	d := subscribe(t, s, "", removed.sub("removed"))
	require.Equal(t, []string{"kept", "removed"}, s.Subscriptions())

	appendAll(t, s, 1, 2)
	wait(t, e)
	require.NoError(t, s.Unsubscribe("removed"))
	require.Equal(t, []string{"kept"}, s.Subscriptions())
	appendAll(t, s, 3)
	wait(t, e)
	require.Equal(t, []engine.Event{1, 2, 3}, kept.events())
	require.Equal(t, []engine.Event{1, 2}, removed.events())

	err := s.Unsubscribe("nobody")
	require.Error(t, err)
	require.ErrorContains(t, err, `"nobody"`)

	// The removed subscription no longer links s to its derived stream, so
	// feeding that stream back into s is not a cycle.
	_, err = d.Subscribe("", engine.Forward(s))
	require.NoError(t, err)
	shutdown(t, e)
}

func TestSubscriptionNamesAreUnique(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var c collector
	d1 := subscribe(t, s, "", c.sub("f"))
	d2 := subscribe(t, s, "", c.sub("f"))
	require.Equal(t, []string{"f", "f#2"}, s.Subscriptions())
	require.NotSame(t, d1, d2)
	shutdown(t, e)
}

func TestCyclesAreRefused(t *testing.T) {
	e, _ := newEngine(t)
	a := newStream(t, e, "a", engine.StreamConfig{})
	b := newStream(t, e, "b", engine.StreamConfig{})
	subscribe(t, a, "", engine.Forward(b))

	_, err := b.Subscribe("", engine.Forward(a))
	require.Error(t, err)
	require.ErrorContains(t, err, `"a"`)
	require.ErrorContains(t, err, `"b"`)
	require.ErrorContains(t, err, "cycle")
	require.Empty(t, b.Subscriptions())

	_, err = a.Subscribe("", engine.Forward(a))
	require.Error(t, err)
	require.ErrorContains(t, err, `"a"`)
	require.ErrorContains(t, err, "cycle")

	d := subscribe(t, b, "f", engine.Func("", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		return ev, nil
	}))
	_, err = d.Subscribe("", engine.Forward(a))
	require.Error(t, err)
	require.ErrorContains(t, err, fmt.Sprintf("%q", d.Name()))
	require.ErrorContains(t, err, `"a"`)
	require.ErrorContains(t, err, "cycle")
	require.Empty(t, d.Subscriptions())
	shutdown(t, e)
}

func TestStreamNames(t *testing.T) {
	e, _ := newEngine(t)
	newStream(t, e, "s", engine.StreamConfig{})
	_, err := e.NewStream("s", engine.StreamConfig{})
	require.Error(t, err)
	require.ErrorContains(t, err, `"s"`)

	x := newStream(t, e, "", engine.StreamConfig{})
	y := newStream(t, e, "", engine.StreamConfig{})
	require.NotEmpty(t, x.Name())
	require.NotEqual(t, x.Name(), y.Name())
	require.Equal(t, []*engine.Stream{e.Stream("s"), x, y}, e.Streams())
	shutdown(t, e)
}

func TestSourceRunsToCompletion(t *testing.T) {
	const n = 1000
	e, log := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{Capacity: 8})
	var got atomic.Int64
	subscribe(t, s, "", engine.Func("count", func(context.Context, engine.Event) (engine.Event, error) {
		got.Add(1)
		return nil, nil
	}))
	ended := make(chan struct{})
	name, err := s.AddSource("numbers", engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		defer close(ended)
		for i := range n {
			if err := emit(ctx, i); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, err)
	require.Equal(t, "numbers", name)

	wait(t, e)
	select {
	case <-ended:
	default:
		require.FailNow(t, "Wait returned while the source was running")
	}
	require.Equal(t, int64(n), got.Load())
	require.Empty(t, s.Sources())
	require.Zero(t, s.Stats().Sources)
	require.Empty(t, log.all())
	shutdown(t, e)
}

// endless emits 0, 1, 2, ... until it is stopped.
func endless(stopped chan<- struct{}) engine.Source {
	return engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		defer close(stopped)
		for i := 0; ; i++ {
			if err := emit(ctx, i); err != nil {
				return err
			}
		}
	})
}

func TestDisconnectSource(t *testing.T) {
	e, log := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{Capacity: 8})
	var got collector
	subscribe(t, s, "", got.sub("got"))
	stopped := make(chan struct{})
	name, err := s.AddSource("", endless(stopped))
	require.NoError(t, err)
	require.Equal(t, []string{name}, s.Sources())
	require.Eventually(t, func() bool { return got.len() > 10 }, deadline, tick)

	require.NoError(t, s.DisconnectSource(t.Context(), name))
	select {
	case <-stopped:
	default:
		require.FailNow(t, "DisconnectSource returned while the source was running")
	}
	require.Empty(t, s.Sources())
	require.Error(t, s.DisconnectSource(t.Context(), name))

	wait(t, e)
	require.Equal(t, ints(got.len()), got.events())
	require.Empty(t, log.all(), "a disconnected source's error is not a failure")
	shutdown(t, e)
}

func TestGeneratedSourceNamesStayUnique(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	quick := engine.SourceFunc(func(context.Context, func(context.Context, engine.Event) error) error {
		return nil
	})
	idle := engine.SourceFunc(func(ctx context.Context, _ func(context.Context, engine.Event) error) error {
		<-ctx.Done()
		return ctx.Err()
	})
	_, err := s.AddSource("", quick)
	require.NoError(t, err)
	second, err := s.AddSource("", idle)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(s.Sources()) == 1 }, deadline, tick)

	third, err := s.AddSource("", idle)
	require.NoError(t, err)
	require.NotEqual(t, second, third)
	require.Len(t, s.Sources(), 2)
	shutdown(t, e)
}

func TestSourceErrorIsReported(t *testing.T) {
	e, log := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var got collector
	subscribe(t, s, "", got.sub("got"))
	boom := errors.New("connection refused")
	_, err := s.AddSource("poller", engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		if err := emit(ctx, "first"); err != nil {
			return err
		}
		return boom
	}))
	require.NoError(t, err)
	wait(t, e)

	require.Equal(t, []engine.Event{"first"}, got.events())
	errs := log.streamErrors()
	require.Len(t, errs, 1)
	require.Equal(t, "s", errs[0].Stream)
	require.Equal(t, "source", errs[0].Kind)
	require.Equal(t, "poller", errs[0].Name)
	require.ErrorIs(t, errs[0], boom)
	require.Equal(t, uint64(1), s.Stats().Errors)
	shutdown(t, e)
}

func TestDisconnectAllAfter(t *testing.T) {
	e, log := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{Capacity: 8, BatchSize: 4, BatchTimeout: 10 * time.Minute})
	sizes := subscribe(t, s, "size", engine.Func("", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		return len(ev.([]engine.Event)), nil
	}))
	var total atomic.Int64
	a, err := e.NewActor("sum", nil, 4)
	require.NoError(t, err)
	subscribe(t, sizes, "", a.Method("add", func(_ context.Context, _ any, ev engine.Event) (engine.Event, error) {
		total.Add(int64(ev.(int)))
		return nil, nil
	}))
	stopped := make(chan struct{})
	_, err = s.AddSource("", endless(stopped))
	require.NoError(t, err)

	const after = 30 * time.Millisecond
	start := time.Now()
	require.NoError(t, s.DisconnectAll(testContext(t), 0, after))
	require.GreaterOrEqual(t, time.Since(start), after)
	select {
	case <-stopped:
	default:
		require.FailNow(t, "DisconnectAll returned while the source was running")
	}
	require.Zero(t, s.Stats().Sources)
	for _, st := range []*engine.Stream{s, sizes} {
		require.Zero(t, st.Stats().Pending, st.Name())
	}
	// Every event the source got in, including the partial batch, went all
	// the way down.
	require.Positive(t, total.Load())
	require.Equal(t, int64(s.Stats().Appended), total.Load())
	require.Empty(t, log.all())
	shutdown(t, e)
}

func TestDisconnectAllIdle(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{BatchSize: 3, BatchTimeout: 10 * time.Minute})
	var got collector
	subscribe(t, s, "", got.sub("batches"))
	appendAll(t, s, ints(5)...)

	const idle = 30 * time.Millisecond
	start := time.Now()
	require.NoError(t, s.DisconnectAll(testContext(t), idle, 0))
	require.GreaterOrEqual(t, time.Since(start), idle)
	require.Equal(t, []engine.Event{
		[]engine.Event{0, 1, 2},
		[]engine.Event{3, 4},
	}, got.events())
	shutdown(t, e)
}

func TestClosed(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var got collector
	subscribe(t, s, "", got.sub("got"))
	shutdown(t, e)

	require.ErrorIs(t, s.Append(context.Background(), 1), engine.ErrClosed)
	ok, err := s.TryAppend(1)
	require.False(t, ok)
	require.ErrorIs(t, err, engine.ErrClosed)
	_, err = e.NewStream("late", engine.StreamConfig{})
	require.ErrorIs(t, err, engine.ErrClosed)
	_, err = e.NewActor("late", nil, 0)
	require.ErrorIs(t, err, engine.ErrClosed)
	_, err = e.NewPool("late", got.handle, 1)
	require.ErrorIs(t, err, engine.ErrClosed)
	_, err = s.AddSource("late", endless(make(chan struct{})))
	require.ErrorIs(t, err, engine.ErrClosed)
	require.Empty(t, got.events())
	require.NoError(t, e.Shutdown(context.Background()), "Shutdown is idempotent")
}

func TestShutdownWithStuckSubscriber(t *testing.T) {
	const capacity = 4
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{Capacity: capacity})
	release := make(chan struct{})
	subscribe(t, s, "stuck", engine.Func("", func(context.Context, engine.Event) (engine.Event, error) {
		<-release // ignores its context on purpose
		return nil, nil
	}))
	fill(t, s, capacity+1) // the inbox and the event in hand
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := e.Shutdown(ctx)
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, fmt.Sprintf("%d events not delivered", capacity+1))

	// Let the subscriber go; a second Shutdown waits for the goroutines.
	close(release)
	shutdown(t, e)
}

func TestConcurrentShutdown(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var got collector
	subscribe(t, s, "", got.sub("got"))
	appendAll(t, s, ints(100)...)

	ctx := testContext(t)
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() { errs <- e.Shutdown(ctx) }()
	}
	for range cap(errs) {
		select {
		case err := <-errs:
			require.NoError(t, err)
		case <-time.After(deadline):
			require.FailNow(t, "Shutdown did not return")
		}
	}
	require.Equal(t, ints(100), got.events())
}

func TestStreamsMadeWhileShuttingDown(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	disconnected := make(chan struct{})
	_, err := s.AddSource("", engine.SourceFunc(func(ctx context.Context, _ func(context.Context, engine.Event) error) error {
		<-ctx.Done()
		close(disconnected)
		return nil
	}))
	require.NoError(t, err)

	release := make(chan struct{})
	lateErrs := make(chan error, 1)
	var got collector
	subscribe(t, s, "builder", engine.Func("", func(ctx context.Context, ev engine.Event) (engine.Event, error) {
		<-release
		_, err := s.AddSource("late", endless(make(chan struct{})))
		lateErrs <- err
		late, err := e.NewStream("late", engine.StreamConfig{})
		if err != nil {
			return nil, err
		}
		if _, err := late.Subscribe("", got.sub("got")); err != nil {
			return nil, err
		}
		return nil, late.Append(ctx, ev)
	}))
	appendAll(t, s, "made while draining")

	done := make(chan error, 1)
	go func() { done <- e.Shutdown(testContext(t)) }()
	select {
	case <-disconnected: // Shutdown has begun and is about to drain
	case <-time.After(deadline):
		require.FailNow(t, "Shutdown did not disconnect the source")
	}
	close(release)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(deadline):
		require.FailNow(t, "Shutdown did not stop the stream made while it was draining")
	}
	require.ErrorIs(t, <-lateErrs, engine.ErrClosed, "no source starts once Shutdown has begun")
	require.Equal(t, []engine.Event{"made while draining"}, got.events())
}

package engine_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// goroutineID returns the id the runtime prints in stack traces; the tests
// use it only to tell goroutines apart.
func goroutineID() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)] // "goroutine 42 [running]: ..."
	id, err := strconv.ParseUint(string(bytes.Fields(buf)[1]), 10, 64)
	if err != nil {
		panic(err)
	}
	return id
}

type actorState struct {
	goroutine uint64 // where init ran
	seen      []engine.Event
}

func TestActorState(t *testing.T) {
	const n = 1000
	e, log := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var inits atomic.Int32
	var state *actorState
	a, err := e.NewActor("recorder", func(context.Context) (any, error) {
		inits.Add(1)
		state = &actorState{goroutine: goroutineID()}
		return state, nil
	}, 8)
	require.NoError(t, err)
	require.Equal(t, "recorder", a.Name())
	record := func(_ context.Context, st any, ev engine.Event) (engine.Event, error) {
		as := st.(*actorState)
		if id := goroutineID(); id != as.goroutine {
			return nil, errors.New("a method ran off the actor's goroutine")
		}
		as.seen = append(as.seen, ev)
		return len(as.seen), nil
	}
	counts := subscribe(t, s, "", a.Method("record", record))
	require.Equal(t, []string{"recorder.record"}, s.Subscriptions())
	var got collector
	subscribe(t, counts, "", got.sub("got"))

	appendAll(t, s, ints(n)...)
	wait(t, e)
	require.Empty(t, log.all())
	require.Equal(t, int32(1), inits.Load())
	require.NotEqual(t, goroutineID(), state.goroutine, "init ran on the caller's goroutine")
	require.Equal(t, ints(n), state.seen)
	want := make([]engine.Event, n)
	for i := range want {
		want[i] = i + 1
	}
	require.Equal(t, want, got.events(), "results reach the derived stream in order")
	shutdown(t, e)
}

func TestActorInitFailure(t *testing.T) {
	noDatabase := errors.New("no database")
	for name, init := range map[string]func(context.Context) (any, error){
		"error": func(context.Context) (any, error) { return nil, noDatabase },
		"panic": func(context.Context) (any, error) { panic(noDatabase) },
	} {
		t.Run(name, func(t *testing.T) {
			e, log := newEngine(t)
			s := newStream(t, e, "s", engine.StreamConfig{})
			a, err := e.NewActor("broken", init, 0)
			require.NoError(t, err)
			var calls atomic.Int32
			subscribe(t, s, "", a.Method("handle", func(context.Context, any, engine.Event) (engine.Event, error) {
				calls.Add(1)
				return nil, nil
			}))
			appendAll(t, s, ints(3)...)
			wait(t, e)

			require.Zero(t, calls.Load())
			errs := log.all()
			require.Len(t, errs, 4, "the init failure, then each event")
			require.ErrorContains(t, errs[0], `actor "broken": init failed`)
			require.ErrorContains(t, errs[0], "no database")
			streamErrs := log.streamErrors()
			require.Len(t, streamErrs, 3)
			for i, se := range streamErrs {
				require.Equal(t, "s", se.Stream)
				require.Equal(t, "subscriber", se.Kind)
				require.Equal(t, "broken.handle", se.Name)
				require.Equal(t, i, se.Event)
				require.ErrorContains(t, se, "init failed")
			}
			require.Equal(t, uint64(3), s.Stats().Errors)
			require.Equal(t, uint64(4), e.Errors())
			shutdown(t, e)
		})
	}
}

func TestActorSharedByStreams(t *testing.T) {
	const perStream = 500
	e, log := newEngine(t)
	type counter struct{ n int }
	var state *counter
	a, err := e.NewActor("counter", func(context.Context) (any, error) {
		state = &counter{}
		return state, nil
	}, 4)
	require.NoError(t, err)
	count := a.Method("count", func(_ context.Context, st any, _ engine.Event) (engine.Event, error) {
		c := st.(*counter)
		c.n++
		return c.n, nil
	})
	var results [2]collector
	streams := make([]*engine.Stream, len(results))
	for i := range streams {
		streams[i] = newStream(t, e, "", engine.StreamConfig{Capacity: 4})
		subscribe(t, subscribe(t, streams[i], "", count), "", results[i].sub("got"))
	}

	ctx := testContext(t)
	errs := make(chan error, len(streams))
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Go(func() {
			for i := range perStream {
				if err := s.Append(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	wait(t, e)

	require.Empty(t, log.all())
	require.Equal(t, 2*perStream, state.n)
	// Each count was handed out once, in increasing order per stream.
	var all []engine.Event
	for i := range results {
		evs := results[i].events()
		require.Len(t, evs, perStream)
		counts := make([]int, len(evs))
		for j, ev := range evs {
			counts[j] = ev.(int)
		}
		require.IsIncreasing(t, counts)
		all = append(all, evs...)
	}
	want := make([]engine.Event, 2*perStream)
	for i := range want {
		want[i] = i + 1
	}
	require.ElementsMatch(t, want, all)
	shutdown(t, e)
}

// TestGracefulShutdownLetsInitFinish: an actor still initializing is work
// in progress, so a graceful shutdown waits for its init instead of
// cancelling it.
func TestGracefulShutdownLetsInitFinish(t *testing.T) {
	e := engine.New(engine.Options{})
	release, result := make(chan struct{}), make(chan error, 1)
	_, err := e.NewActor("slow", func(ctx context.Context) (any, error) {
		select {
		case <-release:
			result <- ctx.Err()
		case <-ctx.Done():
			result <- ctx.Err()
		}
		return nil, nil
	}, 0)
	require.NoError(t, err)
	stopped := make(chan error, 1)
	go func() { stopped <- e.Shutdown(testContext(t)) }()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while init was running", err)
	case err := <-result:
		t.Fatalf("init was cancelled: %v", err)
	default:
	}
	close(release)
	require.NoError(t, <-result, "init ran to its end")
	require.NoError(t, <-stopped)
}

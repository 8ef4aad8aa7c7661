package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one value flowing through a stream. The engine never looks inside
// an event; a nil event is dropped by [Stream.Append].
type Event = any

// ErrClosed is returned by operations on an engine that has been shut down.
var ErrClosed = errors.New("the engine is shut down")

// DefaultCapacity is the inbox size of a stream and the mailbox size of an
// actor when none is given.
const DefaultCapacity = 1024

// Options configure an [Engine].
type Options struct {
	// OnError receives every subscriber, operator and source failure. It is
	// called from engine goroutines, possibly concurrently. When nil, failures
	// are only counted.
	OnError func(err error)
	// ErrorText writes a failure's message for a dead-letter record (see
	// StreamConfig.DeadLetter); a script host adds the script position.
	// Default: err.Error().
	ErrorText func(err error) string
}

// Engine owns streams, actors, task pools and their goroutines.
type Engine struct {
	opts Options

	// ctx is cancelled when the engine is forced to stop; every blocking
	// operation inside the engine selects on it.
	ctx    context.Context
	cancel context.CancelFunc
	// halted is set when a shutdown stops the goroutines, just before ctx
	// is cancelled: the hot paths check it instead of ctx or the quit
	// channels, for the price of a load.
	halted atomic.Bool

	interlock atomic.Pointer[Interlock] // see SetInterlock
	observer  atomic.Pointer[Observer]  // see SetObserver
	idleExit  time.Duration             // idleExit, but for tests

	pending inflight // work in flight: busy queues, held events, actors' inits
	sources inflight // connected sources
	batched atomic.Int64
	errors  atomic.Uint64

	mu       sync.Mutex
	stopping bool // Shutdown has begun: no new sources
	closed   bool // Shutdown has stopped the goroutines: nothing new at all
	streams  map[string]*Stream
	order    []*Stream // creation order, for deterministic flushes
	actors   []*Actor
	pools    []*Pool
	graph    graph
	anon     int

	wg      sync.WaitGroup // every goroutine the engine started
	stopped chan struct{}  // closed when wg is done after Shutdown
}

// New returns an engine ready to create streams.
func New(opts Options) *Engine {
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		opts:     opts,
		ctx:      ctx,
		cancel:   cancel,
		streams:  map[string]*Stream{},
		graph:    graph{},
		stopped:  make(chan struct{}),
		idleExit: idleExit,
	}
}

// Context returns the context the engine gives subscribers, operators,
// actors and sources (handlers get one derived from it, see [Local]): it
// ends when a shutdown is forced, after the engine has counted the events
// it abandons, so work cancelled by it is counted as undelivered the same
// way every time.
func (e *Engine) Context() context.Context { return e.ctx }

// Errors returns the number of failures reported so far.
func (e *Engine) Errors() uint64 { return e.errors.Load() }

// Pending returns the number of events accepted and not yet fully processed,
// not counting events waiting in partial batches.
func (e *Engine) Pending() int64 {
	var n int64
	for _, s := range e.Streams() {
		n += s.inFlight()
	}
	return n
}

// Stream returns the stream named name, or nil.
func (e *Engine) Stream(name string) *Stream {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.streams[name]
}

// Streams returns every stream in creation order.
func (e *Engine) Streams() []*Stream {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*Stream(nil), e.order...)
}

func (e *Engine) report(err error) {
	e.errors.Add(1)
	if e.opts.OnError != nil {
		e.opts.OnError(err)
	}
}

// Wait blocks until the engine is idle: no source connected and no event in
// flight. Partial batches are flushed once everything else is idle. It
// returns ctx's error if ctx ends first.
func (e *Engine) Wait(ctx context.Context) error {
	for {
		if err := e.sources.wait(ctx); err != nil {
			return err
		}
		if err := e.pending.wait(ctx); err != nil {
			return err
		}
		if e.sources.n.Load() != 0 || e.pending.n.Load() != 0 {
			continue
		}
		if e.batched.Load() == 0 {
			return nil
		}
		for _, s := range e.Streams() {
			if err := s.flush(ctx); err != nil {
				return err
			}
		}
	}
}

// Shutdown disconnects every source, waits until everything accepted has been
// delivered (flushing partial batches), then stops every goroutine. If ctx
// ends before the pipeline is drained, the remaining work is abandoned and
// the returned error says how many events were not delivered; a subscriber
// that is stuck keeps its goroutine until it returns. Shutdown is idempotent:
// later or concurrent calls wait, until their ctx ends, for the goroutines
// to stop.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	first := !e.stopping
	e.stopping = true
	e.mu.Unlock()
	if !first {
		return e.waitStopped(ctx)
	}

	for _, s := range e.Streams() {
		s.disconnectSources()
	}
	drainErr := e.Wait(ctx)

	// From here no goroutine can start (see goroutine), so the lists below
	// are complete, including streams made while draining.
	e.mu.Lock()
	e.closed = true
	streams, actors, pools := e.order, e.actors, e.pools
	e.mu.Unlock()

	var lost int64
	var byStream []StreamLoss
	if drainErr != nil {
		byStream = losses(streams)
		for _, l := range byStream {
			lost += l.N
		}
	}
	e.halted.Store(true)
	e.cancel() // unblocks anything still waiting on a full queue
	for _, s := range streams {
		close(s.quit)
	}
	for _, a := range actors {
		close(a.quit)
	}
	for _, p := range pools {
		close(p.quit)
	}
	// Waiting for the goroutines can take as long as a stuck subscriber, so
	// it happens off this goroutine, within ctx.
	go func() {
		e.wg.Wait()
		close(e.stopped)
	}()
	if drainErr != nil && lost > 0 {
		// The callbacks just cancelled report their errors as they return:
		// give them a moment, so that those reports are not lost with the
		// process that exits next.
		t := time.NewTimer(cancelGrace)
		defer t.Stop()
		select {
		case <-e.stopped:
		case <-t.C:
		}
		return &UndeliveredError{N: lost, Streams: byStream, Err: drainErr}
	}
	return e.waitStopped(ctx)
}

// cancelGrace is how long an interrupted Shutdown waits for the callbacks
// it cancelled to return: a cancelled Starlark callback stops at its next
// step, Go code stuck in a call may never return.
const cancelGrace = 2 * time.Second

// losses counts, per stream, the events still in flight from it.
func losses(streams []*Stream) []StreamLoss {
	var out []StreamLoss
	for _, s := range streams {
		if n := s.inFlight() + s.batched.Load(); n > 0 {
			out = append(out, StreamLoss{Stream: s.name, N: n})
		}
	}
	return out
}

func (e *Engine) waitStopped(ctx context.Context) error {
	select {
	case <-e.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutdown interrupted: some subscribers are still running: %w", ctx.Err())
	}
}

// goroutine runs fn on a goroutine owned by the engine. The caller holds
// e.mu and has checked that the engine is not closed: Shutdown sets closed
// under e.mu before it waits, so it never misses a goroutine.
func (e *Engine) goroutine(fn func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn()
	}()
}

// register reserves name for a new stream, inventing one when name is
// empty. Its dispatch goroutine starts with its first event.
func (e *Engine) register(s *Stream) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if s.name == "" {
		for {
			e.anon++
			s.name = fmt.Sprintf("stream-%d", e.anon)
			if e.streams[s.name] == nil {
				break
			}
		}
	}
	if e.streams[s.name] != nil {
		return fmt.Errorf("a stream named %q already exists", s.name)
	}
	e.streams[s.name] = s
	e.order = append(e.order, s)
	return nil
}

// spawn runs fn on a goroutine owned by the engine, unless the engine has
// stopped its goroutines (then it reports false).
func (e *Engine) spawn(fn func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.goroutine(fn)
	return true
}

// uniqueName returns base, or base#N if a stream of that name exists.
func (e *Engine) uniqueName(base string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	name := base
	for i := 2; e.streams[name] != nil; i++ {
		name = fmt.Sprintf("%s#%d", base, i)
	}
	return name
}

// safeCall runs fn and turns a panic into an error, so a faulty subscriber
// cannot take the process down.
func safeCall(fn func() (Event, error)) (ev Event, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

// UndeliveredError is returned by Shutdown when its context ended before
// every accepted event was delivered.
type UndeliveredError struct {
	N       int64        // events (or batches) still in flight
	Streams []StreamLoss // where they were, per stream, in creation order
	Err     error        // why waiting stopped, e.g. context.Canceled
}

// StreamLoss is how many events in flight from one stream a Shutdown
// abandoned: queued or being handled by its subscribers, in its batches, or
// on their way to its sinks.
type StreamLoss struct {
	Stream string
	N      int64
}

func (l StreamLoss) String() string {
	if l.N == 1 {
		return fmt.Sprintf("stream %q: 1 event not delivered", l.Stream)
	}
	return fmt.Sprintf("stream %q: %d events not delivered", l.Stream, l.N)
}

func (e *UndeliveredError) Error() string {
	if e.N == 1 {
		return "shutdown interrupted with 1 event not delivered"
	}
	return fmt.Sprintf("shutdown interrupted with %d events not delivered", e.N)
}

func (e *UndeliveredError) Unwrap() error { return e.Err }

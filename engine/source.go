package engine

import (
	"context"
	"fmt"
	"sort"
)

// Source produces events into a stream. Run emits events until ctx ends (the
// source is disconnected or the engine shuts down) or the source is
// exhausted; a nil return means it ended normally. emit blocks while the
// stream is full, so backpressure reaches the source.
type Source interface {
	Run(ctx context.Context, emit func(ctx context.Context, ev Event) error) error
}

// SourceFunc adapts a function to [Source].
type SourceFunc func(ctx context.Context, emit func(ctx context.Context, ev Event) error) error

// Run calls f.
func (f SourceFunc) Run(ctx context.Context, emit func(ctx context.Context, ev Event) error) error {
	return f(ctx, emit)
}

type sourceRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// AddSource connects src to the stream under name (generated when empty) and
// starts it. The engine is not idle while a source is connected.
func (s *Stream) AddSource(name string, src Source) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		// Sources that ended have left gaps; skip names still in use.
		for i := len(s.sources) + 1; name == "" || s.sources[name] != nil; i++ {
			name = fmt.Sprintf("%s-source-%d", s.name, i)
		}
	}
	if s.sources[name] != nil {
		return "", fmt.Errorf("stream %q already has a source named %q", s.name, name)
	}
	// Under e.mu, so that Shutdown, which disconnects the sources it knows
	// of, never misses one that starts while it drains.
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if s.e.stopping {
		return "", ErrClosed
	}
	ctx, cancel := context.WithCancel(s.e.ctx)
	run := &sourceRun{cancel: cancel, done: make(chan struct{})}
	s.sources[name] = run
	s.e.sources.add(1)
	s.e.goroutine(func() {
		defer func() {
			s.mu.Lock()
			if s.sources[name] == run {
				delete(s.sources, name)
			}
			s.mu.Unlock()
			cancel()
			close(run.done)
			s.e.sources.add(-1)
		}()
		_, err := safeCall(func() (Event, error) { return nil, src.Run(ctx, s.Append) })
		// A source that was asked to stop may return whatever its emit or its
		// peer returned at that moment; only failures of a live source count.
		if err != nil && ctx.Err() == nil {
			s.fail("source", name, nil, err)
		}
	})
	return name, nil
}

// DisconnectSource stops the source named name and waits for it to
// return, or for ctx to end (the source is still told to stop).
func (s *Stream) DisconnectSource(ctx context.Context, name string) error {
	s.mu.Lock()
	run := s.sources[name]
	s.mu.Unlock()
	if run == nil {
		return fmt.Errorf("stream %q has no source named %q", s.name, name)
	}
	run.cancel()
	select {
	case <-run.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stream %q: source %q did not stop: %w", s.name, name, ctx.Err())
	}
}

// Sources returns the names of the connected sources.
func (s *Stream) Sources() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.sources))
	for n := range s.sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Stream) disconnectSources() {
	s.mu.Lock()
	runs := make([]*sourceRun, 0, len(s.sources))
	for _, r := range s.sources {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	for _, r := range runs {
		r.cancel()
		<-r.done
	}
}

package starlark

import (
	"fmt"
	"time"
)

// DefaultDrainTimeout is how long a stopped run may take to drain when
// Options.DrainTimeout is zero and no Options.Kill is given.
const DefaultDrainTimeout = 10 * time.Second

// A run stops in two steps, as the rayvens command does on a first and a
// second signal: a graceful stop when Start's context ends (sources stop,
// accepted events are still delivered), then a kill (callbacks cancelled,
// what is left abandoned) when Options.Kill ends or, once the graceful stop
// has begun, after the drain timeout. bound is the goroutine that turns the
// timeout into a kill; finish stops it and waits for it.

// drainTimeout is the bound of the graceful stop, or 0 for none.
func (o *Options) drainTimeout() time.Duration {
	switch {
	case o.DrainTimeout < 0:
		return 0
	case o.DrainTimeout > 0:
		return o.DrainTimeout
	case o.Kill != nil:
		return 0 // the caller forces the stop itself
	}
	return DefaultDrainTimeout
}

// bound kills the run d after its graceful stop began, unless the run is
// over by then (finished is closed).
func (s *Script) bound(d time.Duration) {
	defer close(s.bounding)
	select {
	case <-s.ctx.Done():
	case <-s.finished:
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		s.timedOut.Store(true)
		s.killRun()
	case <-s.finished:
	}
}

// drainError explains an error of the shutdown that the drain timeout
// caused.
func (s *Script) drainError(err error) error {
	if err == nil || !s.timedOut.Load() {
		return err
	}
	return fmt.Errorf("%w within %s: %w", ErrDrainTimeout, s.opts.drainTimeout(), err)
}

package sdktest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
)

// errClosed is what emit returns once Run has returned, as the SDK's does.
var errClosed = errors.New("the source instance closed before the host accepted the event")

// Running is a source that Run runs.
type Running struct {
	t       testing.TB
	cancel  context.CancelFunc
	done    chan struct{} // closed when Run has returned
	err     error         // what Run returned, once done is closed
	checked atomic.Bool   // the test has seen err, through Stop or Wait
}

// Run runs src.Run in a goroutine with emit (usually a Collector's Emit),
// as the SDK does: a panic in Run is an error it returns, and emit fails
// once Run has returned. When the test ends, the source is stopped as Stop
// does; an error it returns that the test did not see through Stop or
// Wait fails the test.
func Run(t testing.TB, src sdk.Source, emit sdk.Emit) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{t: t, cancel: cancel, done: make(chan struct{})}
	var ended atomic.Bool
	closable := func(ctx context.Context, ev sdk.Event) error {
		if ended.Load() {
			return errClosed
		}
		return emit(ctx, ev)
	}
	log := testLogger(t)
	go func() {
		defer close(r.done)
		r.err = guard.Call(log, "Run", func() error { return src.Run(ctx, closable) })
		ended.Store(true)
	}()
	t.Cleanup(func() {
		r.cancel()
		if !r.await() {
			t.Errorf("sdktest: Run did not return within %v of the end of its context", Timeout)
			return
		}
		if r.err != nil && !r.checked.Load() {
			t.Errorf("sdktest: Run returned an error: %v", r.err)
		}
	})
	return r
}

// Stop ends the context Run was given, as the host does when it
// disconnects the source or shuts down, and returns what Run returned. It
// fails the test if Run does not return within Timeout.
func (r *Running) Stop() error {
	r.t.Helper()
	r.cancel()
	return r.Wait()
}

// Wait waits for Run to return by itself (the source is exhausted) and
// returns what it returned. It fails the test if that takes longer than
// Timeout.
func (r *Running) Wait() error {
	r.t.Helper()
	if !r.await() {
		r.t.Fatalf("sdktest: Run did not return within %v", Timeout)
	}
	r.checked.Store(true)
	return r.err
}

// await waits at most Timeout for Run to return, and reports whether it did.
func (r *Running) await() bool {
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	select {
	case <-r.done:
		return true
	case <-deadline.C:
		return false
	}
}

package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins/internal/queue"
	"github.com/rayvens/rayvens/plugins/internal/wire"
)

// Sink tuning: events per batch at most (and events queued for the next
// batch at most), batches in flight at most, how long a batch the plugin
// could not write is sent again before its events are reported as failed
// (Options.SinkRetryFor, default), and the longest wait between two
// attempts. Batches are only as large as what is queued when the window
// has room, so a sink that keeps up gets small ones; one that does not
// gets large ones, and what each batch costs it (a write, an fsync) is
// spread over thousands of events.
const (
	SinkMaxBatch        = 4096
	SinkWindow          = 4
	DefaultSinkRetryFor = 2 * time.Minute
	SinkMaxBackoff      = 5 * time.Second
)

// ErrSinkClosed is returned by Deliver after Close.
var ErrSinkClosed = errors.New("the sink is closed")

// Sink is one sink instance in a plugin. It is an [engine.Sink]:
// stream.Subscribe(sink.Name(), engine.ToSink(sink.Name(), sink)). Deliver
// hands it events; each event's done is called once the plugin has
// acknowledged writing it (a whole batch, or the events of one that it
// says it wrote), or with an error once it is known that it never will. Its context derives from the host's: Host.Close
// ends it.
type Sink struct {
	h      *Host
	proc   *process
	kind   string
	name   string
	config *structpb.Struct
	encode camel.Encoder

	// queue is closed once run is over, and what is left in it fails:
	// every event queued is either taken by run or failed, none is lost.
	queue   *queue.Queue
	quit    chan struct{}
	quitOne sync.Once
	done    chan struct{} // closed once run is over
	ctx     context.Context
	abort   context.CancelFunc
	resent  atomic.Uint64
	acked   atomic.Uint64 // events the plugin said it wrote
	retries atomic.Uint64 // batches sent again after a failed write
}

// OpenSink validates config for a sink kind and starts the instance: it
// connects to the plugin (launching it if needed) right away. encode turns
// the stream's events into connector events; nil means [camel.Encode] (an
// Event as it is, a string as text, []byte as bytes, anything else as
// JSON).
func (h *Host) OpenSink(ctx context.Context, kind, name string, config map[string]any, encode camel.Encoder) (*Sink, error) {
	proc, kind, cfg, err := h.open(ctx, kind, camel.Sink, config)
	if err != nil {
		return nil, err
	}
	if encode == nil {
		encode = camel.Encode
	}
	s := &Sink{
		h: h, proc: proc, kind: kind, name: name, config: cfg, encode: encode,
		queue: queue.New(SinkMaxBatch),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	finished, err := h.instances.add()
	if err != nil {
		return nil, err
	}
	s.ctx, s.abort = context.WithCancel(h.ctx)
	go func() {
		defer finished()
		s.run()
	}()
	return s, nil
}

// Name returns the instance name.
func (s *Sink) Name() string { return s.name }

// Kind returns the instance's connector kind.
func (s *Sink) Kind() string { return s.kind }

// Acked returns how many events the plugin acknowledged writing.
func (s *Sink) Acked() uint64 { return s.acked.Load() }

// Retries returns how many times a batch the plugin could not write was
// sent again (with backoff; see Options.SinkRetryFor). Batches sent again
// after a plugin restart are counted by Resent instead.
func (s *Sink) Retries() uint64 { return s.retries.Load() }

// Resent returns how many events were sent again after a plugin restart
// (they may have been written twice).
func (s *Sink) Resent() uint64 { return s.resent.Load() }

// Deliver encodes ev and queues it. It blocks while the queue is full and
// the window of batches in flight is used up (backpressure). An event the
// protocol cannot carry (a header that is not valid UTF-8) is refused with
// the reason, and the others go on.
func (s *Sink) Deliver(ctx context.Context, ev engine.Event, done func(error)) error {
	select {
	case <-s.quit:
		return ErrSinkClosed
	default:
	}
	ce, err := s.encode(ev)
	if err != nil {
		return err
	}
	if err := wire.CheckEvent(ce); err != nil {
		return kindError(s.kind, err.Error())
	}
	return s.queue.Put(ctx, ce, done)
}

// Close waits until every queued event is acknowledged, then closes the
// instance. If ctx ends first, the remaining events fail.
func (s *Sink) Close(ctx context.Context) error {
	s.quitOne.Do(func() { close(s.quit) })
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.abort()
		<-s.done
		return fmt.Errorf("%s %q: closed before every event was acknowledged: %w", s.kind, s.name, ctx.Err())
	}
}

// run keeps a session with the plugin until the sink is closed, starting a
// new one when the plugin process is restarted; the batches not yet
// acknowledged carry over from one session to the next.
func (s *Sink) run() {
	endErr := ErrSinkClosed
	defer func() {
		s.queue.Close(ErrSinkClosed) // Deliver calls waiting to queue give up
		s.queue.FailAll(endErr)
		close(s.done)
	}()
	var unacked window
	for {
		conn, gen, err := s.proc.connect(s.ctx)
		if err == nil {
			err = newSinkSession(s, &unacked).run(conn)
			if err == nil {
				return
			}
			if s.ctx.Err() == nil && s.proc.gone(gen, err) {
				s.proc.broken(gen)
				continue
			}
		}
		switch {
		case s.ctx.Err() != nil:
			err = fmt.Errorf("%s: stopped before the plugin acknowledged the event", s.kind)
		default:
			err = statusError(s.kind, err)
		}
		endErr = err
		s.failAll(unacked.batches, err)
		return
	}
}

// failAll fails the pending batches and every event delivered from now on
// until Close, or until the host closes (run fails what is left then).
func (s *Sink) failAll(pending []*batch, err error) {
	for _, b := range pending {
		b.finish(err)
	}
	for {
		s.queue.FailAll(err)
		select {
		case <-s.queue.Ready():
		case <-s.quit:
			s.queue.FailAll(err)
			return
		case <-s.ctx.Done():
			return
		}
	}
}

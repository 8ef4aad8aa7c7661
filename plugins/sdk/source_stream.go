package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
)

// How a source instance batches its events.
const (
	// maxBatch is the most events in one batch.
	maxBatch = 256
	// maxBatchBytes bounds a batch's encoded size, well below gRPC's
	// default 4 MiB message limit; an event larger than that goes alone.
	maxBatchBytes = wire.MaxBatchBytes
	// queueSize is the most events emitted but not yet in a batch; emit
	// blocks beyond it.
	queueSize = 256
	// defaultWindow is the most unacknowledged batches when the host's
	// Open does not say.
	defaultWindow = 4
)

// errClosed is given to Event.Ack, and returned by emit, when the instance
// ends before the host has accepted an event.
var errClosed = errors.New("the source instance closed before the host accepted the event")

// Source serves one source instance: Open, then batches out and acks in.
func (s *server) Source(stream proto.Connector_SourceServer) error {
	open, err := receiveOpen(stream.Recv)
	if err != nil {
		return err
	}
	kind := s.sources[open.GetKind()]
	if kind == nil {
		return status.Errorf(codes.NotFound, "plugin %q has no source kind %q", s.plugin.Name, open.GetKind())
	}
	src, log, err := newInstance(s, open, kind.Kind(), kind.New)
	if err != nil {
		return err
	}
	window := int(open.GetWindow())
	if window == 0 {
		window = defaultWindow
	}
	log.Debug("source opened", "window", window)
	err = newSourceStream(stream, window, log).serve(src)
	log.Debug("source ended", "error", err)
	return err
}

// sourceStream runs a Source and moves what it emits to the host. Three
// goroutines share it: Run, which emits into queue; the sender, which
// makes batches from queue and sends them while the window has room; and
// the receiver, which takes the host's acks and frees room in the window.
//
// A batch is as large as what is queued when the window has room, up to
// maxBatch events and maxBatchBytes: there is no timer, so an event alone
// leaves at once and a flood leaves in full batches. When the window is
// full the queue fills and emit blocks, which is how a full stream on the
// host stops a source.
type sourceStream struct {
	stream proto.Connector_SourceServer
	log    *slog.Logger
	window int

	queue chan queued
	// credit holds one token per batch in the window: taken by the sender
	// before it makes a batch, returned by the receiver with the batch's ack.
	credit chan struct{}

	// emitMu is read-held by emit and write-held to close it, so that no
	// event enters the queue once Run has returned and the queue is drained
	// (each event is then acked exactly once).
	emitMu     sync.RWMutex
	emitClosed bool
	stop       chan struct{} // closed when Run returns: blocked emits give up
	ran        chan struct{} // closed once no event can enter the queue any more

	// carry is the event the last batch had no room for; only the sender
	// uses it.
	carry *queued

	mu      sync.Mutex
	unacked map[uint64][]func(error) // the Ack functions of each batch sent, by event (nil: none); nil once the instance is over
}

// queued is an emitted event waiting for a batch.
type queued struct {
	event camel.Event
	ack   func(error)
}

func newSourceStream(stream proto.Connector_SourceServer, window int, log *slog.Logger) *sourceStream {
	return &sourceStream{
		stream:  stream,
		log:     log,
		window:  window,
		queue:   make(chan queued, queueSize),
		credit:  make(chan struct{}, window),
		stop:    make(chan struct{}),
		ran:     make(chan struct{}),
		unacked: map[uint64][]func(error){},
	}
}

// serve runs src until it ends and its events are acknowledged, or until
// the host ends the stream. It returns nil when src ended normally (the
// host sees the end of the stream), an Aborted status with Run's error
// (also once its events are acknowledged), or why the stream broke. Events
// the host never acknowledged are acked with errClosed.
func (s *sourceStream) serve(src Source) error {
	ctx, cancel := context.WithCancel(s.stream.Context())
	defer cancel()

	var wg sync.WaitGroup
	ran := make(chan error, 1)
	wg.Go(func() {
		err := guard.Call(s.log, "Run", func() error { return src.Run(ctx, s.emit(ctx)) })
		s.closeEmit()
		ran <- err
	})
	sent := make(chan error, 1)
	wg.Go(func() { sent <- s.send(ctx) })
	// The receiver is not waited for: it is blocked in Recv until the host
	// acks or the stream ends, and gRPC ends the stream when serve returns.
	received := make(chan error, 1)
	go func() { received <- s.receive() }()

	err := s.await(ctx, ran, sent, received)
	cancel()
	wg.Wait()
	s.abandon()
	return err
}

// await waits for Run to return and the sender to send everything, then
// for the host to ack every batch; or for the stream to break first.
func (s *sourceStream) await(ctx context.Context, ran, sent, received <-chan error) error {
	var runErr error
	for ran != nil || sent != nil {
		select {
		case runErr = <-ran:
			ran = nil
		case err := <-sent:
			if err != nil {
				return err
			}
			sent = nil // the sender stops by itself only once Run has returned
		case err := <-received:
			return err // the host may stop waiting by closing its side (nil)
		}
	}
	// Nothing else takes room in the window now: holding all of it means
	// every batch is acknowledged.
	for range s.window {
		select {
		case s.credit <- struct{}{}:
		case err := <-received:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if runErr != nil {
		return status.Error(codes.Aborted, runErr.Error())
	}
	return nil
}

// emit returns the Emit function given to Run.
func (s *sourceStream) emit(instance context.Context) Emit {
	return func(ctx context.Context, ev Event) error {
		s.emitMu.RLock()
		defer s.emitMu.RUnlock()
		if s.emitClosed {
			return errClosed
		}
		// An event the wire cannot carry would break the whole batch it
		// joins: it is refused here, alone. The body is not copied: a
		// source hands its event over when it emits it.
		ce := camel.Event{Body: ev.Body, ContentType: ev.ContentType, Headers: ev.Headers}
		if err := wire.CheckEvent(ce); err != nil {
			return fmt.Errorf("the event cannot be sent to rayvens: %w", err)
		}
		select {
		case s.queue <- queued{event: ce, ack: ev.Ack}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-instance.Done():
			return errClosed
		case <-s.stop:
			return errClosed
		}
	}
}

// closeEmit makes emit fail from now on, once Run has returned.
func (s *sourceStream) closeEmit() {
	close(s.stop)
	s.emitMu.Lock()
	s.emitClosed = true
	s.emitMu.Unlock()
	close(s.ran)
}

// send makes batches and sends them, as the window allows, until Run has
// returned and the queue is empty (nil) or ctx ends or Send fails.
func (s *sourceStream) send(ctx context.Context) error {
	var seq uint64
	for {
		// Take room in the window before taking events, so that while the
		// window is full the events wait in the queue, where emit sees it.
		select {
		case s.credit <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		first, ok, err := s.next(ctx)
		if !ok {
			<-s.credit
			return err
		}
		events, acks := s.gather(first)
		seq++
		s.mu.Lock()
		s.unacked[seq] = acks
		s.mu.Unlock()
		if err := s.stream.SendMsg(&wire.SourceBatch{Batch: wire.Batch{Seq: seq, Events: events}}); err != nil {
			return err
		}
	}
}

// next waits for the event the next batch starts with. It reports false
// once Run has returned and every event is sent (nil), or when ctx ends.
func (s *sourceStream) next(ctx context.Context) (queued, bool, error) {
	if q := s.carry; q != nil {
		s.carry = nil
		return *q, true, nil
	}
	select {
	case q := <-s.queue:
		return q, true, nil
	case <-s.ran:
		select {
		case q := <-s.queue:
			return q, true, nil
		default:
			return queued{}, false, nil
		}
	case <-ctx.Done():
		return queued{}, false, ctx.Err()
	}
}

// gather makes a batch of first and what else is queued, up to maxBatch
// events and maxBatchBytes.
func (s *sourceStream) gather(first queued) ([]camel.Event, []func(error)) {
	events := []camel.Event{first.event}
	size := wire.EventSize(first.event)
	acks := []func(error){first.ack} // by event; nil where an event has none
	for len(events) < maxBatch {
		select {
		case q := <-s.queue:
			n := wire.EventSize(q.event)
			if size+n > maxBatchBytes {
				s.carry = &q
				return events, acks
			}
			size += n
			events = append(events, q.event)
			acks = append(acks, q.ack)
		default:
			return events, acks
		}
	}
	return events, acks
}

// receive takes the host's acks until the host closes its side of the
// stream (nil) or the stream breaks.
func (s *sourceStream) receive() error {
	for {
		req, err := s.stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		ack := req.GetAck()
		if ack == nil {
			return status.Error(codes.InvalidArgument, "a source instance takes only acks after its Open")
		}
		s.mu.Lock()
		acks, ok := s.unacked[ack.GetSeq()]
		delete(s.unacked, ack.GetSeq())
		s.mu.Unlock()
		if !ok {
			return status.Errorf(codes.InvalidArgument, "ack of batch %d, which is not awaiting one", ack.GetSeq())
		}
		var result error
		if msg := ack.GetError(); msg != "" {
			result = fmt.Errorf("the host did not accept the event: %s", msg)
		}
		failed := map[uint32]error{}
		for _, f := range ack.GetFailures() {
			failed[f.GetIndex()] = &FailedError{Reason: f.GetError()}
		}
		for i, f := range acks {
			if f == nil {
				continue
			}
			if err, ok := failed[uint32(i)]; ok && result == nil {
				f(err)
			} else {
				f(result)
			}
		}
		<-s.credit
	}
}

// abandon acks with errClosed every event emitted that the host did not
// accept, once the sender and Run are done: in unacknowledged batches
// first, then in emit order.
func (s *sourceStream) abandon() {
	s.mu.Lock()
	unacked := s.unacked
	s.unacked = nil
	s.mu.Unlock()
	for _, seq := range slices.Sorted(maps.Keys(unacked)) {
		for _, f := range unacked[seq] {
			if f != nil {
				f(errClosed)
			}
		}
	}
	if q := s.carry; q != nil && q.ack != nil {
		q.ack(errClosed)
	}
	for {
		select {
		case q := <-s.queue:
			if q.ack != nil {
				q.ack(errClosed)
			}
		default:
			return
		}
	}
}

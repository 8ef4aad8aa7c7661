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
	"github.com/rayvens/rayvens/plugins/internal/queue"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
)

// How a source instance batches its events. A flood moves in batches of
// thousands: each batch costs a message, a wakeup of each goroutine on
// its way and an ack, and at 256 events those were a third of the CPU an
// event cost on either side. The window times maxBatch is also what a
// source has in flight end to end: with less, the stages of the pipeline
// after it run dry and wait for each event in turn.
const (
	// maxBatch is the most events in one batch; a batch also ends once it
	// holds wire.MaxBatchBytes (an event larger than that goes alone).
	maxBatch = 4096
	// queueSize is the most events emitted but not yet in a batch; emit
	// blocks beyond it. A batch takes at most the whole queue.
	queueSize = maxBatch
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
	ss := newSourceStream(stream, window, log)
	if open.GetProgress() {
		ss.reads = newReads()
	}
	err = ss.serve(src)
	log.Debug("source ended", "error", err)
	return err
}

// sourceStream runs a Source and moves what it emits to the host. Three
// goroutines share it: Run (and any goroutine of the source), which emits
// into queue; the sender, which makes batches from queue and sends them
// while the window has room; and the receiver, which takes the host's acks
// and frees room in the window.
//
// A batch is as large as what is queued when the window has room, up to
// maxBatch events and wire.MaxBatchBytes: there is no timer, so an event alone
// leaves at once and a flood leaves in full batches. When the window is
// full the queue fills and emit blocks, which is how a full stream on the
// host stops a source.
type sourceStream struct {
	stream proto.Connector_SourceServer
	log    *slog.Logger
	window int

	// queue holds the events emitted and not yet in a batch, with their
	// Ack functions. It is closed when Run returns or the instance ends:
	// emit fails from then on, so each event queued is either sent or
	// acked by abandon, exactly once.
	queue *queue.Queue
	// credit holds one token per batch in the window: taken by the sender
	// before it makes a batch, returned by the receiver with the batch's ack.
	credit chan struct{}
	ran    chan struct{} // closed once no event can enter the queue any more

	mu      sync.Mutex
	unacked map[uint64][]func(error) // the Ack functions of each batch sent, by event (nil: none); nil once the instance is over

	// reads are Run's long reads, reported by a fourth goroutine when the
	// host takes progress reports (nil otherwise). It and the sender
	// share the stream: sendMu keeps their messages whole.
	reads  *reads
	sendMu sync.Mutex
}

func newSourceStream(stream proto.Connector_SourceServer, window int, log *slog.Logger) *sourceStream {
	return &sourceStream{
		stream:  stream,
		log:     log,
		window:  window,
		queue:   queue.New(queueSize),
		credit:  make(chan struct{}, window),
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
	// Once the instance is over, an emit waiting for room gives up.
	defer context.AfterFunc(ctx, func() { s.queue.Close(errClosed) })()

	var wg sync.WaitGroup
	runCtx := ctx
	if s.reads != nil {
		runCtx = context.WithValue(ctx, readsKey{}, s.reads)
		wg.Go(func() { s.reads.run(ctx, s.sendProgress) })
	}
	ran := make(chan error, 1)
	wg.Go(func() {
		err := guard.Call(s.log, "Run", func() error { return src.Run(runCtx, s.emit()) })
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
func (s *sourceStream) emit() Emit {
	return func(ctx context.Context, ev Event) error {
		// An event the wire cannot carry would break the whole batch it
		// joins: it is refused here, alone. The body is not copied: a
		// source hands its event over when it emits it.
		ce := camel.Event{Body: ev.Body, ContentType: ev.ContentType, Headers: ev.Headers}
		if err := wire.CheckEvent(ce); err != nil {
			return fmt.Errorf("the event cannot be sent to rayvens: %w", err)
		}
		return s.queue.Put(ctx, ce, ev.Ack)
	}
}

// closeEmit makes emit fail from now on, once Run has returned.
func (s *sourceStream) closeEmit() {
	s.queue.Close(errClosed)
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
		events, acks, err := s.next(ctx)
		if len(events) == 0 {
			<-s.credit
			return err
		}
		seq++
		s.mu.Lock()
		s.unacked[seq] = acks
		s.mu.Unlock()
		if err := s.sendMsg(&wire.SourceBatch{Batch: wire.Batch{Seq: seq, Events: events}}); err != nil {
			return err
		}
	}
}

// sendProgress sends a progress report.
func (s *sourceStream) sendProgress(p *proto.Progress) error {
	return s.sendMsg(&wire.SourceBatch{Progress: p})
}

func (s *sourceStream) sendMsg(m *wire.SourceBatch) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.stream.SendMsg(m)
}

// next waits for the events of the next batch: what is queued, up to
// maxBatch events and wire.MaxBatchBytes. It returns none once Run has
// returned and every event is sent (nil), or when ctx ends.
func (s *sourceStream) next(ctx context.Context) ([]camel.Event, []func(error), error) {
	for {
		if events, acks := s.queue.Take(); len(events) > 0 {
			return events, acks, nil
		}
		select {
		case <-s.queue.Ready():
		case <-s.ran:
			// Nothing can be queued any more: this is the last of it.
			events, acks := s.queue.Take()
			return events, acks, nil
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
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
	s.queue.Close(errClosed)
	s.queue.FailAll(errClosed)
}

package plugins

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
)

// maxFailureText bounds the reason sent to a plugin for a failed event.
const maxFailureText = 1 << 10

// sourceSession is one Source stream of the protocol with one plugin
// process. Three kinds of goroutine share it: the session's own (Run's),
// which emits each batch's events into the stream; the receiver, which
// reads batches from the plugin; and whichever engine goroutines finish
// the events, which send a batch's ack once its last event is done.
//
// The stream outlives the session: when Run is told to stop, it returns at
// once, and the stream stays open (linger) until every batch it emitted is
// done and acknowledged, so that a graceful stop still tells the plugin
// which events were delivered. Batches the plugin sends meanwhile are not
// read; the plugin learns when the stream ends that they were not taken.
type sourceSession struct {
	s      *Source
	stream proto.Connector_SourceClient
	cancel context.CancelFunc // ends the stream

	sendMu sync.Mutex     // acks are sent from the goroutines that finish events
	open   sync.WaitGroup // batches emitted and not yet done
}

// session runs one stream with one process; nil means the source ended or
// ctx ended.
func (s *Source) session(ctx context.Context, conn proto.ConnectorClient, emit func(context.Context, engine.Event) error) error {
	streamCtx, cancel := context.WithCancel(s.h.ctx)
	stream, err := conn.Source(streamCtx, wire.CallOptions()...)
	if err != nil {
		cancel()
		return err
	}
	ss := &sourceSession{s: s, stream: stream, cancel: cancel}
	defer ss.linger()
	open := &proto.Open{Kind: s.kind, Instance: s.name, Config: s.config, Window: SourceWindow, Taken: s.taken.Load(), Progress: true}
	if err := stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Open{Open: open}}); err != nil {
		return recvError(stream.RecvMsg(new(proto.SourceResponse)), err)
	}
	s.connected.Store(true)
	defer s.connected.Store(false)
	reads := new(readsInProgress)
	s.reads.Store(reads)
	defer s.reads.CompareAndSwap(reads, nil)
	batches := make(chan *wire.Batch)
	ended := make(chan error, 1)
	go func() { // ends with the stream, which linger ends
		for {
			resp := new(wire.SourceBatch)
			if err := stream.RecvMsg(resp); err != nil {
				ended <- err
				return
			}
			if resp.Progress != nil {
				reads.note(resp.Progress)
				continue
			}
			select {
			case batches <- &resp.Batch:
			case <-streamCtx.Done():
				return
			}
		}
	}()
	for {
		select {
		case b := <-batches:
			if !ss.emit(ctx, b, emit) {
				return nil // emit fails only when ctx ends or the stream is closed
			}
		case err := <-ended:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

// emit emits the events of b, each tracked end to end, and reports whether
// all were taken. A batch not wholly taken is never acknowledged: the
// plugin learns, when the stream ends, that it was not.
func (ss *sourceSession) emit(ctx context.Context, b *wire.Batch, emit func(context.Context, engine.Event) error) bool {
	// The batch's outcome waits for one part per event and one for the
	// emitting itself, so it cannot be decided half-way.
	n := len(b.Events)
	bt := &batchOutcome{ss: ss, seq: b.Seq}
	bt.left.Store(int64(n) + 1)
	ss.open.Add(1)
	for i, ev := range b.Events {
		if err := emit(ctx, engine.WithAck(ev, bt.doneFunc(i))); err != nil {
			// This event's done has had err; the later ones are not
			// emitted, and their parts end with the emitting's.
			bt.abandon(n - i)
			return false
		}
		ss.s.taken.Add(1)
	}
	bt.end(1)
	return true
}

// linger keeps the stream open until every batch emitted in the session is
// done, or the host closes, then ends it; it does so on a goroutine the
// host owns.
func (ss *sourceSession) linger() {
	finished, err := ss.s.h.instances.add()
	if err != nil {
		ss.cancel()
		return
	}
	go func() {
		defer finished()
		defer ss.cancel()
		done := make(chan struct{})
		go func() { // ends when the engine has finished every event, as it always does
			ss.open.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ss.s.h.ctx.Done():
		}
	}()
}

// ack sends the outcome of a batch; if the stream is gone, the plugin
// learns by its end that the batch was not acknowledged.
func (ss *sourceSession) ack(seq uint64, failures []*proto.EventFailure) {
	ss.sendMu.Lock()
	defer ss.sendMu.Unlock()
	_ = ss.stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Ack{Ack: &proto.Ack{Seq: seq, Failures: failures}}})
}

// batchOutcome gathers the outcomes of a batch's events. Its parts are
// counted with one atomic operation each: events of a batch are finished
// on many goroutines, and the count is touched once per event.
type batchOutcome struct {
	ss  *sourceSession
	seq uint64

	left      atomic.Int64 // parts not ended; the one that ends the last sends the ack
	abandoned atomic.Bool

	mu       sync.Mutex
	failures []*proto.EventFailure
}

func (bt *batchOutcome) doneFunc(i int) func(error) {
	return func(err error) {
		if err != nil {
			msg := err.Error()
			if len(msg) > maxFailureText {
				msg = msg[:maxFailureText] + "..."
			}
			msg = strings.ToValidUTF8(msg, "\uFFFD") // the wire carries UTF-8 only, and the cut may split a character
			bt.mu.Lock()
			bt.failures = append(bt.failures, &proto.EventFailure{Index: uint32(i), Error: msg})
			bt.mu.Unlock()
		}
		bt.end(1)
	}
}

// abandon marks the batch as not wholly taken and ends n parts: the
// emitting's and those of the events not emitted.
func (bt *batchOutcome) abandon(n int) {
	bt.abandoned.Store(true)
	bt.end(n)
}

// end ends n parts; the last one sends the batch's ack, unless the batch
// was abandoned.
func (bt *batchOutcome) end(n int) {
	if bt.left.Add(-int64(n)) != 0 {
		return
	}
	if !bt.abandoned.Load() {
		bt.mu.Lock()
		failures := bt.failures
		bt.mu.Unlock()
		bt.ss.ack(bt.seq, failures)
	}
	bt.ss.open.Done()
}

package plugins

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

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
	stream, err := conn.Source(streamCtx)
	if err != nil {
		cancel()
		return err
	}
	ss := &sourceSession{s: s, stream: stream, cancel: cancel}
	defer ss.linger()
	open := &proto.Open{Kind: s.kind, Instance: s.name, Config: s.config, Window: SourceWindow, Taken: s.taken.Load()}
	if err := stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Open{Open: open}}); err != nil {
		return recvError(stream.RecvMsg(new(proto.SourceResponse)), err)
	}
	batches := make(chan *proto.Batch)
	ended := make(chan error, 1)
	go func() { // ends with the stream, which linger ends
		for {
			resp, err := stream.Recv()
			if err != nil {
				ended <- err
				return
			}
			select {
			case batches <- resp.GetBatch():
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
func (ss *sourceSession) emit(ctx context.Context, b *proto.Batch, emit func(context.Context, engine.Event) error) bool {
	// The batch's outcome waits for one part per event emitted and one
	// for the emitting itself, so it cannot be decided half-way.
	bt := &batchOutcome{ss: ss, seq: b.GetSeq(), left: 1}
	ss.open.Add(1)
	for i, ev := range b.GetEvents() {
		bt.add()
		if err := emit(ctx, engine.WithAck(wire.EventFromProto(ev), bt.doneFunc(i))); err != nil {
			bt.abandon() // this event's done has had err; later ones are not emitted
			return false
		}
		ss.s.taken.Add(1)
	}
	bt.done()
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

// batchOutcome gathers the outcomes of a batch's events.
type batchOutcome struct {
	ss  *sourceSession
	seq uint64

	mu        sync.Mutex
	left      int
	failures  []*proto.EventFailure
	abandoned bool
}

func (bt *batchOutcome) add() {
	bt.mu.Lock()
	bt.left++
	bt.mu.Unlock()
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
		bt.done()
	}
}

// abandon marks the batch as not wholly taken and ends the emitting part.
func (bt *batchOutcome) abandon() {
	bt.mu.Lock()
	bt.abandoned = true
	bt.mu.Unlock()
	bt.done()
}

// done ends one part; the last one sends the batch's ack, unless the batch
// was abandoned.
func (bt *batchOutcome) done() {
	bt.mu.Lock()
	bt.left--
	last := bt.left == 0
	abandoned, failures := bt.abandoned, bt.failures
	bt.mu.Unlock()
	if !last {
		return
	}
	if !abandoned {
		bt.ss.ack(bt.seq, failures)
	}
	bt.ss.open.Done()
}

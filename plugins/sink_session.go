package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cenkalti/backoff/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
)

// batch is a run of events sent together; its seq is what the plugin's ack
// names.
type batch struct {
	seq          uint64
	events       []camel.Event
	dones        []func(error)
	attempts     int
	firstFailure time.Time // zero until a write of it failed
}

// finish reports every event of the batch done with err (nil: written).
func (b *batch) finish(err error) { b.finishFirst(len(b.events), err) }

// finishFirst reports the first n events of the batch done with err and
// removes them from it: what is left is what the plugin has still to
// write.
func (b *batch) finishFirst(n int, err error) {
	for _, d := range b.dones[:n] {
		d(err)
	}
	b.events, b.dones = b.events[n:], b.dones[n:]
}

// window is the batches sent and not yet acknowledged, oldest first, and
// the last sequence number used. It outlives a session: after a plugin
// restart its batches are sent again.
type window struct {
	batches []*batch
	seq     uint64
}

// take removes and returns the batch numbered seq, or nil (an ack of a
// batch from before a re-send).
func (w *window) take(seq uint64) *batch {
	for i, b := range w.batches {
		if b.seq == seq {
			w.batches = append(w.batches[:i], w.batches[i+1:]...)
			return b
		}
	}
	return nil
}

func (w *window) find(seq uint64) *batch {
	for _, b := range w.batches {
		if b.seq == seq {
			return b
		}
	}
	return nil
}

func (w *window) events() int {
	n := 0
	for _, b := range w.batches {
		n += len(b.events)
	}
	return n
}

// sinkSession is one Sink stream of the protocol with one plugin process.
// Two goroutines share it: run, which sends batches while the window has
// room and applies acks; and the receiver, which hands the plugin's acks to
// run and reports how the stream ended.
//
// States: open (Open sent, pending batches re-sent), sending (taking
// deliveries and acks), quitting (Close was called: no more deliveries are
// awaited once the queue is empty), and closing (CloseSend sent, waiting
// for the plugin to end the stream). run returns nil only from closing.
type sinkSession struct {
	s       *Sink
	unacked *window
	ctx     context.Context
	stream  proto.Connector_SinkClient
	acks    chan *proto.Ack
	recvErr chan error
	retry   *backoff.ExponentialBackOff
	// blocked: a write failed and the plugin writes nothing more until a
	// batch marked retry comes; the next batch sent is marked so.
	blocked bool
}

func newSinkSession(s *Sink, unacked *window) *sinkSession {
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval = 100 * time.Millisecond
	retry.MaxInterval = SinkMaxBackoff
	return &sinkSession{s: s, unacked: unacked, acks: make(chan *proto.Ack), recvErr: make(chan error, 1), retry: retry}
}

// run runs the session until the sink is closed (nil) or the stream fails
// (the error).
func (ss *sinkSession) run(conn proto.ConnectorClient) error {
	ctx, cancel := context.WithCancel(ss.s.ctx)
	defer cancel()
	ss.ctx = ctx
	if err := ss.open(conn); err != nil {
		return err
	}
	quit := ss.s.quit
	for {
		if quit == nil && len(ss.unacked.batches) == 0 && ss.s.queue.Len() == 0 {
			return ss.close()
		}
		var ready <-chan struct{}
		if len(ss.unacked.batches) < SinkWindow {
			ready = ss.s.queue.Ready()
		}
		var err error
		select {
		case <-ready:
			err = ss.sendNew()
		case ack := <-ss.acks:
			err = ss.apply(ack)
		case err = <-ss.recvErr:
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Unavailable, "the plugin closed the sink") // it is going away
			}
		case <-quit:
			quit = nil
		}
		if err != nil {
			return err
		}
	}
}

// open starts the stream, the receiver, and sends again the batches a
// previous session left unacknowledged.
func (ss *sinkSession) open(conn proto.ConnectorClient) error {
	stream, err := conn.Sink(ss.ctx, wire.CallOptions()...)
	if err != nil {
		return err
	}
	ss.stream = stream
	s := ss.s
	open := &proto.Open{Kind: s.kind, Instance: s.name, Config: s.config, Window: SinkWindow}
	if err := stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Open{Open: open}}); err != nil {
		return recvError(stream.RecvMsg(new(proto.SinkResponse)), err)
	}
	go ss.receive()
	if n := ss.unacked.events(); n > 0 {
		s.resent.Add(uint64(n))
		s.h.log.log(LevelWarn, s.proc.name+" "+s.name,
			fmt.Sprintf("re-sending %d events not acknowledged before the plugin stopped (they may be written twice)", n))
	}
	return ss.resend()
}

// resend sends every batch not yet written again, oldest first, the first
// one marked retry: the plugin writes nothing after a failure until then,
// so the sink sees the events in order.
func (ss *sinkSession) resend() error {
	ss.blocked = true
	for _, b := range ss.unacked.batches {
		if err := ss.send(b); err != nil {
			return err
		}
	}
	return nil
}

// receive hands the plugin's acks to run until the stream ends.
func (ss *sinkSession) receive() {
	for {
		r, err := ss.stream.Recv()
		if err != nil {
			ss.recvErr <- err
			return
		}
		select {
		case ss.acks <- r.GetAck():
		case <-ss.ctx.Done():
			return
		}
	}
}

// sendNew makes a batch of what is queued, up to SinkMaxBatch events and
// wire.MaxBatchBytes, and sends it.
func (ss *sinkSession) sendNew() error {
	events, dones := ss.s.queue.Take()
	if len(events) == 0 {
		return nil // taken with the batch before
	}
	ss.unacked.seq++
	b := &batch{seq: ss.unacked.seq, events: events, dones: dones}
	ss.unacked.batches = append(ss.unacked.batches, b)
	return ss.send(b)
}

// apply handles one ack. The events it says were written are done, and
// one that failed for good (a permanent error) fails at once. What is left
// of the batch is sent again, with every later batch, in order: at once
// after a permanent error (those events were not tried); after another
// failure, with backoff (reset by any event written) until
// Options.SinkRetryFor has passed since the batch first failed with
// nothing written since, and then its events fail. A batch the plugin
// skipped (an earlier one failed) goes out again with that round.
func (ss *sinkSession) apply(ack *proto.Ack) error {
	b := ss.unacked.find(ack.GetSeq())
	if b == nil || ack.GetSkipped() {
		return nil // an ack from before a re-send, or of a batch the next round sends again
	}
	out := ss.settle(b, ack)
	switch {
	case out.Rest == 0:
		return nil
	case out.Failed > 0:
		return ss.resend() // the plugin waits for the events after the failed one
	}
	s := ss.s
	b.attempts++
	if b.firstFailure.IsZero() {
		b.firstFailure = time.Now()
	}
	if since := time.Since(b.firstFailure); since >= s.h.opts.SinkRetryFor {
		ss.unacked.take(b.seq).finish(kindError(s.kind, fmt.Sprintf("not written after %d attempts over %s: %s",
			b.attempts, since.Round(time.Second), ack.GetError())))
		return ss.resend() // the plugin waits for a retry to write the next ones
	}
	attrs := []any{"attempt", b.attempts, "error", ack.GetError()}
	if out.Written > 0 {
		attrs = append(attrs, "written", out.Written, "left", out.Rest)
	}
	s.h.log.log(LevelWarn, s.proc.name+" "+s.name, "could not write a batch; retrying", attrs...)
	s.retries.Add(1)
	if err := engine.Sleep(ss.ctx, ss.retry.NextBackOff()); err != nil {
		return err
	}
	return ss.resend()
}

// settle finishes what ack decided of b's events: those written are done,
// one that failed for good fails with the plugin's reason. They leave the
// batch, and the batch leaves the window once nothing is left of it. An
// event written is progress: the backoff and the batch's retry budget
// start again.
func (ss *sinkSession) settle(b *batch, ack *proto.Ack) wire.SinkOutcome {
	out := wire.ReadSinkAck(ack, len(b.events))
	if out.Written > 0 {
		ss.s.acked.Add(uint64(out.Written))
		b.finishFirst(out.Written, nil)
		b.attempts, b.firstFailure = 0, time.Time{}
		ss.retry.Reset()
	}
	if out.Failed > 0 {
		b.finishFirst(out.Failed, kindError(ss.s.kind, "not written: "+ack.GetError()))
	}
	if len(b.events) == 0 {
		ss.unacked.take(b.seq)
	}
	return out
}

// send sends one batch; when the stream is broken, it returns the error
// that broke it.
func (ss *sinkSession) send(b *batch) error {
	retry := ss.blocked // the first batch after a failure unblocks the plugin
	ss.blocked = false
	err := ss.stream.SendMsg(&wire.SinkBatch{Batch: wire.Batch{Seq: b.seq, Events: b.events, Retry: retry}})
	if err != nil {
		return recvError(ss.waitRecv(), err)
	}
	return nil
}

// close ends a session whose window is empty: CloseSend, then wait for the
// plugin to end the stream.
func (ss *sinkSession) close() error {
	if err := ss.stream.CloseSend(); err != nil {
		return err
	}
	if err := ss.waitRecv(); !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// waitRecv returns the error that ended the receiving side of the stream.
// Acks may still arrive before it: what they decide is settled (events
// written are done, one that failed for good fails), and what is left of
// their batch stays pending, to be sent again.
func (ss *sinkSession) waitRecv() error {
	for {
		select {
		case err := <-ss.recvErr:
			return err
		case ack := <-ss.acks:
			if b := ss.unacked.find(ack.GetSeq()); b != nil && !ack.GetSkipped() {
				ss.settle(b, ack)
			}
		case <-ss.ctx.Done():
			return ss.ctx.Err()
		}
	}
}

package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
)

// Sink tuning: events per batch at most, batches in flight at most, and how
// many times a batch the plugin could not write is sent before its events
// are reported as failed.
const (
	SinkMaxBatch    = 256
	SinkWindow      = 4
	SinkMaxAttempts = 5
)

// ErrSinkClosed is returned by Deliver after Close.
var ErrSinkClosed = errors.New("the sink is closed")

// Sink is one sink instance in a plugin. Deliver hands it events; each
// event's done is called once the plugin has acknowledged the batch that
// carried it, or with an error once it is known that it never will be.
type Sink struct {
	h      *Host
	proc   *process
	kind   string
	name   string
	config *structpb.Struct

	in      chan delivery
	quit    chan struct{}
	quitOne sync.Once
	done    chan struct{}
	ctx     context.Context
	abort   context.CancelFunc
	resent  atomic.Uint64
}

type delivery struct {
	ev   *proto.Event
	done func(error)
}

type batch struct {
	seq      uint64
	events   []*proto.Event
	dones    []func(error)
	attempts int
}

// OpenSink validates config for a sink kind and starts the instance: it
// connects to the plugin (launching it if needed) right away.
func (h *Host) OpenSink(ctx context.Context, kind, name string, config map[string]any) (*Sink, error) {
	proc, cfg, err := h.open(ctx, kind, SinkKind, config)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		h: h, proc: proc, kind: kind, name: name, config: cfg,
		in:   make(chan delivery, SinkMaxBatch),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.ctx, s.abort = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// Name returns the instance name.
func (s *Sink) Name() string { return s.name }

// Resent returns how many events were sent again after a plugin restart
// (they may have been written twice).
func (s *Sink) Resent() uint64 { return s.resent.Load() }

// Deliver queues ev. It blocks while the queue is full and the window of
// batches in flight is used up (backpressure).
func (s *Sink) Deliver(ctx context.Context, ev Event, done func(error)) error {
	select {
	case <-s.quit:
		return ErrSinkClosed
	default:
	}
	select {
	case s.in <- delivery{ev: toProto(ev), done: done}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrSinkClosed
	}
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

func (s *Sink) run() {
	defer close(s.done)
	var (
		pending []*batch
		seq     uint64
	)
	for {
		conn, gen, err := s.proc.connect(s.ctx)
		if err == nil {
			err = s.session(conn, &pending, &seq)
			if err == nil {
				return
			}
			if processGone(err) && s.ctx.Err() == nil {
				s.proc.broken(gen)
				continue
			}
		}
		if s.ctx.Err() != nil {
			err = fmt.Errorf("%s: stopped before the plugin acknowledged the event", s.kind)
		} else if st, ok := status.FromError(err); ok {
			err = kindError(s.kind, st.Message())
		}
		s.failAll(pending, err)
		return
	}
}

// failAll fails the pending batches and every event delivered from now on
// until Close.
func (s *Sink) failAll(pending []*batch, err error) {
	for _, b := range pending {
		for _, d := range b.dones {
			d(err)
		}
	}
	for {
		select {
		case d := <-s.in:
			d.done(err)
		case <-s.quit:
			for {
				select {
				case d := <-s.in:
					d.done(err)
				default:
					return
				}
			}
		case <-s.ctx.Done():
			return
		}
	}
}

// session runs one stream with one process until the sink is closed
// (nil), or the stream fails (the error).
func (s *Sink) session(conn proto.ConnectorClient, pending *[]*batch, seq *uint64) error {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stream, err := conn.Sink(ctx)
	if err != nil {
		return err
	}
	open := &proto.Open{Kind: s.kind, Instance: s.name, Config: s.config, Window: SinkWindow}
	if err := stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Open{Open: open}}); err != nil {
		return recvError(stream.RecvMsg(new(proto.SinkResponse)), err)
	}
	acks := make(chan *proto.Ack)
	recvErr := make(chan error, 1)
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case acks <- r.GetAck():
			case <-ctx.Done():
				return
			}
		}
	}()
	// waitRecv returns the error that ended the receiving side of the
	// stream. Acks may still arrive before it: successes are applied (their
	// events are done), failures leave their batch pending, to be sent again.
	waitRecv := func() error {
		for {
			select {
			case err := <-recvErr:
				return err
			case ack := <-acks:
				if i := indexOf(*pending, ack.GetSeq()); i >= 0 && ack.GetError() == "" {
					b := (*pending)[i]
					*pending = append((*pending)[:i], (*pending)[i+1:]...)
					for _, d := range b.dones {
						d(nil)
					}
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	send := func(b *batch) error {
		return stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Batch{Batch: &proto.Batch{Seq: b.seq, Events: b.events}}})
	}
	if n := countEvents(*pending); n > 0 {
		s.resent.Add(uint64(n))
		s.h.log.log(LevelWarn, s.proc.name+" "+s.name,
			fmt.Sprintf("re-sending %d events not acknowledged before the plugin stopped (they may be written twice)", n))
	}
	for _, b := range *pending {
		if err := send(b); err != nil {
			return recvError(waitRecv(), err)
		}
	}
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval = 100 * time.Millisecond
	quit := s.quit
	quitting := false
	for {
		if quitting && len(*pending) == 0 && len(s.in) == 0 {
			if err := stream.CloseSend(); err != nil {
				return err
			}
			if err := waitRecv(); !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}
		var in chan delivery
		if len(*pending) < SinkWindow {
			in = s.in
		}
		select {
		case d := <-in:
			*seq++
			b := &batch{seq: *seq, events: []*proto.Event{d.ev}, dones: []func(error){d.done}}
			size := len(d.ev.GetBody())
		fill:
			for len(b.events) < SinkMaxBatch && size < wire.MaxBatchBytes {
				select {
				case d := <-s.in:
					b.events = append(b.events, d.ev)
					b.dones = append(b.dones, d.done)
					size += len(d.ev.GetBody())
				default:
					break fill
				}
			}
			*pending = append(*pending, b)
			if err := send(b); err != nil {
				return recvError(waitRecv(), err)
			}
		case ack := <-acks:
			i := indexOf(*pending, ack.GetSeq())
			if i < 0 {
				continue // an ack from before a resend
			}
			b := (*pending)[i]
			if ack.GetError() == "" {
				*pending = append((*pending)[:i], (*pending)[i+1:]...)
				for _, d := range b.dones {
					d(nil)
				}
				retry.Reset()
				continue
			}
			b.attempts++
			if b.attempts >= SinkMaxAttempts || ack.GetPermanent() {
				*pending = append((*pending)[:i], (*pending)[i+1:]...)
				err := kindError(s.kind, fmt.Sprintf("not written after %d attempts: %s", b.attempts, ack.GetError()))
				if ack.GetPermanent() {
					err = kindError(s.kind, "not written: "+ack.GetError())
				}
				for _, d := range b.dones {
					d(err)
				}
				continue
			}
			s.h.log.log(LevelWarn, s.proc.name+" "+s.name, "could not write a batch; retrying",
				"attempt", b.attempts, "error", ack.GetError())
			if err := engine.Sleep(ctx, retry.NextBackOff()); err != nil {
				return err
			}
			if err := send(b); err != nil {
				return recvError(waitRecv(), err)
			}
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Internal, "the plugin closed the sink")
			}
			return err
		case <-quit:
			quit = nil
			quitting = true
		}
	}
}

func indexOf(pending []*batch, seq uint64) int {
	for i, b := range pending {
		if b.seq == seq {
			return i
		}
	}
	return -1
}

func countEvents(pending []*batch) int {
	n := 0
	for _, b := range pending {
		n += len(b.events)
	}
	return n
}

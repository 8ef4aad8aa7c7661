package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rayvens/rayvens/camel"
)

// Mode is how the processes subscribing to a stream share its events.
type Mode int

const (
	// Broadcast gives every process every event, in order.
	Broadcast Mode = iota
	// WorkQueue gives each event to one of the processes subscribing with
	// the same subscription name.
	WorkQueue
)

// A Subscription delivers a stream's events to a handler until it is
// closed.
type Subscription struct {
	s      *Stream
	name   string
	mode   Mode
	cons   jetstream.Consumer
	handle func(ev camel.Event, done func(error))
	slots  chan struct{} // a token per event the handler holds
	ctx    context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	held map[*held]struct{} // the events the handler holds
}

type held struct{ msg jetstream.Msg }

// Subscribe makes (or finds again) the durable consumer sub of the
// stream in mode, and hands its events to handle until the subscription
// is closed. handle is called from the subscription's goroutine, one
// event at a time, and must not block: it calls done, at once or later
// from any goroutine, when the event is handled (nil) or failed (an
// error: the event is delivered again after Config.RetryDelay).
func (s *Stream) Subscribe(ctx context.Context, sub string, mode Mode, handle func(ev camel.Event, done func(error))) (*Subscription, error) {
	if sub == "" {
		return nil, fmt.Errorf("cluster: stream %q: a subscription needs a name", s.name)
	}
	cfg := s.c.cfg
	cc := jetstream.ConsumerConfig{
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1, // an event is never dropped
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	inFlight := 1
	switch mode {
	case Broadcast:
		cc.Durable = "b_" + encode(cfg.Name) + "_" + encode(sub)
		cc.Description = fmt.Sprintf("Rayvens subscription %q of process %q", sub, cfg.Name)
		cc.MaxAckPending = broadcastBatch
	case WorkQueue:
		cc.Durable = "w_" + encode(sub)
		cc.Description = fmt.Sprintf("Rayvens work queue %q", sub)
		cc.MaxAckPending = 1 << 16 // each process holds at most WorkInFlight
		inFlight = cfg.WorkInFlight
	default:
		return nil, fmt.Errorf("cluster: stream %q: unknown mode %d", s.name, mode)
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("cluster: stream %q: subscription %q: %w", s.name, sub, err)
	}
	subCtx, stop := context.WithCancel(context.Background())
	x := &Subscription{
		s: s, name: sub, mode: mode, cons: cons, handle: handle,
		slots: make(chan struct{}, inFlight),
		ctx:   subCtx, stop: stop,
		held: map[*held]struct{}{},
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		stop()
		return nil, errors.New("cluster: the cluster is closed")
	}
	c.subs = append(c.subs, x)
	x.wg.Add(2)
	go x.deliver()
	go x.keepAlive()
	return x, nil
}

// broadcastBatch is the number of events a Broadcast subscription
// fetches at once, and the server lets it hold unacknowledged. It is 1:
// JetStream redelivers the events handed back (by Close, or by a dead
// process after AckWait) in no particular order, so the order of a
// restart holds only if the next event is sent after the previous one is
// acknowledged. (An ordered consumer with a consumer recreated at the
// acknowledgement floor on Subscribe would allow more in flight.)
const broadcastBatch = 1

// deliver fetches events and hands them over: for a work queue as the
// handler has room for them, for Broadcast one after the other.
func (x *Subscription) deliver() {
	defer x.wg.Done()
	log := x.s.c.cfg.Log
	wait := 50 * time.Millisecond
	for {
		n := broadcastBatch
		if x.mode == WorkQueue {
			// Take one place (waiting for it), then as many as are free.
			select {
			case x.slots <- struct{}{}:
			case <-x.ctx.Done():
				return
			}
			for n = 1; n < cap(x.slots) && tryTake(x.slots); n++ {
			}
		}
		fctx, cancel := context.WithTimeout(x.ctx, 2*time.Second)
		batch, err := x.cons.Fetch(n, jetstream.FetchContext(fctx))
		if err == nil {
			for msg := range batch.Messages() {
				switch {
				case x.ctx.Err() != nil:
					_ = msg.Nak() // for another process or the next run, at once
				case x.mode == WorkQueue:
					n--
					x.hand(msg)
				default:
					x.handInOrder(msg)
				}
			}
			err = batch.Error()
		}
		cancel()
		for ; x.mode == WorkQueue && n > 0; n-- {
			<-x.slots
		}
		switch {
		case x.ctx.Err() != nil:
			return
		case err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrNoMessages):
			wait = 50 * time.Millisecond
		default:
			// A server lost, a leader being elected: try again soon.
			log.Warn("cannot fetch events from NATS; trying again", "stream", x.s.name, "subscription", x.name, "error", err)
			if !x.sleep(wait) {
				return
			}
			wait = min(2*wait, 2*time.Second)
		}
	}
}

// sleep waits for d unless the subscription is closed first.
func (x *Subscription) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-x.ctx.Done():
		return false
	}
}

// handInOrder gives msg to the handler and waits for done, giving it
// again after Config.RetryDelay while done reports an error: the next
// event must not overtake it. Closed meanwhile, the subscription hands
// msg back to the server, to come first to the next run.
func (x *Subscription) handInOrder(msg jetstream.Msg) {
	defer x.hold(msg)()
	for {
		result := make(chan error, 1)
		var once sync.Once
		x.handle(event(msg), func(err error) { once.Do(func() { result <- err }) })
		select {
		case err := <-result:
			if err == nil {
				_ = msg.Ack() // lost, it is delivered again: at least once
				return
			}
			if x.sleep(x.s.c.cfg.RetryDelay) {
				continue
			}
		case <-x.ctx.Done():
		}
		_ = msg.Nak()
		return
	}
}

// hold counts msg among the events the handler holds, for keepAlive,
// until the function it returns is called.
func (x *Subscription) hold(msg jetstream.Msg) (release func()) {
	h := &held{msg: msg}
	x.mu.Lock()
	x.held[h] = struct{}{}
	x.mu.Unlock()
	return func() {
		x.mu.Lock()
		delete(x.held, h)
		x.mu.Unlock()
	}
}

func tryTake(slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// hand gives msg to the handler with its done function.
func (x *Subscription) hand(msg jetstream.Msg) {
	release := x.hold(msg)
	var once sync.Once
	x.handle(event(msg), func(err error) {
		once.Do(func() {
			release()
			if err == nil {
				_ = msg.Ack() // lost, it is delivered again: at least once
			} else {
				_ = msg.NakWithDelay(x.s.c.cfg.RetryDelay)
			}
			<-x.slots
		})
	})
}

// keepAlive tells the server that the events the handler holds are in
// progress, so that only those of a dead process are delivered again.
func (x *Subscription) keepAlive() {
	defer x.wg.Done()
	tick := time.NewTicker(x.s.c.cfg.AckWait / 3)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-x.ctx.Done():
			return
		}
		x.mu.Lock()
		msgs := make([]jetstream.Msg, 0, len(x.held))
		for h := range x.held {
			msgs = append(msgs, h.msg)
		}
		x.mu.Unlock()
		for _, msg := range msgs {
			_ = msg.InProgress()
		}
	}
}

// Close stops the delivery of events and waits for the subscription's
// goroutines. The consumer stays in the server, for a restart; the events
// the handler still holds are delivered again after Config.AckWait unless
// it calls done.
func (x *Subscription) Close() {
	x.stop()
	x.wg.Wait()
	c := x.s.c
	c.mu.Lock()
	c.subs = slices.DeleteFunc(c.subs, func(s *Subscription) bool { return s == x })
	c.mu.Unlock()
}

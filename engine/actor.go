package engine

import (
	"context"
	"fmt"
)

// ActorHandler processes one event with the actor's state. Its result goes to
// the subscription's derived stream like a [Handler]'s.
type ActorHandler func(ctx context.Context, state any, ev Event) (Event, error)

// Actor is a stateful subscriber: one goroutine and a bounded mailbox shared
// by every subscription to its methods, so its state is only ever touched by
// that goroutine and events are processed in mailbox order.
type Actor struct {
	e       *Engine
	name    string
	mailbox chan actorMsg
	quit    chan struct{}
}

type actorMsg struct {
	h      ActorHandler
	from   *Stream
	sn     *subscription
	ev     Event
	rec    *record
	timing timing // see Engine.SetObserver
}

// NewActor starts an actor. init runs first, on the actor's goroutine, and
// returns the state every method receives; a nil init gives a nil state. If
// init fails, the failure is reported and every event sent to the actor is
// reported as not processed. mailbox <= 0 means DefaultCapacity.
func (e *Engine) NewActor(name string, init func(ctx context.Context) (any, error), mailbox int) (*Actor, error) {
	if mailbox <= 0 {
		mailbox = DefaultCapacity
	}
	a := &Actor{e: e, name: name, mailbox: make(chan actorMsg, mailbox), quit: make(chan struct{})}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	e.actors = append(e.actors, a)
	// An actor that is initializing is work in progress: the engine is not
	// idle (and a graceful shutdown does not cancel init) until init is done.
	e.pending.add(1)
	e.goroutine(func() { a.run(init) })
	e.mu.Unlock()
	return a, nil
}

// Name returns the actor's name.
func (a *Actor) Name() string { return a.name }

func (a *Actor) run(init func(ctx context.Context) (any, error)) {
	var state any
	var initErr error
	if init != nil {
		state, initErr = safeCall(func() (Event, error) { return init(a.e.ctx) })
		if initErr != nil {
			initErr = fmt.Errorf("actor %q: init failed: %w", a.name, initErr)
			a.e.report(initErr)
		}
	}
	a.e.pending.add(-1)
	defer a.abandon()
	t := newTurn(a.e)
	defer t.leave()
	for n := 1; !a.e.halted.Load(); n++ {
		var m actorMsg
		select {
		case m = <-a.mailbox:
		default:
			t.leave() // before waiting
			select {
			case m = <-a.mailbox:
			case <-a.quit:
				return
			}
		}
		if initErr != nil {
			m.from.finish(&t, m.sn, m.ev, nil, initErr, m.rec)
		} else {
			t.enter()
			res, err := safeCall(func() (Event, error) { return m.h(&t, state, m.ev) })
			m.timing.done()
			m.from.finish(&t, m.sn, m.ev, res, err, m.rec)
		}
		m.from.release()
		if n%turnLength == 0 {
			t.leave() // a goroutine waiting for the interlock gets it now
		}
	}
}

// Method returns a subscriber that calls h with the actor's state for each
// event. name is the default subscription name.
func (a *Actor) Method(name string, h ActorHandler) Subscriber {
	return actorMethod{a: a, name: name, h: h}
}

type actorMethod struct {
	a    *Actor
	name string
	h    ActorHandler
}

func (m actorMethod) deliver(t *turn, from *Stream, sn *subscription, ev Event, rec *record) {
	from.hold()
	msg := actorMsg{h: m.h, from: from, sn: sn, ev: ev, rec: rec, timing: sn.startTiming(from)}
	select {
	case m.a.mailbox <- msg:
		return
	default:
	}
	t.leave() // before waiting for room
	select {
	case m.a.mailbox <- msg:
	case <-from.e.ctx.Done():
		from.release()
		rec.finish(from.fail("subscriber", sn.name, ev, ErrClosed))
	}
}

func (m actorMethod) target() *Stream { return nil }

func (m actorMethod) defaultName() string {
	if m.name == "" {
		return m.a.name
	}
	return m.a.name + "." + m.name
}

// abandon fails the records of the messages a stopped actor leaves.
func (a *Actor) abandon() {
	for {
		select {
		case m := <-a.mailbox:
			m.rec.finish(ErrClosed)
		default:
			return
		}
	}
}

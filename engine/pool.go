package engine

import (
	"fmt"
)

// Pool is a task subscriber: N goroutines that process events in parallel,
// with no ordering between events. It is shared by every stream subscribed
// to it; its queue holds at most N waiting events.
type Pool struct {
	e     *Engine
	name  string
	h     Handler
	queue chan poolMsg
	quit  chan struct{}
}

type poolMsg struct {
	from   *Stream
	sn     *subscription
	ev     Event
	rec    *record
	timing timing // see Engine.SetObserver
}

// NewPool starts a pool of parallelism goroutines running h.
func (e *Engine) NewPool(name string, h Handler, parallelism int) (*Pool, error) {
	if parallelism <= 0 {
		return nil, fmt.Errorf("task %q: parallelism must be at least 1, got %d", name, parallelism)
	}
	p := &Pool{e: e, name: name, h: h, queue: make(chan poolMsg, parallelism), quit: make(chan struct{})}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	e.pools = append(e.pools, p)
	for range parallelism {
		e.goroutine(p.work)
	}
	e.mu.Unlock()
	return p, nil
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

func (p *Pool) work() {
	defer p.abandon()
	t := newTurn(p.e)
	defer t.leave()
	for n := 1; !p.e.halted.Load(); n++ {
		var m poolMsg
		select {
		case m = <-p.queue:
		default:
			t.leave() // before waiting
			select {
			case m = <-p.queue:
			case <-p.quit:
				return
			}
		}
		t.enter()
		res, err := safeCall(func() (Event, error) { return p.h(&t, m.ev) })
		m.timing.done()
		m.from.finish(&t, m.sn, m.ev, res, err, m.rec)
		m.from.release()
		if n%turnLength == 0 {
			t.leave() // a goroutine waiting for the interlock gets it now
		}
	}
}

func (p *Pool) deliver(t *turn, from *Stream, sn *subscription, ev Event, rec *record) {
	from.hold()
	msg := poolMsg{from: from, sn: sn, ev: ev, rec: rec, timing: sn.startTiming(from)}
	select {
	case p.queue <- msg:
		return
	default:
	}
	t.leave() // before waiting for a worker
	select {
	case p.queue <- msg:
	case <-from.e.ctx.Done():
		from.release()
		rec.finish(from.fail("subscriber", sn.name, ev, ErrClosed))
	}
}

func (p *Pool) target() *Stream     { return nil }
func (p *Pool) defaultName() string { return p.name }

// abandon fails the records of the messages a stopped pool leaves.
func (p *Pool) abandon() {
	for {
		select {
		case m := <-p.queue:
			m.rec.finish(ErrClosed)
		default:
			return
		}
	}
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBatchTimeout is how long a partial batch waits for more events.
const DefaultBatchTimeout = 10 * time.Second

// StreamConfig configures a [Stream]. The zero value is a stream with the
// default capacity and no batching.
type StreamConfig struct {
	// Capacity bounds the inbox; a full inbox blocks Append. Default
	// DefaultCapacity.
	Capacity int
	// BatchSize, when positive, groups events into batches of that many;
	// operators and subscribers then receive batches.
	BatchSize int
	// BatchTimeout delivers a partial batch this long after its first event.
	// Default DefaultBatchTimeout.
	BatchTimeout time.Duration
	// MakeBatch turns the events of one batch into the event subscribers
	// receive. Default: the []Event itself.
	MakeBatch func([]Event) Event
	// Accept, when set, sees every non-nil event given to Append and
	// TryAppend (and so every event from a source, a Forward or a derived
	// stream's subscriber) before the stream takes it: it returns the event
	// to queue, nil to drop it, or an error that refuses it, which Append
	// returns. Code that hands a stream to other code which needs one
	// representation of events (a script host converting Go values, say)
	// sets it. Default: every event is taken as it is.
	Accept func(Event) (Event, error)
	// DeadLetter, when set, is where an event goes when a subscriber or
	// operator of this stream fails on it (a sink that cannot write it,
	// too): instead of being reported as failed, the event is appended to
	// DeadLetter as a dead-letter record, a map[string]any with the keys
	// "stream" and "subscriber" (the stream's name and the failing
	// subscriber's or operator's), "error" (the failure's message) and
	// "event" (the event, or batch, that failed). The failed event is
	// handled once its record is, and its acknowledgement says so: a
	// failure of the record's own subscribers fails the event. Events a
	// forced shutdown abandons are not dead-lettered. The stream must
	// belong to the same engine; since it exists before this one, dead
	// letters cannot go round in a cycle.
	DeadLetter *Stream
}

// Operator transforms each event appended to a stream (each batch, when the
// stream batches) before it reaches the subscribers. Returning a nil event
// drops it.
type Operator func(ctx context.Context, ev Event) (Event, error)

// Stats are a stream's counters.
type Stats struct {
	Appended     uint64 // events accepted by Append (nil events excluded)
	Delivered    uint64 // events and batches fanned out to the subscribers
	Dropped      uint64 // events an operator dropped or failed on
	Errors       uint64 // subscriber, operator and source failures
	DeadLettered uint64 // failures sent to the dead-letter stream instead
	Pending      int64  // events accepted and not yet fully processed
	Subscribers  int
	Sources      int
}

// Stream is a named, bounded queue of events with one dispatch goroutine that
// delivers each event to the subscribers registered when it was appended.
// The goroutine runs while the stream has work (see queue).
type Stream struct {
	e    *Engine
	name string
	cfg  StreamConfig
	q    *queue
	quit chan struct{}

	routes atomic.Pointer[routes] // replaced as a whole under mu
	accept atomic.Pointer[func(Event) (Event, error)]

	pending inflight
	batched atomic.Int64
	turn    turn // the dispatcher's

	appended           atomic.Uint64 // written by appenders
	_                  [56]byte      // the dispatcher's counters on another cache line
	delivered, dropped atomic.Uint64
	errors             atomic.Uint64
	deadLettered       atomic.Uint64

	mu      sync.Mutex // serializes changes to routes and sources
	sources map[string]*sourceRun
}

// routes is an immutable snapshot of a stream's operators and subscribers.
// Each queued event carries the snapshot current when it was appended.
type routes struct {
	ops  []namedOperator
	subs []*subscription
}

type subscription struct {
	name    string
	sub     Subscriber
	derived *Stream                             // where non-nil results go; nil for Forward
	observe atomic.Pointer[func(time.Duration)] // see timer
}

type item struct {
	ev  Event
	r   *routes
	rec *record // nil unless appended with an acknowledgement
}

// NewStream creates a stream and starts its dispatch goroutine. An empty name
// gets a generated one; a name already taken is an error.
func (e *Engine) NewStream(name string, cfg StreamConfig) (*Stream, error) {
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	if cfg.BatchSize < 0 {
		return nil, fmt.Errorf("batch size must be positive, got %d", cfg.BatchSize)
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = DefaultBatchTimeout
	}
	if cfg.MakeBatch == nil {
		cfg.MakeBatch = func(evs []Event) Event { return evs }
	}
	if cfg.DeadLetter != nil && cfg.DeadLetter.e != e {
		return nil, fmt.Errorf("the dead-letter stream %q belongs to another engine", cfg.DeadLetter.name)
	}
	s := &Stream{
		e:       e,
		name:    name,
		cfg:     cfg,
		quit:    make(chan struct{}),
		sources: map[string]*sourceRun{},
	}
	s.q = newQueue(cfg.Capacity, &s.pending, &e.pending)
	s.turn = newTurn(e)
	s.routes.Store(&routes{})
	if cfg.Accept != nil {
		s.accept.Store(&cfg.Accept)
	}
	if err := e.register(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Name returns the stream's name.
func (s *Stream) Name() string { return s.name }

// Stats returns the stream's counters.
func (s *Stream) Stats() Stats {
	r := s.routes.Load()
	s.mu.Lock()
	nsrc := len(s.sources)
	s.mu.Unlock()
	return Stats{
		Appended:     s.appended.Load(),
		Delivered:    s.delivered.Load(),
		Dropped:      s.dropped.Load(),
		Errors:       s.errors.Load(),
		DeadLettered: s.deadLettered.Load(),
		Pending:      s.inFlight(),
		Subscribers:  len(r.subs),
		Sources:      nsrc,
	}
}

// Append adds ev at the end of the stream. A nil event is ignored. Append
// blocks while the inbox is full, until there is room or ctx ends; it never
// drops an accepted event. With no subscriber and no operator, appending is a
// no-op (the event is counted, then forgotten), as a stream stores nothing.
// An event the stream's Accept function refuses is not appended: Append
// returns the refusal, naming the stream. An event made by [WithAck] is
// tracked end to end.
func (s *Stream) Append(ctx context.Context, ev Event) error {
	if a, ok := ev.(Acked); ok {
		err := s.appendRec(ctx, a.Event, newRecord(a.Done))
		if err != nil {
			a.Done(err)
		}
		return err
	}
	return s.appendRec(ctx, ev, nil)
}

// TryAppend is Append without blocking: it reports false, and does nothing,
// when the inbox is full. Callers that hold a lock other goroutines need
// (such as a script interpreter's) release it and then call Append.
func (s *Stream) TryAppend(ev Event) (bool, error) {
	a, tracked := ev.(Acked)
	if !tracked {
		ev, err := s.accepted(ev)
		if err != nil {
			return false, err
		}
		return s.tryAppend(ev, nil)
	}
	ev, err := s.accepted(a.Event)
	if err != nil {
		a.Done(err)
		return false, err
	}
	// When the inbox is full (false, nil), nothing is taken: the caller
	// appends the same event again, acknowledgement and all.
	ok, err := s.tryAppend(ev, newRecord(a.Done))
	if err != nil {
		a.Done(err)
	}
	return ok, err
}

// appendRec appends ev carrying one part of rec (see record). On success
// the part is the stream's; on error it is still the caller's.
func (s *Stream) appendRec(ctx context.Context, ev Event, rec *record) error {
	return s.appendOn(ctx, nil, ev, rec)
}

// handOn is appendRec for an engine goroutine, whose turn t it gives up
// before it blocks on a full stream.
func (s *Stream) handOn(t *turn, ev Event, rec *record) error {
	return s.appendOn(s.e.ctx, t, ev, rec)
}

func (s *Stream) appendOn(ctx context.Context, t *turn, ev Event, rec *record) error {
	ev, err := s.accepted(ev)
	if err != nil {
		return err
	}
	ok, err := s.tryAppend(ev, rec)
	if ok || err != nil {
		return err
	}
	t.leave() // nil for other goroutines: they hold no turn
	return s.send(ctx, ev, rec, s.routes.Load())
}

// SetAccept replaces the stream's Accept function (see StreamConfig) for
// the events appended from now on; nil takes every event as it is.
func (s *Stream) SetAccept(accept func(Event) (Event, error)) {
	if accept == nil {
		s.accept.Store(nil)
		return
	}
	s.accept.Store(&accept)
}

// accepted passes ev through the stream's Accept function, if any.
func (s *Stream) accepted(ev Event) (Event, error) {
	accept := s.accept.Load()
	if ev == nil || accept == nil {
		return ev, nil
	}
	out, err := (*accept)(ev)
	if err != nil {
		return nil, fmt.Errorf("stream %q: %w", s.name, err)
	}
	return out, nil
}

func (s *Stream) tryAppend(ev Event, rec *record) (bool, error) {
	if ev == nil {
		rec.finish(nil)
		return true, nil
	}
	if s.e.halted.Load() {
		return false, ErrClosed
	}
	r := s.routes.Load()
	if len(r.subs) == 0 && len(r.ops) == 0 {
		s.appended.Add(1)
		rec.finish(nil)
		return true, nil
	}
	ok, start := s.q.put(item{ev, r, rec})
	if !ok {
		return false, nil
	}
	s.appended.Add(1)
	if start {
		s.start()
	}
	return true, nil
}

func (s *Stream) send(ctx context.Context, ev Event, rec *record, r *routes) error {
	for {
		room := s.q.waitRoom()
		if room != nil {
			select {
			case <-room:
			case <-ctx.Done():
				return ctx.Err()
			case <-s.e.ctx.Done():
				return ErrClosed
			}
		}
		ok, start := s.q.put(item{ev, r, rec})
		if !ok { // another appender took the room
			continue
		}
		s.appended.Add(1)
		if start {
			s.start()
		}
		return nil
	}
}

// start starts the stream's dispatch goroutine; once the engine has
// stopped, what waits in the queue is abandoned instead.
func (s *Stream) start() {
	if !s.e.spawn(s.dispatch) {
		s.abandon(nil)
	}
}

// inFlight returns the events accepted by s and not yet fully processed:
// waiting or in hand, and held (see hold).
func (s *Stream) inFlight() int64 {
	n, busy := s.q.count()
	n += s.pending.n.Load()
	if busy {
		n-- // the queue's unit (see queue)
	}
	return n
}

// hold counts one unit of work originating from s, in s and in the engine,
// outside its queue (an event in a batch, an actor's mailbox, a sink);
// release ends it.
func (s *Stream) hold() {
	s.e.pending.add(1)
	s.pending.add(1)
}

func (s *Stream) release() {
	s.pending.add(-1)
	s.e.pending.add(-1)
}

// AddOperator appends op to the stream's operators, applied in order to
// events appended from now on. name identifies it in failure reports.
func (s *Stream) AddOperator(name string, op Operator) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.routes.Load()
	ops := append(append([]namedOperator(nil), old.ops...), namedOperator{name, op})
	s.routes.Store(&routes{ops: ops, subs: old.subs})
}

type namedOperator struct {
	name string
	op   Operator
}

// Subscribe registers sub for the events appended from now on and returns
// the derived stream that receives sub's non-nil results (for [Forward], the
// target stream itself; for [Async], nil). name identifies the subscription
// for Unsubscribe and must not be taken on this stream; when empty, a unique
// one is made from the subscriber's default name.
func (s *Stream) Subscribe(name string, sub Subscriber) (*Stream, error) {
	if sub == nil {
		return nil, fmt.Errorf("stream %q: nil subscriber", s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.routes.Load()
	if name == "" {
		name = uniqueSubName(old.subs, sub.defaultName())
	} else if uniqueSubName(old.subs, name) != name {
		return nil, fmt.Errorf("stream %q already has a subscriber named %q", s.name, name)
	}
	sn := &subscription{name: name, sub: sub}
	if t := sub.target(); t != nil {
		if err := s.e.link(s, t); err != nil {
			return nil, err
		}
	} else if _, async := sub.(asyncSub); !async {
		d, err := s.e.NewStream(s.e.uniqueName(s.name+">>"+name), StreamConfig{Capacity: s.cfg.Capacity})
		if err != nil {
			return nil, err
		}
		if err := s.e.link(s, d); err != nil {
			return nil, err
		}
		sn.derived = d
	}
	s.routes.Store(&routes{ops: old.ops, subs: append(append([]*subscription(nil), old.subs...), sn)})
	if sn.derived != nil {
		return sn.derived, nil
	}
	return sub.target(), nil
}

func uniqueSubName(subs []*subscription, base string) string {
	taken := func(n string) bool {
		for _, s := range subs {
			if s.name == n {
				return true
			}
		}
		return false
	}
	name := base
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s#%d", base, i)
	}
	return name
}

// Subscriptions returns the names of the current subscriptions, in order.
func (s *Stream) Subscriptions() []string {
	r := s.routes.Load()
	names := make([]string, len(r.subs))
	for i, sn := range r.subs {
		names[i] = sn.name
	}
	return names
}

// Unsubscribe removes the subscription named name. Events already appended
// are still delivered to it.
func (s *Stream) Unsubscribe(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.routes.Load()
	for i, sn := range old.subs {
		if sn.name != name {
			continue
		}
		subs := append(append([]*subscription(nil), old.subs[:i]...), old.subs[i+1:]...)
		s.routes.Store(&routes{ops: old.ops, subs: subs})
		// Subscribe linked s to the derived stream or to the Forward target.
		to := sn.derived
		if to == nil {
			to = sn.sub.target()
		}
		s.e.unlink(s, to)
		return nil
	}
	return fmt.Errorf("stream %q has no subscriber named %q", s.name, name)
}

// idleExit is how long a dispatch goroutine waits for work before it ends
// (the next event starts another).
const idleExit = 100 * time.Millisecond

// dispatch is the stream's goroutine: it applies operators, batches, and
// fans events out to subscribers, one event at a time, in order. It takes
// the events waiting in the queue a batch at a time and ends when the
// stream has been idle for idleExit, or when the engine stops.
func (s *Stream) dispatch() {
	var (
		batch   []Event
		recs    []*record // the records of batch's events
		routes  *routes
		timer   *time.Timer // the partial batch's timeout, armed while pending
		pending bool
		idle    *time.Timer
	)
	defer func() {
		s.turn.leave()
		if timer != nil {
			timer.Stop()
		}
		if idle != nil {
			idle.Stop()
		}
	}()

	deliverBatch := func() {
		if len(batch) == 0 {
			return
		}
		n := int64(len(batch))
		ev := s.cfg.MakeBatch(batch)
		rec := batchRecord(recs)
		batch, recs = nil, nil
		if pending {
			timer.Stop()
			pending = false
		}
		s.hold()
		s.batched.Add(-n)
		s.e.batched.Add(-n)
		if ev, ok := s.operate(routes, ev, rec); ok {
			s.fanout(routes, ev, rec)
		}
		rec.finish(nil)
		s.release()
	}

	for {
		if stopped(s.quit) {
			s.abandon(recs)
			return
		}
		items, flushes := s.q.take()
		if items == nil && flushes == nil {
			s.turn.leave()
			var timeout <-chan time.Time
			if pending {
				timeout = timer.C
			}
			if idle == nil {
				idle = time.NewTimer(s.e.idleExit)
			} else {
				idle.Reset(s.e.idleExit)
			}
			select {
			case <-s.q.wake:
			case <-timeout:
				pending = false
				deliverBatch()
			case <-idle.C:
				if len(batch) == 0 && s.q.exit() {
					return
				}
			case <-s.quit:
			}
			continue
		}
		for i, it := range items {
			if s.e.halted.Load() { // work left after Shutdown is abandoned, not done
				for _, it := range items[i:] {
					it.rec.finish(ErrClosed)
				}
				s.abandon(recs)
				return
			}
			if s.cfg.BatchSize == 0 {
				if ev, ok := s.operate(it.r, it.ev, it.rec); ok {
					s.fanout(it.r, ev, it.rec)
				}
				s.q.handedOn()
				it.rec.finish(nil)
				continue
			}
			// Operators see whole batches (as in Rayvens). The event moves
			// from "pending" to "batched"; count it in the second before
			// leaving the first so the engine never looks idle.
			batch = append(batch, it.ev)
			recs = append(recs, it.rec)
			routes = it.r
			s.batched.Add(1)
			s.e.batched.Add(1)
			s.q.handedOn()
			if len(batch) >= s.cfg.BatchSize {
				deliverBatch()
			} else if !pending {
				if timer == nil {
					timer = time.NewTimer(s.cfg.BatchTimeout)
				} else {
					timer.Reset(s.cfg.BatchTimeout)
				}
				pending = true
			}
		}
		for _, f := range flushes {
			deliverBatch()
			close(f)
		}
		s.q.recycle(items)
		s.turn.leave() // a goroutine waiting for the interlock gets it now
	}
}

// operate applies the operators of r to ev; false means ev was dropped
// (by an operator that returned nil, or failed: then rec has the failure).
func (s *Stream) operate(r *routes, ev Event, rec *record) (Event, bool) {
	for _, op := range r.ops {
		s.turn.enter()
		out, err := safeCall(func() (Event, error) { return op.op(&s.turn, ev) })
		if err != nil {
			s.dropped.Add(1)
			rec.add()
			s.failed(&s.turn, "operator", op.name, ev, err, rec)
			return nil, false
		}
		if out == nil {
			s.dropped.Add(1)
			return nil, false
		}
		ev = out
	}
	return ev, true
}

// fanout hands ev to every subscriber of r, each call one part of rec.
func (s *Stream) fanout(r *routes, ev Event, rec *record) {
	s.delivered.Store(s.delivered.Load() + 1) // only the dispatcher writes it
	for _, sn := range r.subs {
		rec.add()
		sn.sub.deliver(&s.turn, s, sn, ev, rec)
	}
}

// finish handles the outcome of one subscriber call, made on the
// goroutine of t, and ends its part of rec: a failure is reported, a
// non-nil result goes to the derived stream (a part of rec of its own).
func (s *Stream) finish(t *turn, sn *subscription, ev, res Event, err error, rec *record) {
	if err != nil {
		s.failed(t, "subscriber", sn.name, ev, err, rec)
		return
	}
	if res != nil && sn.derived != nil {
		rec.add()
		if err := sn.derived.handOn(t, res, rec); err != nil {
			s.failed(t, "subscriber", sn.name, ev, fmt.Errorf("result not delivered to %q: %w", sn.derived.name, err), rec)
		}
	}
	rec.finish(nil)
}

// abandon fails the records of events a stopped stream will not deliver:
// recs (a partial batch) and whatever waits in the queue.
func (s *Stream) abandon(recs []*record) {
	for _, r := range recs {
		r.finish(ErrClosed)
	}
	items, flushes := s.q.drain()
	for _, it := range items {
		it.rec.finish(ErrClosed)
	}
	for _, f := range flushes {
		close(f)
	}
}

// failed handles the failure of the subscriber or operator name on ev, on
// the goroutine of t (nil if it holds no turn), and ends that part of rec: with a dead-letter stream, ev's dead-letter record
// goes there and the part becomes the record's; otherwise (or if the
// dead-letter stream refuses the record) the failure is reported and the
// part fails.
func (s *Stream) failed(t *turn, kind, name string, ev Event, err error, rec *record) {
	if dl := s.cfg.DeadLetter; dl != nil && !errors.Is(err, ErrClosed) {
		text := err.Error()
		if s.e.opts.ErrorText != nil {
			text = s.e.opts.ErrorText(err)
		}
		letter := map[string]any{"stream": s.name, "subscriber": name, "error": text, "event": ev}
		dlErr := dl.handOn(t, letter, rec)
		if dlErr == nil {
			s.deadLettered.Add(1)
			return
		}
		err = fmt.Errorf("%w (not dead-lettered: stream %q: %w)", err, dl.name, dlErr)
	}
	rec.finish(s.fail(kind, name, ev, err))
}

func (s *Stream) fail(kind, name string, ev Event, err error) error {
	s.errors.Add(1)
	se := &StreamError{Stream: s.name, Kind: kind, Name: name, Event: ev, Err: err}
	s.e.report(se)
	return se
}

// flush delivers the partial batch, if any, and returns when it is handed to
// the subscribers.
func (s *Stream) flush(ctx context.Context) error {
	if s.batched.Load() == 0 {
		return nil
	}
	done := make(chan struct{})
	if s.q.requestFlush(done) {
		s.start()
	}
	select {
	case <-done:
		return nil
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DisconnectAll waits until the stream has been idle (no Append) for idleFor
// and until after has passed since the call (either may be zero), then
// disconnects its sources and drains it and every stream downstream of it,
// flushing partial batches.
func (s *Stream) DisconnectAll(ctx context.Context, idleFor, after time.Duration) error {
	start := time.Now()
	if after > 0 {
		if err := Sleep(ctx, after); err != nil {
			return err
		}
	}
	// Appends are noticed by polling their count, a tenth of idleFor
	// apart (at least a millisecond): the hot path keeps no clock.
	last, seen := start, s.appended.Load()
	for idleFor > 0 {
		if n := s.appended.Load(); n != seen {
			last, seen = time.Now(), n
		}
		wait := time.Until(last.Add(idleFor))
		if wait <= 0 && s.inFlight() == 0 {
			break
		}
		if poll := max(idleFor/10, time.Millisecond); wait <= 0 || wait > poll {
			wait = poll
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
	}
	s.disconnectSources()
	return s.e.drain(ctx, s.e.downstream(s))
}

// Drain waits until the stream and every stream downstream of it have no
// event in flight, flushing partial batches, without disconnecting sources.
func (s *Stream) Drain(ctx context.Context) error {
	return s.e.drain(ctx, s.e.downstream(s))
}

// drain waits until none of streams has pending or batched events.
func (e *Engine) drain(ctx context.Context, streams []*Stream) error {
	for {
		busy := false
		for _, d := range streams {
			if err := d.pending.wait(ctx); err != nil {
				return err
			}
			if d.batched.Load() > 0 {
				busy = true
				if err := d.flush(ctx); err != nil {
					return err
				}
			}
		}
		if !busy {
			for _, d := range streams {
				if d.pending.n.Load() != 0 || d.batched.Load() != 0 {
					busy = true
				}
			}
			if !busy {
				return nil
			}
		}
	}
}

// stopped reports whether quit is closed. Loops check it before taking more
// work, because a select among ready cases picks at random and work left
// after Shutdown is abandoned, not done.
func stopped(quit <-chan struct{}) bool {
	select {
	case <-quit:
		return true
	default:
		return false
	}
}

// Sleep pauses for d, or until ctx ends (then it returns ctx's error): the
// wait a source or a retry loop needs.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// StreamError is a failure inside a stream: a subscriber, an operator or a
// source that returned an error or panicked. The event is skipped for that
// component only.
type StreamError struct {
	Stream string // the stream's name
	Kind   string // "subscriber", "operator" or "source"
	Name   string // the subscription or source name
	Event  Event  // the event being processed, nil for sources
	Err    error
}

func (e *StreamError) Error() string {
	return fmt.Sprintf("stream %q: %s %q: %v", e.Stream, e.Kind, e.Name, e.Err)
}

func (e *StreamError) Unwrap() error { return e.Err }

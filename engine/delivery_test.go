package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/engine"
)

// holder is a subscriber that holds every event until it is opened.
type holder struct {
	open chan struct{}
	seen chan engine.Event
}

func newHolder() *holder {
	return &holder{open: make(chan struct{}), seen: make(chan engine.Event, 100)}
}

func (g *holder) handle(ctx context.Context, ev engine.Event) (engine.Event, error) {
	g.seen <- ev
	select {
	case <-g.open:
	case <-ctx.Done():
	}
	return ev, nil
}

func requireNotDone(t *testing.T, r *engine.Receipt, why string) {
	t.Helper()
	select {
	case <-r.Done():
		t.Fatalf("the receipt is done (%v) while %s", r.Err(), why)
	default:
	}
}

func waitReceipt(t *testing.T, r *engine.Receipt) error {
	t.Helper()
	select {
	case <-r.Done():
		return r.Err()
	case <-testContext(t).Done():
		t.Fatal("the event never completed")
		return nil
	}
}

// TestReceiptWaitsForDerivedWork checks that an event is done only when
// what it caused downstream is: a function's result on a derived stream,
// an actor there, and a task pool after that.
func TestReceiptWaitsForDerivedWork(t *testing.T) {
	e, log := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	g := newHolder()
	d1 := subscribe(t, s, "f", engine.Func("f", func(_ context.Context, ev engine.Event) (engine.Event, error) { return ev, nil }))
	a, err := e.NewActor("a", nil, 0)
	require.NoError(t, err)
	d2 := subscribe(t, d1, "a", a.Method("", func(_ context.Context, _ any, ev engine.Event) (engine.Event, error) { return ev, nil }))
	p, err := e.NewPool("p", g.handle, 2)
	require.NoError(t, err)
	subscribe(t, d2, "p", p)

	r, err := s.AppendAck(testContext(t), "x")
	require.NoError(t, err)
	require.Equal(t, "x", <-g.seen, "the event reached the end of the chain")
	requireNotDone(t, r, "the last subscriber still holds it")
	close(g.open)
	require.NoError(t, waitReceipt(t, r))
	require.Empty(t, log.all())
}

// TestReceiptReportsFailure: the first failure of any part is the outcome.
func TestReceiptReportsFailure(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	var ok collector
	subscribe(t, s, "ok", ok.sub("ok"))
	subscribe(t, s, "bad", engine.Func("bad", func(context.Context, engine.Event) (engine.Event, error) {
		return nil, errors.New("no thanks")
	}))
	r, err := s.AppendAck(testContext(t), 1)
	require.NoError(t, err)
	err = waitReceipt(t, r)
	var se *engine.StreamError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "bad", se.Name)
	require.EqualError(t, err, `stream "s": subscriber "bad": no thanks`)
	require.Equal(t, 1, ok.len(), "the other subscriber still got it")
}

// sink is an engine.Sink that holds deliveries until the test acks them.
type sink struct {
	mu    sync.Mutex
	dones []func(error)
	got   chan engine.Event
}

func (k *sink) Deliver(_ context.Context, ev engine.Event, done func(error)) error {
	k.mu.Lock()
	k.dones = append(k.dones, done)
	k.mu.Unlock()
	k.got <- ev
	return nil
}

func (k *sink) Close(context.Context) error { return nil }

func (k *sink) ack(err error) {
	k.mu.Lock()
	dones := k.dones
	k.dones = nil
	k.mu.Unlock()
	for _, d := range dones {
		d(err)
	}
}

// TestReceiptWaitsForSinks: through a forwarded stream into a sink, the
// event is done when the sink acknowledges it, with the sink's outcome.
func TestReceiptWaitsForSinks(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	out := newStream(t, e, "out", engine.StreamConfig{})
	subscribe(t, s, "", engine.Forward(out))
	k := &sink{got: make(chan engine.Event, 10)}
	subscribe(t, out, "k", engine.ToSink("k", k))

	ctx := testContext(t)
	r1, err := out.AppendAck(ctx, "direct")
	require.NoError(t, err)
	r2, err := s.AppendAck(ctx, "forwarded")
	require.NoError(t, err)
	<-k.got
	<-k.got
	requireNotDone(t, r1, "the sink has not acknowledged")
	requireNotDone(t, r2, "the sink has not acknowledged")
	k.ack(errors.New("disk full"))
	require.ErrorContains(t, waitReceipt(t, r1), "disk full")
	require.ErrorContains(t, waitReceipt(t, r2), `subscriber "k": disk full`)
}

// TestReceiptInBatches: an event in a batch is done when its batch is.
func TestReceiptInBatches(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{BatchSize: 3})
	g := newHolder()
	subscribe(t, s, "g", engine.Func("g", g.handle))
	ctx := testContext(t)
	var rs []*engine.Receipt
	for i := range 2 {
		r, err := s.AppendAck(ctx, i)
		require.NoError(t, err)
		rs = append(rs, r)
	}
	require.NoError(t, s.Append(ctx, 2), "an untracked event completes the batch")
	require.Equal(t, []engine.Event{0, 1, 2}, <-g.seen)
	requireNotDone(t, rs[0], "its batch is being processed")
	close(g.open)
	for _, r := range rs {
		require.NoError(t, waitReceipt(t, r))
	}
}

// TestReceiptOperators: an event an operator drops is done; one an operator
// fails on has failed.
func TestReceiptOperators(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	s.AddOperator("op", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		switch ev {
		case "drop":
			return nil, nil
		case "fail":
			return nil, errors.New("bad event")
		}
		return ev, nil
	})
	var c collector
	subscribe(t, s, "c", c.sub("c"))
	ctx := testContext(t)
	dropped, err := s.AppendAck(ctx, "drop")
	require.NoError(t, err)
	failed, err := s.AppendAck(ctx, "fail")
	require.NoError(t, err)
	require.NoError(t, waitReceipt(t, dropped))
	require.EqualError(t, waitReceipt(t, failed), `stream "s": operator "op": bad event`)
}

// TestWithAckFromASource: a source's events carry their acknowledgement;
// with no subscriber an event is done at once; nil events too.
func TestWithAckFromASource(t *testing.T) {
	e, _ := newEngine(t)
	s := newStream(t, e, "s", engine.StreamConfig{})
	g := newHolder()
	subscribe(t, s, "g", engine.Func("g", g.handle))
	outcomes := make(chan error, 3)
	_, err := s.AddSource("src", engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		return emit(ctx, engine.WithAck("from the source", func(err error) { outcomes <- err }))
	}))
	require.NoError(t, err)
	require.Equal(t, "from the source", <-g.seen)
	select {
	case err := <-outcomes:
		t.Fatalf("acknowledged (%v) before the subscriber was done", err)
	default:
	}
	close(g.open)
	require.NoError(t, <-outcomes)

	empty := newStream(t, e, "empty", engine.StreamConfig{})
	require.NoError(t, empty.Append(testContext(t), engine.WithAck("nobody listens", func(err error) { outcomes <- err })))
	require.NoError(t, <-outcomes)
	require.NoError(t, s.Append(testContext(t), engine.WithAck(nil, func(err error) { outcomes <- err })))
	require.NoError(t, <-outcomes)
}

// TestReceiptOnForcedShutdown: events a forced shutdown abandons are
// reported failed, not forgotten: either they were abandoned in a queue
// (ErrClosed) or their subscriber saw the cancelled context and failed.
func TestReceiptOnForcedShutdown(t *testing.T) {
	e := engine.New(engine.Options{})
	s, err := e.NewStream("s", engine.StreamConfig{})
	require.NoError(t, err)
	started := make(chan struct{}, 1)
	_, err = s.Subscribe("slow", engine.Func("slow", func(ctx context.Context, ev engine.Event) (engine.Event, error) {
		if ev == 1 {
			started <- struct{}{}
			<-ctx.Done() // until the shutdown is forced
			return nil, nil
		}
		return nil, ctx.Err()
	}))
	require.NoError(t, err)
	ctx := testContext(t)
	first, err := s.AppendAck(ctx, 1)
	require.NoError(t, err)
	queued, err := s.AppendAck(ctx, 2)
	require.NoError(t, err)
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the first event never reached its subscriber")
	}
	expired, cancel := context.WithCancel(ctx)
	cancel()
	var ue *engine.UndeliveredError
	require.ErrorAs(t, e.Shutdown(expired), &ue)
	require.Equal(t, int64(2), ue.N)
	require.NoError(t, e.Shutdown(ctx), "the goroutines stop")
	require.NoError(t, waitReceipt(t, first), "its subscriber returned normally")
	err = waitReceipt(t, queued)
	require.Error(t, err)
	if !errors.Is(err, engine.ErrClosed) {
		require.ErrorIs(t, err, context.Canceled)
	}
}

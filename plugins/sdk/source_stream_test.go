package sdk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/rayvens/rayvens/plugins/proto"
)

// openSource opens an instance of test-source as the host does.
func openSource(t *testing.T, client proto.ConnectorClient, ctx context.Context, window uint32) proto.Connector_SourceClient {
	t.Helper()
	stream, err := client.Source(ctx)
	require.NoError(t, err)
	open := &proto.Open{Kind: "test-source", Instance: "ticks", Config: structOf(t, map[string]any{"label": "x"}), Window: window}
	require.NoError(t, stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Open{Open: open}}))
	return stream
}

// ackBatch acknowledges batch seq, with an error when errMsg is not empty.
func ackBatch(t *testing.T, stream proto.Connector_SourceClient, seq uint64, errMsg string) {
	t.Helper()
	ack := &proto.Ack{Seq: seq, Error: errMsg}
	require.NoError(t, stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Ack{Ack: ack}}))
}

// receiveBatch receives the next batch and checks its sequence number.
func receiveBatch(t *testing.T, stream proto.Connector_SourceClient, seq uint64) *proto.Batch {
	t.Helper()
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.Equal(t, seq, resp.GetBatch().GetSeq())
	return resp.GetBatch()
}

// counting returns a source that emits "0", "1", ... up to n events
// (forever when n < 0) and counts the events emit accepted.
func counting(n int, emitted *atomic.Int64) sourceFunc {
	return func(ctx context.Context, emit Emit) error {
		for i := 0; n < 0 || i < n; i++ {
			ev := Event{Body: []byte(strconv.Itoa(i)), ContentType: "text/plain", Headers: map[string]string{"n": strconv.Itoa(i)}}
			if err := emit(ctx, ev); err != nil {
				return err
			}
			emitted.Add(1)
		}
		return nil
	}
}

func TestSourceFloodArrivesInOrderInBatches(t *testing.T) {
	// The first window may hold up to defaultWindow full batches (when Run
	// outpaces the sender), and a full queue must still be left after it.
	const n = (defaultWindow+2)*maxBatch + 1234
	var emitted atomic.Int64
	client, _ := serveConnector(t, testPlugin(counting(n, &emitted), nil))
	stream := openSource(t, client, t.Context(), 0)

	// Hold the acks of the first window until the queue is full too: the
	// next batch then takes a whole queue's worth.
	var batches []*proto.Batch
	held := 0
	for seq := uint64(1); seq <= defaultWindow; seq++ {
		b := receiveBatch(t, stream, seq)
		batches = append(batches, b)
		held += len(b.GetEvents())
	}
	require.Eventuallyf(t, func() bool { return emitted.Load() == int64(held+queueSize) },
		30*time.Second, time.Millisecond,
		"with %d events held in the window, Run should stop after emitting a full queue more (%d)", held, held+queueSize)
	for _, b := range batches {
		ackBatch(t, stream, b.GetSeq(), "")
	}
	for seq := uint64(defaultWindow + 1); ; seq++ {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		b := resp.GetBatch()
		require.Equal(t, seq, b.GetSeq())
		batches = append(batches, b)
		ackBatch(t, stream, seq, "")
	}

	var got []string
	for _, b := range batches {
		require.LessOrEqual(t, len(b.GetEvents()), maxBatch)
		for _, ev := range b.GetEvents() {
			require.Equal(t, "text/plain", ev.GetContentType())
			require.Equal(t, string(ev.GetBody()), ev.GetHeaders()["n"])
			got = append(got, string(ev.GetBody()))
		}
	}
	require.Len(t, got, n)
	for i, body := range got {
		require.Equal(t, strconv.Itoa(i), body)
	}
	require.Len(t, batches[defaultWindow].GetEvents(), maxBatch, "the batch after a full window takes a full queue")
}

func TestSourceLoneEventLeavesAtOnce(t *testing.T) {
	release := make(chan struct{})
	lone := sourceFunc(func(ctx context.Context, emit Emit) error {
		if err := emit(ctx, Event{Body: []byte("alone")}); err != nil {
			return err
		}
		<-release
		return nil
	})
	client, logs := serveConnector(t, testPlugin(lone, nil))
	stream := openSource(t, client, t.Context(), 0)

	b := receiveBatch(t, stream, 1)
	require.Len(t, b.GetEvents(), 1)
	require.Equal(t, "alone", string(b.GetEvents()[0].GetBody()))
	close(release)
	ackBatch(t, stream, 1, "")
	_, err := stream.Recv()
	require.ErrorIs(t, err, io.EOF)
	require.Contains(t, logs.String(), `"kind":"test-source","instance":"ticks"`)
	require.NotContains(t, logs.String(), `"label"`, "config values are never logged")
}

func TestSourceBackpressure(t *testing.T) {
	const window = 2
	var emitted atomic.Int64
	client, _ := serveConnector(t, testPlugin(counting(-1, &emitted), nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream := openSource(t, client, ctx, window)

	// Without acks the source sends a window of batches, fills the queue and
	// then blocks in emit.
	held := 0
	for seq := uint64(1); seq <= window; seq++ {
		held += len(receiveBatch(t, stream, seq).GetEvents())
	}
	bound := int64(held + queueSize)
	require.LessOrEqual(t, bound, int64(window*maxBatch+queueSize))
	require.Eventually(t, func() bool { return emitted.Load() == bound }, 10*time.Second, time.Millisecond)
	require.Never(t, func() bool { return emitted.Load() > bound }, 100*time.Millisecond, 5*time.Millisecond)

	// An ack makes room for one batch, which takes a full queue, and emit
	// resumes.
	ackBatch(t, stream, 1, "")
	require.Len(t, receiveBatch(t, stream, window+1).GetEvents(), maxBatch)
	require.Eventually(t, func() bool { return emitted.Load() > bound }, 10*time.Second, time.Millisecond)
}

func TestSourceAckCallbacks(t *testing.T) {
	acked := make(chan string, 10)
	emitN := func(ctx context.Context, emit Emit, names ...string) error {
		for _, name := range names {
			ev := Event{Body: []byte(name), Ack: func(err error) {
				if err != nil {
					acked <- name + ": " + err.Error()
				} else {
					acked <- name + ": ok"
				}
			}}
			if err := emit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	}
	next := make(chan []string)
	src := sourceFunc(func(ctx context.Context, emit Emit) error {
		for {
			select {
			case names := <-next:
				if err := emitN(ctx, emit, names...); err != nil {
					return err
				}
			case <-ctx.Done():
				return nil
			}
		}
	})
	client, _ := serveConnector(t, testPlugin(src, nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream := openSource(t, client, ctx, 0)

	next <- []string{"a"}
	receiveBatch(t, stream, 1)
	require.Empty(t, acked, "no ack before the host's")
	ackBatch(t, stream, 1, "")
	require.Equal(t, "a: ok", receiveString(t, acked))

	next <- []string{"b"}
	receiveBatch(t, stream, 2)
	ackBatch(t, stream, 2, "stream closed")
	require.Equal(t, "b: the host did not accept the event: stream closed", receiveString(t, acked))

	// Events the host never acks are acked with an error when it goes.
	next <- []string{"c"}
	receiveBatch(t, stream, 3)
	cancel()
	require.Equal(t, "c: "+errClosed.Error(), receiveString(t, acked))
}

// receiveString waits for the next string on ch.
func receiveString(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		return ""
	}
}

func TestSourceEndsAfterItsAcks(t *testing.T) {
	var acks atomic.Int64
	three := sourceFunc(func(ctx context.Context, emit Emit) error {
		for i := range 3 {
			ev := Event{Body: []byte(strconv.Itoa(i)), Ack: func(err error) {
				if err == nil {
					acks.Add(1)
				}
			}}
			if err := emit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	client, _ := serveConnector(t, testPlugin(three, nil))
	stream := openSource(t, client, t.Context(), 0)
	n := 0
	for seq := uint64(1); n < 3; seq++ {
		n += len(receiveBatch(t, stream, seq).GetEvents())
		ackBatch(t, stream, seq, "")
	}
	_, err := stream.Recv()
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, int64(3), acks.Load(), "every ack callback ran before the end")
}

func TestSourceErrorAborts(t *testing.T) {
	failing := sourceFunc(func(ctx context.Context, emit Emit) error {
		if err := emit(ctx, Event{Body: []byte("last words")}); err != nil {
			return err
		}
		return errors.New("the API answered 401 Unauthorized")
	})
	client, _ := serveConnector(t, testPlugin(failing, nil))
	stream := openSource(t, client, t.Context(), 0)
	b := receiveBatch(t, stream, 1)
	require.Equal(t, "last words", string(b.GetEvents()[0].GetBody()))
	ackBatch(t, stream, 1, "")
	_, err := stream.Recv()
	requireStatus(t, err, codes.Aborted, "the API answered 401 Unauthorized")
}

func TestSourcePanicAborts(t *testing.T) {
	panicking := sourceFunc(func(context.Context, Emit) error { panic("nil map") })
	client, logs := serveConnector(t, testPlugin(panicking, nil))
	stream := openSource(t, client, t.Context(), 0)
	_, err := stream.Recv()
	requireStatus(t, err, codes.Aborted, "Run panicked: nil map")
	require.Contains(t, logs.String(), `"@message":"Run panicked"`)
}

func TestSourceStopsWhenHostGoes(t *testing.T) {
	stopped := make(chan error, 1)
	var emitted atomic.Int64
	forever := counting(-1, &emitted)
	src := sourceFunc(func(ctx context.Context, emit Emit) error {
		err := forever(ctx, emit)
		stopped <- err
		return err
	})
	client, _ := serveConnector(t, testPlugin(src, nil))
	ctx, cancel := context.WithCancel(t.Context())
	stream := openSource(t, client, ctx, 1)
	receiveBatch(t, stream, 1)
	cancel()
	select {
	case err := <-stopped:
		require.Error(t, err, "emit fails once the host has gone")
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestSourceHostClosingItsSideStopsTheSource(t *testing.T) {
	var emitted atomic.Int64
	client, _ := serveConnector(t, testPlugin(counting(-1, &emitted), nil))
	stream := openSource(t, client, t.Context(), 1)
	receiveBatch(t, stream, 1)
	require.NoError(t, stream.CloseSend())
	for {
		_, err := stream.Recv()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			return
		}
	}
}

func TestSourceRefusesUnknownAck(t *testing.T) {
	client, _ := serveConnector(t, testPlugin(func(ctx context.Context, _ Emit) error {
		<-ctx.Done()
		return nil
	}, nil))
	stream := openSource(t, client, t.Context(), 0)
	ackBatch(t, stream, 7, "")
	_, err := stream.Recv()
	requireStatus(t, err, codes.InvalidArgument, "ack of batch 7, which is not awaiting one")
}

// batchOutcomes emits an event alone, then one event per entry of withAck,
// with an Ack function where it is true, and checks that those arrive as
// one batch; it acknowledges that batch with ack (whose Seq it sets) and
// returns the outcome given to each Ack, by the event's index in the batch.
func batchOutcomes(t *testing.T, withAck []bool, ack *proto.Ack) map[int]error {
	t.Helper()
	outcomes := make([]chan error, len(withAck))
	for i := range outcomes {
		outcomes[i] = make(chan error, 1)
	}
	first, queued := make(chan struct{}), make(chan struct{})
	src := sourceFunc(func(ctx context.Context, emit Emit) error {
		if err := emit(ctx, Event{Body: []byte("first")}); err != nil {
			return err
		}
		select {
		case <-first:
		case <-ctx.Done():
			return nil
		}
		for i, has := range withAck {
			ev := Event{Body: []byte(strconv.Itoa(i))}
			if has {
				ev.Ack = func(err error) { outcomes[i] <- err }
			}
			if err := emit(ctx, ev); err != nil {
				return err
			}
		}
		close(queued)
		<-ctx.Done()
		return nil
	})
	client, _ := serveConnector(t, testPlugin(src, nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// A window of one: while the first batch is out, the others queue up,
	// and the ack of the first lets them leave together.
	stream := openSource(t, client, ctx, 1)
	receiveBatch(t, stream, 1)
	close(first)
	select {
	case <-queued:
	case <-time.After(10 * time.Second):
		t.Fatal("the events were not queued")
	}
	ackBatch(t, stream, 1, "")
	require.Len(t, receiveBatch(t, stream, 2).GetEvents(), len(withAck), "the events make one batch")
	ack.Seq = 2
	require.NoError(t, stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Ack{Ack: ack}}))

	got := map[int]error{}
	for i, has := range withAck {
		if !has {
			continue
		}
		select {
		case err := <-outcomes[i]:
			got[i] = err
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d got no outcome", i)
		}
	}
	return got
}

// TestSourceAckFailuresByIndex: the host's ack names the failed events by
// their place in the batch; each Ack gets its own event's outcome, however
// many events of the batch have no Ack.
func TestSourceAckFailuresByIndex(t *testing.T) {
	const reason = `stream "inbox": subscriber "check": no bad events`
	failure := func(i uint32) []*proto.EventFailure {
		return []*proto.EventFailure{{Index: i, Error: reason}}
	}
	tests := []struct {
		name     string
		withAck  []bool
		failures []*proto.EventFailure
		failed   int // the index whose Ack must get a FailedError; -1: none
	}{
		{"every event with an Ack", []bool{true, true, true}, failure(1), 1},
		{"the first event without an Ack", []bool{false, true, true}, failure(1), 1},
		{"the failed event without an Ack", []bool{false, true, true}, failure(0), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := batchOutcomes(t, tt.withAck, &proto.Ack{Failures: tt.failures})
			for i, has := range tt.withAck {
				if !has {
					require.NotContains(t, got, i)
					continue
				}
				err := got[i]
				if i != tt.failed {
					require.NoError(t, err, "event %d is done", i)
					continue
				}
				require.Error(t, err, "event %d failed", i)
				require.True(t, IsFailed(err), "a failure, not an event the host never took: %v", err)
				require.ErrorContains(t, err, reason)
				var f *FailedError
				require.ErrorAs(t, err, &f)
				require.Equal(t, reason, f.Reason)
			}
		})
	}
}

// TestSourceBatchErrorIsNotAFailure: an ack with a batch-level error means
// the host did not take the batch: every event's Ack gets an error that is
// not a FailedError (it may be emitted again), even with failures listed.
func TestSourceBatchErrorIsNotAFailure(t *testing.T) {
	ack := &proto.Ack{Error: "stream closed", Failures: []*proto.EventFailure{{Index: 1, Error: "no bad events"}}}
	got := batchOutcomes(t, []bool{true, true, true}, ack)
	require.Len(t, got, 3)
	for i, err := range got {
		require.ErrorContains(t, err, "the host did not accept the event: stream closed", "event %d", i)
		require.False(t, IsFailed(err), "event %d: %v", i, err)
	}
}

// TestSourceOpenTellsTaken: a reopened instance's New finds in its Config
// how many events the host took from the instance before (Open.taken); a
// first open finds 0.
func TestSourceOpenTellsTaken(t *testing.T) {
	p := testPlugin(nil, nil)
	taken := make(chan uint64, 2)
	p.Sources[0].New = func(cfg Config, _ *slog.Logger) (Source, error) {
		taken <- cfg.Taken()
		return sourceFunc(func(context.Context, Emit) error { return nil }), nil
	}
	client, _ := serveConnector(t, p)
	for _, n := range []uint64{0, 1234} {
		stream, err := client.Source(t.Context())
		require.NoError(t, err)
		open := &proto.Open{Kind: "test-source", Instance: "ticks", Config: structOf(t, map[string]any{}), Taken: n}
		require.NoError(t, stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Open{Open: open}}))
		_, err = stream.Recv()
		require.ErrorIs(t, err, io.EOF, "the source ends at once")
		require.Equal(t, n, <-taken)
	}
}

// TestSourceRefusesAnEventTheWireCannotCarry: emit refuses an event whose
// header is not valid UTF-8, naming the header and not its value, and the
// events around it still go out (such an event would break its batch).
func TestSourceRefusesAnEventTheWireCannotCarry(t *testing.T) {
	refused := make(chan error, 1)
	src := sourceFunc(func(ctx context.Context, emit Emit) error {
		if err := emit(ctx, Event{Body: []byte("before")}); err != nil {
			return err
		}
		refused <- emit(ctx, Event{Body: []byte("bad"), Headers: map[string]string{"token": "SECRET\xc3"}})
		return emit(ctx, Event{Body: []byte("after")})
	})
	client, _ := serveConnector(t, testPlugin(src, nil))
	stream := openSource(t, client, t.Context(), 0)
	var got []string
	for seq := uint64(1); ; seq++ {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for _, ev := range resp.GetBatch().GetEvents() {
			got = append(got, string(ev.GetBody()))
		}
		ackBatch(t, stream, seq, "")
	}
	require.Equal(t, []string{"before", "after"}, got)
	err := <-refused
	require.EqualError(t, err, `the event cannot be sent to rayvens: header "token" is not valid UTF-8`)
}

package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/proto"
)

// recorder is a Sink that records the bodies it is given, one string per
// batch, and fails the writes whose batch contains "fail".
type recorder struct {
	mu      sync.Mutex
	writing bool
	batches []string
	closed  bool
}

func (r *recorder) Write(_ context.Context, batch []Event) error {
	r.mu.Lock()
	if r.writing {
		r.mu.Unlock()
		panic("two writes at once")
	}
	r.writing = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.writing = false
		r.mu.Unlock()
	}()

	var bodies []string
	for _, ev := range batch {
		bodies = append(bodies, fmt.Sprintf("%s(%s,%s)", ev.Body, ev.ContentType, ev.Headers["h"]))
	}
	s := strings.Join(bodies, " ")
	if strings.Contains(s, "reject") {
		return fmt.Errorf("write: %w", Permanent(errors.New("bad name")))
	}
	if strings.Contains(s, "fail") {
		return errors.New("disk full")
	}
	r.mu.Lock()
	r.batches = append(r.batches, s)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

func (r *recorder) state() ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.batches, r.closed
}

// openSink opens an instance of test-sink that is rec.
func openSink(t *testing.T, rec Sink) proto.Connector_SinkClient {
	t.Helper()
	stream, _ := openSinkLogged(t, rec)
	return stream
}

// openSinkLogged opens an instance of test-sink that is rec, and returns
// what the plugin logs too.
func openSinkLogged(t *testing.T, rec Sink) (proto.Connector_SinkClient, *syncBuffer) {
	t.Helper()
	client, logs := serveConnector(t, testPlugin(nil, func(cfg Config, _ *slog.Logger) (Sink, error) {
		require.Equal(t, "/tmp/out", cfg.String("path"))
		return rec, nil
	}))
	stream, err := client.Sink(t.Context())
	require.NoError(t, err)
	open := &proto.Open{Kind: "test-sink", Instance: "out", Config: structOf(t, map[string]any{"path": "/tmp/out"})}
	require.NoError(t, stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Open{Open: open}}))
	return stream, logs
}

// sendBatch sends a batch of events with the given bodies.
func sendBatch(t *testing.T, stream proto.Connector_SinkClient, seq uint64, bodies ...string) {
	t.Helper()
	b := &proto.Batch{Seq: seq}
	for _, body := range bodies {
		b.Events = append(b.Events, &proto.Event{Body: []byte(body), ContentType: "text/plain", Headers: map[string]string{"h": "v"}})
	}
	require.NoError(t, stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Batch{Batch: b}}))
}

// receiveAck receives the next ack.
func receiveAck(t *testing.T, stream proto.Connector_SinkClient) *proto.Ack {
	t.Helper()
	resp, err := stream.Recv()
	require.NoError(t, err)
	return resp.GetAck()
}

func TestSinkWritesBatchesInOrder(t *testing.T) {
	rec := &recorder{}
	stream := openSink(t, rec)
	// The host may send ahead of the acks; writes still come one at a time.
	sendBatch(t, stream, 1, "a", "b")
	sendBatch(t, stream, 2, "c")
	sendBatch(t, stream, 3, "d", "e", "f")
	for seq := uint64(1); seq <= 3; seq++ {
		ack := receiveAck(t, stream)
		require.Equal(t, seq, ack.GetSeq())
		require.Empty(t, ack.GetError())
	}
	require.NoError(t, stream.CloseSend())
	_, err := stream.Recv()
	require.ErrorIs(t, err, io.EOF)

	batches, closed := rec.state()
	require.Equal(t, []string{
		"a(text/plain,v) b(text/plain,v)",
		"c(text/plain,v)",
		"d(text/plain,v) e(text/plain,v) f(text/plain,v)",
	}, batches)
	require.True(t, closed, "Close is called before the stream ends")
}

// TestSinkWriteErrorHoldsLaterBatches: after a write fails, later batches
// are not written (acked skipped) until the host sends again, marked
// retry; then writing goes on, so the sink's order survives the failure.
func TestSinkWriteErrorHoldsLaterBatches(t *testing.T) {
	rec := &recorder{}
	stream := openSink(t, rec)
	sendBatch(t, stream, 1, "a")
	sendBatch(t, stream, 2, "fail")
	sendBatch(t, stream, 3, "b")

	require.Equal(t, &proto.Ack{Seq: 1}, stripped(receiveAck(t, stream)))
	require.Equal(t, &proto.Ack{Seq: 2, Error: "disk full"}, stripped(receiveAck(t, stream)))
	skipped := receiveAck(t, stream)
	require.Equal(t, uint64(3), skipped.GetSeq())
	require.True(t, skipped.GetSkipped(), "a batch after a failure waits for the retry")

	// The host gives up on batch 2 and sends batch 3 again, marked retry.
	require.NoError(t, stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Batch{Batch: &proto.Batch{
		Seq: 3, Retry: true, Events: []*proto.Event{{Body: []byte("b"), ContentType: "text/plain", Headers: map[string]string{"h": "v"}}},
	}}}))
	require.Equal(t, &proto.Ack{Seq: 3}, stripped(receiveAck(t, stream)))
	batches, _ := rec.state()
	require.Equal(t, []string{"a(text/plain,v)", "b(text/plain,v)"}, batches)
}

// stripped copies an ack without protobuf's internal state, for comparison.
func stripped(a *proto.Ack) *proto.Ack {
	return &proto.Ack{Seq: a.GetSeq(), Error: a.GetError(), Permanent: a.GetPermanent(), Partial: a.GetPartial(), Written: a.GetWritten()}
}

// TestSinkPermanentError checks that an error marked Permanent (even
// wrapped) reaches the host as such, so it does not send the batch again.
func TestSinkPermanentError(t *testing.T) {
	stream := openSink(t, &recorder{})
	sendBatch(t, stream, 1, "reject")
	sendBatch(t, stream, 2, "fail")
	require.Equal(t, &proto.Ack{Seq: 1, Error: "write: bad name", Permanent: true}, stripped(receiveAck(t, stream)))
	require.Equal(t, &proto.Ack{Seq: 2, Error: "disk full"}, stripped(receiveAck(t, stream)))
}

func TestSinkClosedWhenHostGoes(t *testing.T) {
	rec := &recorder{}
	client, _ := serveConnector(t, testPlugin(nil, func(Config, *slog.Logger) (Sink, error) { return rec, nil }))
	ctx, cancel := context.WithCancel(t.Context())
	stream, err := client.Sink(ctx)
	require.NoError(t, err)
	open := &proto.Open{Kind: "test-sink", Config: structOf(t, map[string]any{"path": "p"})}
	require.NoError(t, stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Open{Open: open}}))
	sendBatch(t, stream, 1, "a")
	receiveAck(t, stream)
	cancel()
	require.Eventually(t, func() bool { _, closed := rec.state(); return closed }, 10*time.Second, time.Millisecond)
}

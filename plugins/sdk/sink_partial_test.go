package sdk

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/proto"
)

// oneByOne is a Sink that writes its events one by one, as a sink posting
// each event to an endpoint does: "flaky..." fails the first time it is
// written, "reject..." always fails for good, "beyond" names an event
// beyond the batch, and any other body is written (recorded).
type oneByOne struct {
	mu      sync.Mutex
	written []string
	tried   map[string]bool
}

func (o *oneByOne) Write(_ context.Context, batch []Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tried == nil {
		o.tried = map[string]bool{}
	}
	for i, ev := range batch {
		body := string(ev.Body)
		switch {
		case strings.HasPrefix(body, "flaky") && !o.tried[body]:
			o.tried[body] = true
			return Partial(i, errors.New("the endpoint is down"))
		case strings.HasPrefix(body, "reject"):
			return Permanent(Partial(i, errors.New("bad event "+body)))
		case body == "beyond":
			return Partial(len(batch), errors.New("confused"))
		}
		o.written = append(o.written, body)
	}
	return nil
}

func (o *oneByOne) state() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.written...)
}

// resendBatch sends a batch again, marked retry as the host marks the
// first batch it sends after a failure.
func resendBatch(t *testing.T, stream proto.Connector_SinkClient, seq uint64, bodies ...string) {
	t.Helper()
	b := &proto.Batch{Seq: seq, Retry: true}
	for _, body := range bodies {
		b.Events = append(b.Events, &proto.Event{Body: []byte(body), ContentType: "text/plain"})
	}
	require.NoError(t, stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Batch{Batch: b}}))
}

// TestSinkPartialWrite: a write that fails part-way says how many events
// it wrote; the plugin then writes no later batch until the host sends
// the rest, marked retry, so the events reach the sink once each, in
// order.
func TestSinkPartialWrite(t *testing.T) {
	sink := &oneByOne{}
	stream := openSink(t, sink)
	sendBatch(t, stream, 1, "a", "flaky-b", "c")
	sendBatch(t, stream, 2, "d")
	require.Equal(t, &proto.Ack{Seq: 1, Error: "the endpoint is down", Partial: true, Written: 1}, stripped(receiveAck(t, stream)))
	require.True(t, receiveAck(t, stream).GetSkipped(), "a later batch waits for the rest of the failed one")

	resendBatch(t, stream, 1, "flaky-b", "c")
	sendBatch(t, stream, 2, "d")
	require.Equal(t, &proto.Ack{Seq: 1}, stripped(receiveAck(t, stream)))
	require.Equal(t, &proto.Ack{Seq: 2}, stripped(receiveAck(t, stream)))
	require.Equal(t, []string{"a", "flaky-b", "c", "d"}, sink.state())
}

// TestSinkPartialPermanent: an event that fails for good in the middle of
// a batch fails alone: the plugin waits for the events after it, which
// were not tried, and writes them once the host sends them. When it was
// the batch's last event, nothing is left and the plugin goes on.
func TestSinkPartialPermanent(t *testing.T) {
	sink := &oneByOne{}
	stream := openSink(t, sink)
	sendBatch(t, stream, 1, "a", "reject-b", "c")
	sendBatch(t, stream, 2, "d")
	require.Equal(t, &proto.Ack{Seq: 1, Error: "bad event reject-b", Permanent: true, Partial: true, Written: 1}, stripped(receiveAck(t, stream)))
	require.True(t, receiveAck(t, stream).GetSkipped(), "c was not tried: nothing after it is written before it")

	resendBatch(t, stream, 1, "c")
	sendBatch(t, stream, 2, "d", "reject-e")
	sendBatch(t, stream, 3, "f")
	require.Equal(t, &proto.Ack{Seq: 1}, stripped(receiveAck(t, stream)))
	require.Equal(t, &proto.Ack{Seq: 2, Error: "bad event reject-e", Permanent: true, Partial: true, Written: 1}, stripped(receiveAck(t, stream)))
	require.Equal(t, &proto.Ack{Seq: 3}, stripped(receiveAck(t, stream)), "the failed event was the last: the next batch is written")
	require.Equal(t, []string{"a", "c", "d", "f"}, sink.state())
}

// TestSinkPartialBeyondTheBatch: a Partial that names an event the batch
// does not have is a mistake of the connector: the error is taken to be
// about the whole batch, and the mistake is logged.
func TestSinkPartialBeyondTheBatch(t *testing.T) {
	stream, logs := openSinkLogged(t, &oneByOne{})
	sendBatch(t, stream, 1, "a", "beyond")
	require.Equal(t, &proto.Ack{Seq: 1, Error: "confused"}, stripped(receiveAck(t, stream)))
	require.Contains(t, logs.String(), "Write returned Partial for an event beyond its batch")
}

func TestPartialAndPermanentCompose(t *testing.T) {
	base := errors.New("refused")
	for _, err := range []error{Partial(2, Permanent(base)), Permanent(Partial(2, base))} {
		n, ok := Written(err)
		require.True(t, ok)
		require.Equal(t, 2, n)
		require.True(t, IsPermanent(err))
		require.ErrorIs(t, err, base)
		require.EqualError(t, err, "refused")
	}
	n, ok := Written(Permanent(base))
	require.False(t, ok, "without Partial an error is about the whole batch")
	require.Zero(t, n)
	require.NoError(t, Partial(3, nil))
}

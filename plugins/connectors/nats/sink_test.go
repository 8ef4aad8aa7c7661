package nats

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// events makes events of bodies.
func events(bodies ...string) []sdk.Event {
	out := make([]sdk.Event, len(bodies))
	for i, b := range bodies {
		out[i] = sdk.Event{Body: []byte(b), ContentType: "text/plain"}
	}
	return out
}

// TestCoreSinkPublishesWithHeaders: events go to the topic or to their
// CamelNatsOverrideSubject, with their headers as NATS headers except
// Camel's.
func TestCoreSinkPublishesWithHeaders(t *testing.T) {
	p := startPeer(t)
	nc := p.client()
	sub, err := nc.SubscribeSync("out.>")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "out.main", "servers": p.url()})
	require.NoError(t, sdktest.Write(t, sink,
		sdk.Event{Body: []byte("one"), Headers: map[string]string{"Trace-Id": "abc", "CamelNatsSubject": "in.orders", "CamelFileName": "x.txt"}},
		sdk.Event{Body: []byte("two"), Headers: map[string]string{HeaderOverrideSubject: "out.other"}},
	))
	first, err := sub.NextMsg(sdktest.Timeout)
	require.NoError(t, err)
	require.Equal(t, "out.main", first.Subject, "CamelNatsSubject, the source's header, does not route")
	require.Equal(t, "one", string(first.Data))
	require.Equal(t, nats.Header{"Trace-Id": {"abc"}}, first.Header)
	second, err := sub.NextMsg(sdktest.Timeout)
	require.NoError(t, err)
	require.Equal(t, "out.other", second.Subject)
	require.Empty(t, second.Header)
}

// TestSourceToSinkKeepsHeaders passes a source's events straight to a
// sink, as a script does with orders >> audit.
func TestSourceToSinkKeepsHeaders(t *testing.T) {
	p := startPeer(t)
	src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "in", "servers": p.url()})
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	subscribed(t, src)
	nc := p.client()
	out, err := nc.SubscribeSync("out")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	msg := nats.NewMsg("in")
	msg.Data = []byte("payload")
	msg.Header["Trace-Id"] = []string{"abc"}
	require.NoError(t, nc.PublishMsg(msg))
	sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "out", "servers": p.url()})
	require.NoError(t, sdktest.Write(t, sink, c.Wait(t, 1)...))
	got, err := out.NextMsg(sdktest.Timeout)
	require.NoError(t, err)
	require.Equal(t, "payload", string(got.Data))
	require.Equal(t, nats.Header{"Trace-Id": {"abc"}}, got.Header)
}

func TestCoreSinkRefusesATooLargeMessage(t *testing.T) {
	p := startPeer(t, func(o *server.Options) { o.MaxPayload = 1024 })
	nc := p.client()
	sub, err := nc.SubscribeSync("out")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "out", "servers": p.url()})
	err = sdktest.Write(t, sink, events("a", strings.Repeat("x", 2000), "c")...)
	require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err))
	require.ErrorContains(t, err, "nats-sink: cannot publish: nats: maximum payload exceeded")
	got, err := sub.NextMsg(sdktest.Timeout)
	require.NoError(t, err)
	require.Equal(t, "a", string(got.Data))
}

// TestSinkRefusesABadOverrideSubject: an event whose override subject has
// a wildcard fails alone, on core NATS and on JetStream.
func TestSinkRefusesABadOverrideSubject(t *testing.T) {
	p := startPeer(t)
	ordersStream(t, p.jetstream())
	for _, js := range []bool{false, true} {
		sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "orders.eu", "servers": p.url(), "jetstreamEnabled": js})
		batch := events("a", "b", "c")
		batch[1].Headers = map[string]string{HeaderOverrideSubject: "orders.*"}
		err := sdktest.Write(t, sink, batch...)
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err), "jetstream: %v", js)
		require.ErrorContains(t, err, "the event's CamelNatsOverrideSubject header is not a subject to publish to: it is empty or has a wildcard or a space")
	}
}

// TestSinkServerRestart: while the server is down, writes fail (the host
// sends them again); once it is back they succeed, and nothing that was
// acknowledged is lost: a core subscriber connected throughout gets every
// acknowledged message, and JetStream's stream holds every one.
func TestSinkServerRestart(t *testing.T) {
	for _, kind := range []string{"core", "jetstream"} {
		t.Run(kind, func(t *testing.T) {
			p := startPeer(t)
			nc := p.client()
			sub, err := nc.SubscribeSync("orders.eu")
			require.NoError(t, err)
			require.NoError(t, nc.Flush())
			js, err := jetstream.New(nc)
			require.NoError(t, err)
			stream := ordersStream(t, js)
			cfg := map[string]any{"topic": "orders.eu", "servers": p.url(), "jetstreamEnabled": kind == "jetstream"}
			sink := sdktest.NewSink(t, SinkKind, cfg)
			var acked []string
			write := func(bodies ...string) error {
				err := sdktest.Write(t, sink, events(bodies...)...)
				if err == nil {
					acked = append(acked, bodies...)
				}
				return err
			}
			require.NoError(t, write("a", "b"))

			p.stop()
			require.Error(t, write("c"), "nothing is acknowledged while the server is down")
			p.start()
			// The subscriber is back (a flush follows its subscription again).
			require.Eventually(t, func() bool { return nc.IsConnected() && nc.FlushTimeout(time.Second) == nil }, sdktest.Timeout, 20*time.Millisecond)
			require.Eventually(t, func() bool { return write("d", "e") == nil }, sdktest.Timeout, 20*time.Millisecond)
			require.Equal(t, []string{"a", "b", "d", "e"}, acked)

			var got []string
			for range acked {
				m, err := sub.NextMsg(sdktest.Timeout)
				require.NoError(t, err)
				got = append(got, string(m.Data))
			}
			require.Equal(t, acked, got)
			if kind == "core" {
				return // a core publish is confirmed once the server has read it: JetStream may not have been ready to store it
			}
			info, err := stream.Info(t.Context())
			require.NoError(t, err)
			require.Equal(t, uint64(len(acked)), info.State.Msgs, "a PubAck means stored")
			cons, err := stream.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
			require.NoError(t, err)
			batch, err := cons.Fetch(len(acked), jetstream.FetchMaxWait(sdktest.Timeout))
			require.NoError(t, err)
			got = nil
			for m := range batch.Messages() {
				got = append(got, string(m.Data()))
			}
			require.Equal(t, acked, got)
		})
	}
}

// TestJetStreamSinkStoresWithPubAcks, async and not: the batch is
// acknowledged once stored, with headers; jetstreamName's stream is made.
func TestJetStreamSinkStoresWithPubAcks(t *testing.T) {
	for _, async := range []bool{true, false} {
		t.Run(map[bool]string{true: "async", false: "sync"}[async], func(t *testing.T) {
			p := startPeer(t)
			sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "audit.orders", "servers": p.url(), "jetstreamEnabled": true, "jetstreamName": "AUDIT", "jetstreamAsync": async})
			batch := events(numbered("m", 0, 50)...)
			batch[0].Headers = map[string]string{"Nats-Msg-Id": "first", "CamelNatsSubject": "orders.eu"}
			require.NoError(t, sdktest.Write(t, sink, batch...))
			require.NoError(t, sdktest.Write(t, sink, sdk.Event{Body: []byte("again"), Headers: map[string]string{"Nats-Msg-Id": "first"}}), "a duplicate is stored once, and acknowledged")

			stream, err := p.jetstream().Stream(t.Context(), "AUDIT")
			require.NoError(t, err)
			info, err := stream.Info(t.Context())
			require.NoError(t, err)
			require.Equal(t, []string{"audit.orders"}, info.Config.Subjects)
			require.Equal(t, uint64(50), info.State.Msgs)
			first, err := stream.GetMsg(t.Context(), 1)
			require.NoError(t, err)
			require.Equal(t, "m-0", string(first.Data))
			require.Equal(t, nats.Header{"Nats-Msg-Id": {"first"}, "Nats-Expected-Stream": {"AUDIT"}}, first.Header, "the sink asked for the stream AUDIT")
		})
	}
}

// TestJetStreamSinkPartial: a message the stream refuses (too large) fails
// alone; those before it are written, those after it sent again.
func TestJetStreamSinkPartial(t *testing.T) {
	for _, async := range []bool{true, false} {
		t.Run(map[bool]string{true: "async", false: "sync"}[async], func(t *testing.T) {
			p := startPeer(t)
			js := p.jetstream()
			_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "SMALL", Subjects: []string{"small"}, MaxMsgSize: 100})
			require.NoError(t, err)
			sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "small", "servers": p.url(), "jetstreamEnabled": true, "jetstreamAsync": async})
			err = sdktest.Write(t, sink, events("a", "b", strings.Repeat("x", 200), "d")...)
			require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(4, err))
			require.ErrorContains(t, err, "nats-sink: JetStream did not store the message: ")
			require.ErrorContains(t, err, "description=message size exceeds maximum allowed")

			// A subject no stream holds is not permanent: a stream may be made.
			sink = sdktest.NewSink(t, SinkKind, map[string]any{"topic": "nowhere", "servers": p.url(), "jetstreamEnabled": true, "jetstreamAsync": async})
			err = sdktest.Write(t, sink, events("a")...)
			require.Equal(t, []sdktest.Outcome{sdktest.Resent}, sdktest.Outcomes(1, err))
			require.ErrorContains(t, err, "nats-sink: JetStream did not store the message: no JetStream stream holds the subject")
		})
	}
}

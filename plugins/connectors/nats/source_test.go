package nats

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// bodies returns the bodies of events, in order.
func bodies(events []sdk.Event) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = string(ev.Body)
	}
	return out
}

// numbered returns "prefix-0" ... "prefix-(n-1)".
func numbered(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

// stoppedOrCut checks what Run returned when stopped: nothing, or, if the
// test cut its connection first and Run saw it, that.
func stoppedOrCut(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		require.ErrorContains(t, err, "connection closed")
	}
}

// subscribed waits until the server has the core subscription of each
// source in srcs: its connection has the subscription and a flush after
// it came back. A core NATS message published before reaches no one.
func subscribed(t *testing.T, srcs ...sdk.Source) {
	t.Helper()
	for _, src := range srcs {
		s := src.(*source)
		require.Eventually(t, func() bool {
			s.mu.Lock()
			nc := s.nc
			s.mu.Unlock()
			return nc != nil && nc.IsConnected() && nc.NumSubscriptions() > 0 && nc.FlushTimeout(time.Second) == nil
		}, sdktest.Timeout, 5*time.Millisecond)
	}
}

func TestCoreSourceEmitsMessagesWithHeaders(t *testing.T) {
	p := startPeer(t)
	src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "orders.*", "servers": p.url()})
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	subscribed(t, src)

	nc := p.client()
	msg := nats.NewMsg("orders.eu")
	msg.Data = []byte(`{"id": 1}`)
	msg.Header["Trace-Id"] = []string{"abc"}
	msg.Header["Content-Type"] = []string{"application/json"}
	msg.Reply = "answers"
	require.NoError(t, nc.PublishMsg(msg))
	require.NoError(t, nc.Publish("orders.us", []byte("plain")))
	require.NoError(t, nc.Publish("elsewhere", []byte("not for us")))

	events := c.Wait(t, 2)
	require.Equal(t, []string{`{"id": 1}`, "plain"}, bodies(events))
	require.Equal(t, map[string]string{"CamelNatsSubject": "orders.eu", "CamelNatsReplyTo": "answers", "Trace-Id": "abc", "Content-Type": "application/json"}, events[0].Headers)
	require.Equal(t, "application/json", events[0].ContentType)
	require.Equal(t, map[string]string{"CamelNatsSubject": "orders.us"}, events[1].Headers)
	require.Equal(t, "text/plain", events[1].ContentType)
	require.Nil(t, events[0].Ack, "core NATS has nothing to acknowledge")
}

func TestCoreSourceQueueGroupSharesMessages(t *testing.T) {
	p := startPeer(t)
	var a, b sdktest.Collector
	for _, c := range []*sdktest.Collector{&a, &b} {
		src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "work", "servers": p.url(), "queueName": "workers"})
		sdktest.Run(t, src, c.Emit)
		subscribed(t, src)
	}
	nc := p.client()
	for i := range 100 {
		require.NoError(t, nc.Publish("work", []byte(strconv.Itoa(i))))
	}
	require.Eventually(t, func() bool { return a.Len()+b.Len() == 100 }, sdktest.Timeout, 5*time.Millisecond)
	require.Equal(t, 100, a.Len()+b.Len(), "each message goes to one member of the group")
}

// TestCoreSourceReconnects restarts the server under a running source:
// the source subscribes again and gets what is published after.
func TestCoreSourceReconnects(t *testing.T) {
	p := startPeer(t)
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "ticks", "servers": p.url()}, sdktest.LogTo(&log))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	subscribed(t, src)
	nc := p.client()
	require.NoError(t, nc.Publish("ticks", []byte("before")))
	c.Wait(t, 1)

	p.restart()
	subscribed(t, src)
	require.Eventually(t, func() bool { return nc.IsConnected() }, sdktest.Timeout, 5*time.Millisecond)
	require.NoError(t, nc.Publish("ticks", []byte("after")))
	require.NoError(t, nc.Flush())
	require.Equal(t, []string{"before", "after"}, bodies(c.Wait(t, 2)))
	require.Contains(t, log.String(), "lost the connection to NATS; reconnecting")
	require.Contains(t, log.String(), "reconnected to NATS")
}

// TestCoreSourceRestart: core NATS is at most once, so a restarted
// instance gets what is published once it has subscribed again, and what
// the dead one had not emitted is gone (JetStream is the answer to that:
// TestJetStreamSourceCrashAndRestart).
func TestCoreSourceRestart(t *testing.T) {
	p := startPeer(t)
	nc := p.client()
	cfg := map[string]any{"topic": "ticks", "servers": p.url()}
	first := sdktest.NewSource(t, SourceKind, cfg)
	var c sdktest.Collector
	r := sdktest.Run(t, first, c.Emit)
	subscribed(t, first)
	require.NoError(t, nc.Publish("ticks", []byte("one")))
	c.Wait(t, 1)
	first.(*source).nc.Close() // as when the process is killed
	stoppedOrCut(t, r.Stop())
	require.NoError(t, nc.Publish("ticks", []byte("lost: no one subscribed")))
	require.NoError(t, nc.Flush())

	second := sdktest.NewSource(t, SourceKind, cfg, sdktest.Reopened(1))
	var again sdktest.Collector
	sdktest.Run(t, second, again.Emit)
	subscribed(t, second)
	require.NoError(t, nc.Publish("ticks", []byte("two")))
	require.Equal(t, []string{"two"}, bodies(again.Wait(t, 1)))
}

// jsConfig is a JetStream source's config on p's server.
func jsConfig(p *peer, extra map[string]any) map[string]any {
	cfg := map[string]any{"topic": "orders.>", "servers": p.url(), "jetstreamEnabled": true, "jetstreamName": "ORDERS"}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

// publishJS publishes bodies to JetStream and waits for their PubAcks.
func publishJS(t *testing.T, js jetstream.JetStream, subject string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		_, err := js.Publish(t.Context(), subject, []byte(b))
		require.NoError(t, err)
	}
}

// ordersStream makes the ORDERS stream, holding orders.>.
func ordersStream(t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	s, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	require.NoError(t, err)
	return s
}

// ackInfo returns the durable consumer's acked floor and pending count.
func ackInfo(t *testing.T, stream jetstream.Stream, durable string) (floor uint64, pending int) {
	t.Helper()
	cons, err := stream.Consumer(t.Context(), durable)
	require.NoError(t, err)
	info, err := cons.Info(t.Context())
	require.NoError(t, err)
	return info.AckFloor.Stream, info.NumAckPending
}

// TestJetStreamSourceAcksOnlyWhenDone: nothing is acked before the event's
// Ack(nil); a failed event is Nak'd and comes again; acked ones never do.
func TestJetStreamSourceAcksOnlyWhenDone(t *testing.T) {
	p := startPeer(t)
	js := p.jetstream()
	stream := ordersStream(t, js)
	msg := nats.NewMsg("orders.eu")
	msg.Data = []byte("first")
	msg.Header["Trace-Id"] = []string{"abc"}
	_, err := js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	publishJS(t, js, "orders.us", "second", "third")

	src := sdktest.NewSource(t, SourceKind, jsConfig(p, nil))
	c := sdktest.Collector{Hold: true}
	sdktest.Run(t, src, c.Emit)
	events := c.Wait(t, 3)
	require.Equal(t, []string{"first", "second", "third"}, bodies(events))
	require.Equal(t, "orders.eu", events[0].Headers["CamelNatsSubject"])
	require.Equal(t, "abc", events[0].Headers["Trace-Id"])
	stamp, err := strconv.ParseInt(events[0].Headers["CamelNatsMessageTimestamp"], 10, 64)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), time.UnixMilli(stamp), time.Minute)

	floor, pending := ackInfo(t, stream, "rayvens-orders__")
	require.Equal(t, uint64(0), floor, "nothing is acked before the events are done")
	require.Equal(t, 3, pending)

	events[0].Ack(nil)
	events[1].Ack(&sdk.FailedError{Reason: "a subscriber failed"})
	events[2].Ack(nil)
	require.Eventually(t, func() bool { _, pending := ackInfo(t, stream, "rayvens-orders__"); return pending == 1 }, sdktest.Timeout, 10*time.Millisecond)
	floor, _ = ackInfo(t, stream, "rayvens-orders__")
	require.Equal(t, uint64(1), floor, "the failed second message holds the floor")

	again := c.Wait(t, 4)[3] // after failedDelay
	require.Equal(t, "second", string(again.Body))
	again.Ack(nil)
	require.Eventually(t, func() bool { floor, _ := ackInfo(t, stream, "rayvens-orders__"); return floor == 3 }, sdktest.Timeout, 10*time.Millisecond)
	require.Equal(t, 4, c.Len(), "acked messages do not come again")
}

// TestJetStreamSourceCrashAndRestart: the events a source emitted and the
// host did not finish come again from a new instance on the same durable
// consumer, whether the first one was stopped or its process died; the
// finished ones do not.
func TestJetStreamSourceCrashAndRestart(t *testing.T) {
	for _, died := range []bool{false, true} {
		t.Run(map[bool]string{false: "stopped", true: "died"}[died], func(t *testing.T) {
			p := startPeer(t)
			js := p.jetstream()
			ordersStream(t, js)
			publishJS(t, js, "orders.eu", numbered("m", 0, 10)...)

			cfg := jsConfig(p, map[string]any{"ackWait": 1000})
			first := sdktest.NewSource(t, SourceKind, cfg)
			c := sdktest.Collector{Hold: true}
			r := sdktest.Run(t, first, c.Emit)
			events := c.Wait(t, 10)
			for _, ev := range events[:4] {
				ev.Ack(nil)
			}
			// The acks reach the server before the end.
			stream, err := js.Stream(t.Context(), "ORDERS")
			require.NoError(t, err)
			require.Eventually(t, func() bool { floor, _ := ackInfo(t, stream, "rayvens-orders__"); return floor == 4 }, sdktest.Timeout, 10*time.Millisecond)
			if died {
				first.(*source).nc.Close() // as when the process is killed: no Nak
			}
			stoppedOrCut(t, r.Stop())

			second := sdktest.NewSource(t, SourceKind, cfg, sdktest.Reopened(10))
			var again sdktest.Collector
			sdktest.Run(t, second, again.Emit)
			require.ElementsMatch(t, numbered("m", 4, 10), bodies(again.Wait(t, 6)), "JetStream delivers them again, in any order")
			require.Eventually(t, func() bool { floor, _ := ackInfo(t, stream, "rayvens-orders__"); return floor == 10 }, sdktest.Timeout, 10*time.Millisecond)
			require.Equal(t, 6, again.Len())
		})
	}
}

// TestJetStreamSourceReconnects restarts the server under a running source:
// the durable consumer, in the server's store, goes on where it was.
func TestJetStreamSourceReconnects(t *testing.T) {
	p := startPeer(t)
	js := p.jetstream()
	ordersStream(t, js)
	publishJS(t, js, "orders.eu", numbered("m", 0, 5)...)
	src := sdktest.NewSource(t, SourceKind, jsConfig(p, nil))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	c.Wait(t, 5)

	p.restart()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := js.Publish(ctx, "orders.eu", []byte("m-5"))
		return err == nil
	}, sdktest.Timeout, 50*time.Millisecond)
	publishJS(t, js, "orders.eu", numbered("m", 6, 10)...)
	require.Equal(t, numbered("m", 0, 10), bodies(c.Wait(t, 10)))
}

func TestJetStreamSourceFindsTheStreamOfTheTopic(t *testing.T) {
	p := startPeer(t)
	js := p.jetstream()
	ordersStream(t, js)
	publishJS(t, js, "orders.eu", "hello")
	src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "orders.eu", "servers": p.url(), "jetstreamEnabled": true, "durableName": "mine"})
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	require.Equal(t, []string{"hello"}, bodies(c.Wait(t, 1)))

	// A topic no stream holds, without jetstreamName, is an error.
	src = sdktest.NewSource(t, SourceKind, map[string]any{"topic": "nowhere", "servers": p.url(), "jetstreamEnabled": true})
	err := sdktest.Run(t, src, c.Emit).Wait()
	require.ErrorContains(t, err, "nats-source: no JetStream stream holds the topic (set jetstreamName to have one made)")
}

func TestUnreachable(t *testing.T) {
	src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "t", "servers": "nats://someone:s3cr3t-Pa55@127.0.0.1:1"})
	var c sdktest.Collector
	err := sdktest.Run(t, src, c.Emit).Wait()
	require.EqualError(t, err, "nats-source: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused")

	sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "t", "servers": "127.0.0.1:1, 127.0.0.1:2"})
	err = sdktest.Write(t, sink, sdk.Event{Body: []byte("x")})
	require.Error(t, err)
	require.False(t, sdk.IsPermanent(err), "sent again when the server is back")
	require.Regexp(t, `^nats-sink: cannot reach 127\.0\.0\.1:1, 127\.0\.0\.1:2: dial tcp 127\.0\.0\.1:[12]: connect: connection refused$`, err.Error())
}

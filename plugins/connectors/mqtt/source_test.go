package mqtt

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// running is an mqtt-source run by a test, subscribed.
type running struct {
	*sdktest.Running
	events *sdktest.Collector
	log    *sdktest.Log
}

// runSource opens an mqtt-source on config, runs it into a collector
// (holding acks when hold is set) and waits until it has subscribed.
func runSource(t testing.TB, config map[string]any, hold bool, opts ...sdktest.Option) *running {
	t.Helper()
	r := &running{events: &sdktest.Collector{Hold: hold}, log: new(sdktest.Log)}
	src := sdktest.NewSource(t, SourceKind, config, append(opts, sdktest.LogTo(r.log))...)
	r.Running = sdktest.Run(t, src, r.events.Emit)
	r.waitSubscribed(t, 1)
	return r
}

// waitSubscribed waits until the source has subscribed n times. It waits
// longer than sdktest.Timeout: a reconnection that reaches a mochi being
// closed waits the whole connect timeout (10 s) for its CONNACK before
// paho tries again.
func (r *running) waitSubscribed(t testing.TB, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Count(r.log.String(), `msg=subscribed`) >= n },
		connectTimeout+sdktest.Timeout, 10*time.Millisecond, "the source did not subscribe %d times:\n%s", n, r.log.String())
}

// stop stops the source and waits until the broker has seen it go.
func (r *running) stop(t testing.TB, b *broker, clientID string) {
	t.Helper()
	require.NoError(t, r.Stop())
	require.Eventually(t, func() bool { return b.gone(clientID) }, sdktest.Timeout, 10*time.Millisecond, "the broker still has %s connected", clientID)
}

// bodies are the bodies of events.
func bodies(events []sdk.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, string(ev.Body))
	}
	return out
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func TestSourceReceives(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, nil)
		pub := client(t, b, nil)
		for _, qos := range []int{0, 1} {
			t.Run(fmt.Sprintf("qos %d", qos), func(t *testing.T) {
				topic := fmt.Sprintf("sensors/q%d/+", qos)
				src := runSource(t, map[string]any{"topic": topic, "brokerUrl": b.url, "qos": qos}, false)
				publish(t, pub, fmt.Sprintf("sensors/q%d/kitchen", qos), "21.5", "22.0")
				publish(t, pub, fmt.Sprintf("sensors/q%d/garage", qos), "\xff\xfe")
				events := src.events.Wait(t, 3)
				require.Equal(t, []string{"21.5", "22.0", "\xff\xfe"}, bodies(events))
				require.Equal(t, map[string]string{HeaderTopic: fmt.Sprintf("sensors/q%d/kitchen", qos), HeaderQoS: fmt.Sprint(qos)}, events[0].Headers)
				require.Equal(t, fmt.Sprintf("sensors/q%d/garage", qos), events[2].Headers[HeaderTopic])
				require.Equal(t, "text/plain", events[0].ContentType)
				require.Equal(t, "application/octet-stream", events[2].ContentType)
			})
		}
	})
}

// TestSourceAcksOnlyWhatIsDone shows the PUBACKs: a message is
// acknowledged only once its event is done and those before it are
// resolved; a failed event and one the host never took are not, so a new
// instance (after a crash or a restart) gets them again from the broker.
func TestSourceAcksOnlyWhatIsDone(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, nil)
		pub := client(t, b, nil)
		config := map[string]any{"topic": "orders", "brokerUrl": b.url, "clientId": "orders-reader"}

		first := runSource(t, config, true)
		publish(t, pub, "orders", numbered("order-", 6)...)
		events := first.events.Wait(t, 6)
		require.Equal(t, numbered("order-", 6), bodies(events))
		events[0].Ack(nil)                                      // done: acknowledged
		events[1].Ack(&sdk.FailedError{Reason: "test: failed"}) // failed: not acknowledged
		events[2].Ack(nil)                                      // done after a failure: acknowledged
		events[4].Ack(nil)                                      // done, but order-3 is not: waits
		// order-3 and order-5 are never resolved: the instance dies first.
		first.stop(t, b, "orders-reader")
		require.Contains(t, first.log.String(), "an event failed: its message is not acknowledged")

		second := runSource(t, config, true, sdktest.Reopened(6))
		again := second.events.Wait(t, 4)
		require.ElementsMatch(t, []string{"order-1", "order-3", "order-4", "order-5"}, bodies(again))
		for _, ev := range again {
			ev.Ack(nil)
		}
		publish(t, pub, "orders", "order-6")
		require.Equal(t, "order-6", string(second.events.Wait(t, 5)[4].Body))
		second.events.Wait(t, 5)[4].Ack(nil)
		second.stop(t, b, "orders-reader")

		third := runSource(t, config, true, sdktest.Reopened(11))
		publish(t, pub, "orders", "order-7")
		require.Equal(t, []string{"order-7"}, bodies(third.events.Wait(t, 1)), "everything done before was acknowledged")
	})
}

// TestSourceQoS0AcksNothing: with qos 0 the session is clean and nothing
// comes again.
func TestSourceQoS0KeepsNothing(t *testing.T) {
	b := startMochi(t, nil)
	pub := client(t, b, nil)
	config := map[string]any{"topic": "ticks", "brokerUrl": b.url, "qos": 0, "clientId": "ticks"}
	first := runSource(t, config, true)
	publish(t, pub, "ticks", "t0")
	require.Nil(t, first.events.Wait(t, 1)[0].Ack, "a QoS 0 event has nothing to acknowledge")
	first.stop(t, b, "ticks")
	second := runSource(t, config, true)
	publish(t, pub, "ticks", "t1")
	require.Equal(t, []string{"t1"}, bodies(second.events.Wait(t, 1)))
}

// TestSourceQoS0Overflow: QoS 0 messages the stream does not take wait
// up to maxQueuedQoS0; past that they are dropped, and the log says so.
func TestSourceQoS0Overflow(t *testing.T) {
	b := startMochi(t, nil)
	pub := client(t, b, nil)
	src := runSource(t, map[string]any{"topic": "flood", "brokerUrl": b.url, "qos": 0}, false)
	src.events.Block()
	publish(t, pub, "flood", numbered("m", maxQueuedQoS0+50)...)
	require.Eventually(t, func() bool {
		return strings.Contains(src.log.String(), "QoS 0 messages come faster than the stream takes them: dropping them")
	},
		sdktest.Timeout, 10*time.Millisecond)
	src.events.Unblock()
	got := bodies(src.events.Wait(t, maxQueuedQoS0))
	require.Equal(t, numbered("m", maxQueuedQoS0), got[:maxQueuedQoS0], "the first ones, in order")
	require.Less(t, len(src.events.Events()), maxQueuedQoS0+50)
}

// TestSourceReconnects restarts the broker under a running source: paho
// reconnects and the source subscribes again. With mosquitto's
// persistence, what was published to the source's session while it was
// away survives a crash of the broker too.
func TestSourceReconnects(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, nil)
		pub := client(t, b, nil)
		config := map[string]any{"topic": "feed", "brokerUrl": b.url, "clientId": "feed-reader"}
		src := runSource(t, config, false)
		publish(t, pub, "feed", numbered("before-", 5)...)
		require.Equal(t, numbered("before-", 5), bodies(src.events.Wait(t, 5)))

		b.restart(t)
		src.waitSubscribed(t, 2)
		require.Contains(t, src.log.String(), "lost the connection to the broker; reconnecting")
		publish(t, pub, "feed", numbered("after-", 5)...)
		require.Eventually(t, func() bool {
			got := bodies(src.events.Events())
			return !slices.ContainsFunc(numbered("after-", 5), func(w string) bool { return !slices.Contains(got, w) })
		}, sdktest.Timeout, 10*time.Millisecond, "after the restart")
		src.stop(t, b, "feed-reader")
		if !b.persistent {
			return
		}
		publish(t, pub, "feed", numbered("queued-", 5)...) // kept in the session of feed-reader
		// mosquitto saves its database at the end of a loop, after its
		// PUBACKs: a new connection's CONNACK comes after the save.
		client(t, b, nil)
		b.restart(t)
		again := runSource(t, config, false)
		require.Subset(t, bodies(again.events.Wait(t, 5)), numbered("queued-", 5))
	})
}

// TestSourceDoesNotRepeatWhatIsOnItsWay: after a reconnect the broker
// sends again what was not acknowledged; an event still on its way is not
// emitted twice, and its PUBACK, when it is done, goes out on the new
// connection, so that a later instance does not get it again.
func TestSourceDoesNotRepeatWhatIsOnItsWay(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, nil)
		pub := client(t, b, nil)
		config := map[string]any{"topic": "jobs", "brokerUrl": b.url, "clientId": "jobs-reader"}
		src := runSource(t, config, true)
		publish(t, pub, "jobs", numbered("job-", 3)...)
		src.events.Wait(t, 3)
		client(t, b, nil) // mosquitto has saved its database (see TestSourceReconnects)

		b.restart(t)
		src.waitSubscribed(t, 2)
		publish(t, pub, "jobs", "after")
		// The broker resends job-0..2 first, on the new connection.
		require.Equal(t, append(numbered("job-", 3), "after"), bodies(src.events.Wait(t, 4)))
		for _, ev := range src.events.Events() {
			ev.Ack(nil)
		}
		src.stop(t, b, "jobs-reader")

		again := runSource(t, config, true)
		publish(t, pub, "jobs", "final")
		require.Equal(t, []string{"final"}, bodies(again.events.Wait(t, 1)))
	})
}

func TestSourceUnreachable(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "t", "brokerUrl": "tcp://" + addr})
	err := sdktest.Run(t, src, new(sdktest.Collector).Emit).Wait()
	require.EqualError(t, err, "mqtt-source: cannot reach "+addr+": dial tcp "+addr+": connect: connection refused")
}

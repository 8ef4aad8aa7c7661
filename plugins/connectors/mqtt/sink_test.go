package mqtt

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func events(bodies ...string) []sdk.Event {
	out := make([]sdk.Event, len(bodies))
	for i, b := range bodies {
		out[i] = sdk.Event{Body: []byte(b), ContentType: "text/plain"}
	}
	return out
}

// receive waits for n messages on got.
func receive(t *testing.T, got <-chan string, n int) []string {
	t.Helper()
	var out []string
	deadline := time.After(sdktest.Timeout)
	for len(out) < n {
		select {
		case m := <-got:
			out = append(out, m)
		case <-deadline:
			t.Fatalf("waited %v for %d messages, got %q", sdktest.Timeout, n, out)
		}
	}
	return out
}

func TestSinkPublishes(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, nil)
		got := subscribe(t, client(t, b, nil), "out/#")
		for _, qos := range []int{0, 1} {
			t.Run(fmt.Sprintf("qos %d", qos), func(t *testing.T) {
				sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "out/main", "brokerUrl": b.url, "qos": qos})
				batch := events("a", "b", "c")
				batch[1].Headers = map[string]string{HeaderOverrideTopic: "out/other", HeaderTopic: "in/ignored"}
				require.NoError(t, sdktest.Write(t, sink, batch...))
				require.ElementsMatch(t, []string{"out/main: a", "out/other: b", "out/main: c"}, receive(t, got, 3))
			})
		}
	})
}

// TestSinkToSource runs events through a sink, a broker and a source,
// with the source's headers passed back to the sink: the override header
// is not the descriptive one, so nothing loops back to the same topic.
func TestSinkToSource(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, nil)
		src := runSource(t, map[string]any{"topic": "in", "brokerUrl": b.url}, false)
		sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "in", "brokerUrl": b.url})
		require.NoError(t, sdktest.Write(t, sink, events("one", "two")...))
		first := src.events.Wait(t, 2)
		require.NoError(t, sdktest.Write(t, sink, first...)) // a pass-through keeps the sink's topic
		require.Equal(t, []string{"one", "two", "one", "two"}, bodies(src.events.Wait(t, 4)))
	})
}

// TestSinkRestartedBroker kills the broker under a sink and a source:
// the sink's writes fail (so the host sends them again) while the broker
// is away, and every message the sink wrote reaches the source.
func TestSinkRestartedBroker(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, nil)
		src := runSource(t, map[string]any{"topic": "log", "brokerUrl": b.url, "clientId": "log-reader"}, false)
		sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "log", "brokerUrl": b.url})
		require.NoError(t, sdktest.Write(t, sink, events(numbered("before-", 10)...)...))
		src.events.Wait(t, 10)

		b.restart(t)
		if !b.persistent {
			// The new mochi knows no subscription: what is published
			// before the source subscribes again goes nowhere.
			src.waitSubscribed(t, 2)
		}
		// Write as the host does: what was not written is sent again.
		pending := events(numbered("after-", 10)...)
		var failures []error
		require.Eventually(t, func() bool {
			err := sdktest.Write(t, sink, pending...)
			if err != nil {
				failures = append(failures, err)
				written := len(pending) - len(slices.DeleteFunc(sdktest.Outcomes(len(pending), err), func(o sdktest.Outcome) bool { return o == sdktest.Written }))
				pending = pending[written:]
			}
			return err == nil
		}, connectTimeout+sdktest.Timeout, 50*time.Millisecond) // see waitSubscribed
		want := append(numbered("before-", 10), numbered("after-", 10)...)
		require.Eventually(t, func() bool {
			got := bodies(src.events.Events())
			return !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) })
		}, sdktest.Timeout, 10*time.Millisecond, "every message the sink wrote reaches the source")
		for _, err := range failures {
			require.False(t, sdk.IsPermanent(err), "a broker away is not a permanent failure: %v", err)
			require.Contains(t, err.Error(), "mqtt-sink: ")
			require.Contains(t, err.Error(), strings.TrimPrefix(b.url, "tcp://"))
		}
	})
}

// TestSinkWriteFailsWhileTheBrokerIsAway: a batch the broker did not
// acknowledge is an error, sent again by the host, never nil.
func TestSinkWriteFailsWhileTheBrokerIsAway(t *testing.T) {
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, nil)
		got := subscribe(t, client(t, b, nil), "x")
		sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "x", "brokerUrl": b.url})
		require.NoError(t, sdktest.Write(t, sink, events("first")...))
		receive(t, got, 1)
		b.kill(t)
		for range 3 {
			err := sdktest.Write(t, sink, events("second", "third")...)
			require.Equal(t, []sdktest.Outcome{sdktest.Resent, sdktest.Resent}, sdktest.Outcomes(2, err), "%v", err)
			// "cannot reach" when paho saw the connection go, "cannot
			// publish" when a message found it gone.
			require.Regexp(t, `^mqtt-sink: cannot (reach|publish to) `+regexp.QuoteMeta(strings.TrimPrefix(b.url, "tcp://"))+`: [^\n]+$`, err.Error())
		}
		b.start(t)
		require.Eventually(t, func() bool { return sdktest.Write(t, sink, events("second", "third")...) == nil },
			connectTimeout+sdktest.Timeout, 50*time.Millisecond, "the sink writes again once the broker is back") // see waitSubscribed
	})
}

func TestSinkUnreachable(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "t", "brokerUrl": "tcp://" + addr})
	err := sdktest.Write(t, sink, events("x")...)
	require.EqualError(t, err, "mqtt-sink: cannot reach "+addr+": dial tcp "+addr+": connect: connection refused")
	require.False(t, sdk.IsPermanent(err))
}

func TestSinkRefusesABadOverrideTopic(t *testing.T) {
	b := startMochi(t, nil)
	got := subscribe(t, client(t, b, nil), "#")
	sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "ok", "brokerUrl": b.url})
	batch := events("a", "b", "c")
	batch[1].Headers = map[string]string{HeaderOverrideTopic: "bad/#"}
	err := sdktest.Write(t, sink, batch...)
	require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err))
	require.ErrorContains(t, err, `mqtt-sink: the CamelPahoOverrideTopic header must not hold the wildcards`)
	require.Equal(t, []string{"ok: a"}, receive(t, got, 1))
}

// TestCredentials connects with a username and password to brokers that
// require them, and with a wrong password: the error names the broker
// and the cause, and neither it nor the log shows the password.
func TestCredentials(t *testing.T) {
	const secret = "s3cr3t-Pa55-mqtt-xyz"
	creds := &credentials{username: "rayvens", password: secret, denied: "forbidden"}
	eachPeer(t, func(t *testing.T, p peer) {
		b := p.start(t, creds)
		addr := strings.TrimPrefix(b.url, "tcp://")
		good := map[string]any{"topic": "secure", "brokerUrl": b.url, "username": creds.username, "password": secret}
		src := runSource(t, good, false)
		var sinkLog sdktest.Log
		sink := sdktest.NewSink(t, SinkKind, good, sdktest.LogTo(&sinkLog))
		require.NoError(t, sdktest.Write(t, sink, events("hello")...))
		require.Equal(t, []string{"hello"}, bodies(src.events.Wait(t, 1)))

		if p.name == "mochi" { // mosquitto grants it, and then delivers nothing (its ACLs filter deliveries)
			denied := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "forbidden", "brokerUrl": b.url, "username": creds.username, "password": secret})
			require.EqualError(t, sdktest.Run(t, denied, new(sdktest.Collector).Emit).Wait(),
				"mqtt-source: the broker at "+addr+" refused the subscription to the topic (not authorized?)")
		}

		bad := map[string]any{"topic": "secure", "brokerUrl": b.url, "username": creds.username, "password": secret + "-wrong"}
		var log sdktest.Log
		badSrc := sdktest.NewSource(t, SourceKind, bad, sdktest.LogTo(&log))
		srcErr := sdktest.Run(t, badSrc, new(sdktest.Collector).Emit).Wait()
		require.ErrorContains(t, srcErr, "mqtt-source: the broker at "+addr+" refused the connection: ")
		badSink := sdktest.NewSink(t, SinkKind, bad, sdktest.LogTo(&log))
		sinkErr := sdktest.Write(t, badSink, events("x")...)
		require.ErrorContains(t, sinkErr, "mqtt-sink: the broker at "+addr+" refused the connection: ")
		for _, text := range []string{srcErr.Error(), sinkErr.Error(), log.String(), sinkLog.String(), src.log.String()} {
			require.NotContains(t, text, "s3cr3t")
		}
		require.NotContains(t, srcErr.Error()+sinkErr.Error(), "\n", "each error is one line")
	})
}

// TestConfigErrors: New refuses what it can check without a network, with
// one line naming the kind and the parameter, never the value.
func TestConfigErrors(t *testing.T) {
	base := func(kv ...any) map[string]any {
		c := map[string]any{"topic": "t", "brokerUrl": "tcp://127.0.0.1:1883"}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	for _, tc := range []struct {
		config map[string]any
		source string // "" when the source accepts it
		sink   string
	}{
		{base("brokerUrl", "http://broker.example:1883"), `mqtt-source: parameter "brokerUrl" must start with tcp://, mqtt://, ssl://, tls://, mqtts://, ws:// or wss://`, `mqtt-sink: parameter "brokerUrl" must start with tcp://, mqtt://, ssl://, tls://, mqtts://, ws:// or wss://`},
		{base("brokerUrl", "tcp://user:hunter2@:1883"), `mqtt-source: parameter "brokerUrl" must be a URL such as tcp://mosquitto:1883`, `mqtt-sink: parameter "brokerUrl" must be a URL such as tcp://mosquitto:1883`},
		{base("brokerUrl", "tcp://hunter2:99999"), `mqtt-source: parameter "brokerUrl" has a port that is not a port number (1 to 65535)`, `mqtt-sink: parameter "brokerUrl" has a port that is not a port number (1 to 65535)`},
		{base("qos", 2), `mqtt-source: parameter "qos" must be 0 (at most once) or 1 (at least once); QoS 2 is not supported`, `mqtt-sink: parameter "qos" must be 0 (at most once) or 1 (at least once); QoS 2 is not supported`},
		{base("topic", "a/#/b"), `mqtt-source: topic may hold "+" and "#" only as whole levels, and "#" only as the last`, `mqtt-sink: topic must not hold the wildcards "+" or "#": messages are published on one topic`},
		{base("topic", "sensors/+"), "", `mqtt-sink: topic must not hold the wildcards "+" or "#": messages are published on one topic`},
		{base("topic", ""), "mqtt-source: topic must not be empty", "mqtt-sink: topic must not be empty"},
		{base("password", "hunter2"), "mqtt-source: password needs a username (MQTT 3.1.1 sends no password alone)", "mqtt-sink: password needs a username (MQTT 3.1.1 sends no password alone)"},
	} {
		_, err := sdktest.OpenSource(SourceKind, tc.config)
		if tc.source == "" {
			require.NoError(t, err)
		} else {
			require.EqualError(t, err, tc.source)
		}
		_, err = sdktest.OpenSink(SinkKind, tc.config)
		require.EqualError(t, err, tc.sink)
	}
	_, err := sdktest.Validate(SourceKind, map[string]any{"topic": "t"})
	require.EqualError(t, err, `mqtt-source: missing required parameter "brokerUrl"`)
}

func TestBrokerAddressDefaults(t *testing.T) {
	for raw, want := range map[string]string{
		"tcp://broker":      "broker:1883",
		"mqtts://broker":    "broker:8883",
		"wss://broker/mqtt": "broker:443",
		"tcp://[::1]":       "[::1]:1883",
		"ssl://broker:9999": "broker:9999",
	} {
		_, addr, err := brokerAddress(raw)
		require.NoError(t, err, raw)
		require.Equal(t, want, addr, raw)
	}
}

// silentHook makes mochi take the messages on one topic and never
// acknowledge them, as a broker that is overwhelmed or stalled does.
type silentHook struct {
	mochi.HookBase
	topic string
}

func (h *silentHook) ID() string { return "silent" }

func (h *silentHook) Provides(b byte) bool { return b == mochi.OnPublish }

func (h *silentHook) OnPublish(_ *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.TopicName == h.topic {
		return pk, packets.ErrRejectPacket // dropped, no PUBACK
	}
	return pk, nil
}

// TestSinkWithoutPUBACK: a message the broker does not acknowledge is
// not written; those before it are.
func TestSinkWithoutPUBACK(t *testing.T) {
	b := mochiWith(t, nil, &silentHook{topic: "stalled"})
	addr := strings.TrimPrefix(b.url, "tcp://")
	s := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "ok", "brokerUrl": b.url})
	s.(*sink).ackTimeout = 200 * time.Millisecond
	batch := events("a", "b", "c")
	batch[1].Headers = map[string]string{HeaderOverrideTopic: "stalled"}
	err := sdktest.Write(t, s, batch...)
	require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Resent, sdktest.Resent}, sdktest.Outcomes(3, err))
	require.ErrorContains(t, err, "mqtt-sink: the broker at "+addr+" did not acknowledge the message within 200ms")
}

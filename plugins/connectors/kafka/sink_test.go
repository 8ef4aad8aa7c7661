package kafka

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func sinkConfig(p *peer) map[string]any {
	return map[string]any{"topic": "out", "bootstrapServers": p.addr()}
}

func events(values ...string) []sdk.Event {
	var out []sdk.Event
	for _, v := range values {
		out = append(out, sdk.Event{Body: []byte(v)})
	}
	return out
}

func recordBodies(rs []*kgo.Record) []string {
	out := bodies(rs, func(r *kgo.Record) []byte { return r.Value })
	sort.Strings(out)
	return out
}

func TestSinkWritesBatches(t *testing.T) {
	p := newPeer(t)
	sink := sdktest.NewSink(t, SinkKind, sinkConfig(p))
	require.NoError(t, sdktest.Write(t, sink, events(numbered("e", 0, 100)...)...))
	require.NoError(t, sdktest.Write(t, sink, events("last")...))
	want := append(numbered("e", 0, 100), "last")
	sort.Strings(want)
	require.Equal(t, want, recordBodies(p.read("out", 101)))
}

func TestSinkHeaders(t *testing.T) {
	p := newPeer(t)
	sink := sdktest.NewSink(t, SinkKind, sinkConfig(p))
	require.NoError(t, sdktest.Write(t, sink,
		sdk.Event{Body: []byte("keyed"), Headers: map[string]string{
			"kafka.KEY": "k1", "kafka.OVERRIDE_TOPIC": "in", "trace": "abc",
			// a source's descriptive headers and Camel's are not record headers
			"kafka.TOPIC": "elsewhere", "kafka.OFFSET": "7", "CamelFileName": "x.txt",
		}},
		sdk.Event{Body: []byte("to partition 2"), Headers: map[string]string{"kafka.PARTITION_KEY": "2"}},
		sdk.Event{Body: []byte("binary key"), Headers: map[string]string{"kafka.KEY": "/gE=", "kafka.KEY_ENCODING": "base64"}},
	))
	in := p.read("in", 1)[0]
	require.Equal(t, "keyed", string(in.Value))
	require.Equal(t, "k1", string(in.Key))
	require.Equal(t, []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}}, in.Headers)

	out := p.read("out", 2)
	sort.Slice(out, func(i, j int) bool { return string(out[i].Value) < string(out[j].Value) })
	require.Equal(t, []byte{0xfe, 0x01}, out[0].Key)
	require.Equal(t, "to partition 2", string(out[1].Value))
	require.Equal(t, int32(2), out[1].Partition)
	require.Empty(t, out[1].Headers)
}

// TestSinkPassThrough: kafka-source's events into kafka-sink keep their
// key and headers, and go to the sink's topic, not back to the source's.
func TestSinkPassThrough(t *testing.T) {
	p := newPeer(t)
	p.produce(&kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("1")}}})
	src := sdktest.NewSource(t, SourceKind, sourceConfig(p, nil))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	sink := sdktest.NewSink(t, SinkKind, sinkConfig(p))
	require.NoError(t, sdktest.Write(t, sink, c.Wait(t, 1)...))
	r := p.read("out", 1)[0]
	require.Equal(t, "k", string(r.Key))
	require.Equal(t, []kgo.RecordHeader{{Key: "h", Value: []byte("1")}}, r.Headers)
}

// TestSinkRefusesForGood: an event whose headers make no record, or name a
// partition the topic does not have, fails for good; those before it are
// written, those after it are sent again.
func TestSinkRefusesForGood(t *testing.T) {
	p := newPeer(t)
	sink := sdktest.NewSink(t, SinkKind, sinkConfig(p))
	for _, tc := range []struct {
		headers map[string]string
		err     string
	}{
		{map[string]string{"kafka.PARTITION_KEY": "nine"}, "kafka-sink: not written: the kafka.PARTITION_KEY header must be a partition number"},
		{map[string]string{"kafka.PARTITION_KEY": "9"}, `kafka-sink: not written: the kafka.PARTITION_KEY header names partition 9, and topic "out" has 3`},
		{map[string]string{"kafka.OVERRIDE_TOPIC": "no/such"}, "kafka-sink: not written: the kafka.OVERRIDE_TOPIC header is not a Kafka topic name"},
		{map[string]string{"kafka.KEY": "!", "kafka.KEY_ENCODING": "base64"}, "kafka-sink: not written: the kafka.KEY header is not base64, as kafka.KEY_ENCODING says"},
	} {
		batch := events("before", "bad", "after")
		batch[1].Headers = tc.headers
		err := sdktest.Write(t, sink, batch...)
		require.EqualError(t, err, tc.err)
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err))
	}
}

func TestSinkUnreachable(t *testing.T) {
	sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "out", "bootstrapServers": "127.0.0.1:1"})
	err := sdktest.Write(t, sink, events("x")...)
	require.EqualError(t, err, "kafka-sink: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused")
	require.False(t, sdk.IsPermanent(err), "the host sends it again")
}

// TestSinkSurvivesABrokerRestart writes batches while the broker restarts,
// sending again what was not acknowledged as the host does: every record
// of every batch acknowledged is in the topic afterwards, and a batch is
// never acknowledged while the broker is down.
func TestSinkSurvivesABrokerRestart(t *testing.T) {
	p := newPeer(t)
	out := sdktest.NewSink(t, SinkKind, sinkConfig(p))
	out.(*sink).timeout = 2 * time.Second // the wait for a broker that is down
	const batches, size = 40, 50
	restarted := false
	for b := 0; b < batches; b++ {
		batch := events(numbered(fmt.Sprintf("b%d-", b), 0, size)...)
		if b == batches/2 {
			p.stop()
			err := sdktest.Write(t, out, batch...)
			require.Error(t, err, "nothing is acknowledged while the broker is down")
			require.Contains(t, err.Error(), "kafka-sink: ")
			p.start()
			restarted = true
		}
		deadline := time.Now().Add(2 * deliveryTimeout)
		for {
			err := sdktest.Write(t, out, batch...)
			if err == nil {
				break
			}
			n, _ := sdk.Written(err)
			batch = batch[n:]
			require.True(t, time.Now().Before(deadline), "batch %d not written: %v", b, err)
		}
	}
	require.True(t, restarted)
	got := map[string]bool{}
	for _, r := range p.read("out", batches*size) {
		got[string(r.Value)] = true
	}
	for b := 0; b < batches; b++ {
		for _, v := range numbered(fmt.Sprintf("b%d-", b), 0, size) {
			require.True(t, got[v], "%s is in the topic", v)
		}
	}
}

func TestSinkCannotWriteWithACancelledContext(t *testing.T) {
	p := newPeer(t)
	sink := sdktest.NewSink(t, SinkKind, sinkConfig(p))
	require.NoError(t, sdktest.Write(t, sink, events("first")...)) // connected
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := sink.Write(ctx, events("x"))
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "kafka-sink: "), err.Error())
}

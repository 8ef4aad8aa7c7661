package kafka

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func sourceConfig(p *peer, extra map[string]any) map[string]any {
	cfg := map[string]any{"topic": "in", "bootstrapServers": p.addr(), "consumerGroup": "g", "autoOffsetReset": "earliest"}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

func closeSource(t *testing.T, src sdk.Source) {
	t.Helper()
	require.NoError(t, src.(io.Closer).Close())
}

func TestSourceHeaders(t *testing.T) {
	p := newPeer(t)
	at := time.UnixMilli(1700000000123)
	p.produce(&kgo.Record{Topic: "in", Key: []byte("k1"), Value: []byte("hello"), Timestamp: at,
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}, {Key: "bin", Value: []byte{0xff, 0x00}}}},
		&kgo.Record{Topic: "in", Key: []byte{0xfe, 0x01}, Value: []byte{0xff}, Timestamp: at})
	cfg := sourceConfig(p, map[string]any{"brokers": p.addr()}) // Rayvens' name
	delete(cfg, "bootstrapServers")
	src := sdktest.NewSource(t, SourceKind, cfg)
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	evs := c.Wait(t, 2)

	require.Equal(t, "hello", string(evs[0].Body))
	require.Equal(t, "text/plain", evs[0].ContentType)
	require.Equal(t, map[string]string{
		"kafka.TOPIC": "in", "kafka.PARTITION": "0", "kafka.OFFSET": "0", "kafka.KEY": "k1",
		"kafka.TIMESTAMP": "1700000000123", "trace": "abc", "bin": "/wA=", "kafka.BASE64_HEADERS": "bin",
	}, evs[0].Headers)
	require.Equal(t, []byte{0xff}, evs[1].Body)
	require.Equal(t, "application/octet-stream", evs[1].ContentType)
	require.Equal(t, "/gE=", evs[1].Headers["kafka.KEY"])
	require.Equal(t, "base64", evs[1].Headers["kafka.KEY_ENCODING"])
	require.Equal(t, "1", evs[1].Headers["kafka.OFFSET"])
}

// TestSourceCommitsOnlyWhatIsDone: nothing is committed before an Ack(nil);
// a failed event holds back the commit of its partition at its offset.
func TestSourceCommitsOnlyWhatIsDone(t *testing.T) {
	p := newPeer(t)
	p.values("in", numbered("e", 0, 10)...)
	src := sdktest.NewSource(t, SourceKind, sourceConfig(p, map[string]any{"autoCommitEnable": false}))
	c := sdktest.Collector{Hold: true}
	sdktest.Run(t, src, c.Emit)
	evs := c.Wait(t, 10)
	require.Equal(t, numbered("e", 0, 10), bodies(evs, func(e sdk.Event) []byte { return e.Body }))
	require.Equal(t, int64(-1), p.committed("g", "in"), "nothing is committed before an ack")

	s := src.(*source)
	evs[1].Ack(nil) // out of order: 0 is not done, so nothing moves
	s.commit(t.Context(), nil)
	require.Equal(t, int64(-1), p.committed("g", "in"), "an event not done holds back the later ones")
	evs[0].Ack(nil)
	eventually(t, func() bool { return p.committed("g", "in") == 2 }, "0 and 1 are done: the next offset to read is 2")

	evs[2].Ack(&sdk.FailedError{Reason: "subscriber failed"})
	for _, ev := range evs[3:] {
		ev.Ack(nil)
	}
	s.commit(t.Context(), nil)
	require.Equal(t, int64(2), p.committed("g", "in"), "a failed event is not committed, nor anything after it")
}

// TestSourceRestartReadsWhatWasNotDone is the crash-and-restart test: a
// source closed with events not acknowledged; the next instance of the
// same group gets them again, and not those that were done.
func TestSourceRestartReadsWhatWasNotDone(t *testing.T) {
	p := newPeer(t)
	p.values("in", numbered("e", 0, 20)...)
	first := sdktest.NewSource(t, SourceKind, sourceConfig(p, nil))
	c := sdktest.Collector{Hold: true}
	run := sdktest.Run(t, first, c.Emit)
	evs := c.Wait(t, 20)
	for _, ev := range evs[:10] {
		ev.Ack(nil)
	}
	evs[12].Ack(nil) // done, but after one that is not: read again
	require.NoError(t, run.Stop())
	closeSource(t, first)
	require.Equal(t, int64(10), p.committed("g", "in"))

	second := sdktest.NewSource(t, SourceKind, sourceConfig(p, nil), sdktest.Reopened(20))
	var again sdktest.Collector
	sdktest.Run(t, second, again.Emit)
	require.Equal(t, numbered("e", 10, 20), bodies(again.Wait(t, 10), func(e sdk.Event) []byte { return e.Body }))
	eventually(t, func() bool { return p.committed("g", "in") == 20 }, "the second instance commits what it did")
}

// TestSourceReconnects restarts the broker under a running source: it goes
// on with the records produced after the restart, losing none.
func TestSourceReconnects(t *testing.T) {
	p := newPeer(t)
	p.values("in", numbered("e", 0, 5)...)
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, sourceConfig(p, nil), sdktest.LogTo(&log))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	c.Wait(t, 5)
	eventually(t, func() bool { return p.committed("g", "in") == 5 }, "committed before the restart")

	p.stop()
	p.start()
	p.values("in", numbered("e", 5, 10)...)
	evs := c.Wait(t, 10)
	got := map[string]bool{}
	for _, ev := range evs {
		got[string(ev.Body)] = true
	}
	for _, want := range numbered("e", 0, 10) {
		require.True(t, got[want], "%s arrived", want)
	}
	eventually(t, func() bool { return p.committed("g", "in") == 10 }, "committed after the restart")
}

func TestSourceUnreachable(t *testing.T) {
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "in", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g"}, sdktest.LogTo(&log))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	eventually(t, func() bool {
		return strings.Contains(log.String(), "kafka-source: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused; trying again")
	}, "the unreachable broker is named with the cause on one line: %s", log.String())
}

func TestSourceWithoutGroupCommitsNothing(t *testing.T) {
	p := newPeer(t)
	p.values("in", "a", "b")
	var log sdktest.Log
	cfg := sourceConfig(p, nil)
	delete(cfg, "consumerGroup")
	src := sdktest.NewSource(t, SourceKind, cfg, sdktest.LogTo(&log))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	require.Equal(t, []string{"a", "b"}, bodies(c.Wait(t, 2), func(e sdk.Event) []byte { return e.Body }))
	require.Contains(t, log.String(), "no consumerGroup, so no offset is committed")
}

func TestSourceSeveralPartitionsAndTopics(t *testing.T) {
	p := newPeer(t)
	var rs []*kgo.Record
	for i := range 30 {
		rs = append(rs, &kgo.Record{Topic: "out", Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
	}
	p.produce(rs...)
	p.values("in", "x")
	src := sdktest.NewSource(t, SourceKind, sourceConfig(p, map[string]any{"topic": "in, out"}))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	evs := c.Wait(t, 31)
	partitions := map[string]bool{}
	for _, ev := range evs {
		partitions[ev.Headers["kafka.TOPIC"]+ev.Headers["kafka.PARTITION"]] = true
	}
	require.Len(t, partitions, 4, "in[0] and out[0..2]")
}

// TestSourceRebalance: a second source joins the group of a first one that
// acknowledged the first half of each partition. The partitions that move
// to the second come to it from the first record not done: what was done
// is not read again, what was not is.
func TestSourceRebalance(t *testing.T) {
	p := newPeer(t)
	var rs []*kgo.Record
	for part := range int32(3) {
		for i := range 10 {
			rs = append(rs, &kgo.Record{Topic: "out", Partition: part, Value: []byte(fmt.Sprintf("p%d-%d", part, i))})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), sdktest.Timeout)
	defer cancel()
	require.NoError(t, p.client(kgo.RecordPartitioner(kgo.ManualPartitioner())).ProduceSync(ctx, rs...).FirstErr())

	cfg := sourceConfig(p, map[string]any{"topic": "out"})
	first := sdktest.NewSource(t, SourceKind, cfg)
	a := sdktest.Collector{Hold: true}
	sdktest.Run(t, first, a.Emit)
	for _, ev := range a.Wait(t, 30) {
		if off, _ := strconv.Atoi(ev.Headers["kafka.OFFSET"]); off < 5 {
			ev.Ack(nil)
		}
	}

	second := sdktest.NewSource(t, SourceKind, cfg)
	var b sdktest.Collector
	sdktest.Run(t, second, b.Emit)
	moved := func() map[string][]string { // partition -> the bodies the second got
		got := map[string][]string{}
		for _, ev := range b.Events() {
			got[ev.Headers["kafka.PARTITION"]] = append(got[ev.Headers["kafka.PARTITION"]], string(ev.Body))
		}
		return got
	}
	eventually(t, func() bool {
		got := moved()
		if len(got) == 0 {
			return false
		}
		for _, bodies := range got {
			if len(bodies) < 5 {
				return false
			}
		}
		return true
	}, "the second source gets the partitions that moved to it")
	for part, got := range moved() {
		require.Equal(t, numbered("p"+part+"-", 5, 10), got, "partition %s comes from its first record not done", part)
	}
}

// TestSourceAbandoned: an instance that dies without closing (its process
// killed) commits nothing more; the next instance of the group gets every
// event it had not acknowledged when it died, and the done ones committed
// before that do not come again. (Here the dead instance's client is closed
// under it, without its Close: a killed process's member would hold its
// partitions until its session times out, which the root's
// TestKafkaSIGKILLHalfWay goes through.)
func TestSourceAbandoned(t *testing.T) {
	p := newPeer(t)
	p.values("in", numbered("e", 0, 20)...)
	dead := sdktest.NewSource(t, SourceKind, sourceConfig(p, nil))
	c := sdktest.Collector{Hold: true}
	run := sdktest.Run(t, dead, c.Emit)
	evs := c.Wait(t, 20)
	for _, ev := range evs[:10] {
		ev.Ack(nil)
	}
	eventually(t, func() bool { return p.committed("g", "in") == 10 }, "done events are committed every second")
	evs[15].Ack(nil)          // done, but after events that are not: not committed
	dead.(*source).cl.Close() // no final commit, no more acks: as if killed
	require.NoError(t, run.Stop())
	require.Equal(t, int64(10), p.committed("g", "in"))

	next := sdktest.NewSource(t, SourceKind, sourceConfig(p, nil), sdktest.Reopened(20))
	var again sdktest.Collector
	sdktest.Run(t, next, again.Emit)
	require.Equal(t, numbered("e", 10, 20), bodies(again.Wait(t, 10), func(e sdk.Event) []byte { return e.Body }))
}

func TestSourceRawHeaders(t *testing.T) {
	p := newPeer(t)
	p.produce(&kgo.Record{Topic: "in", Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("text")}}})
	src := sdktest.NewSource(t, SourceKind, sourceConfig(p, map[string]any{"deserializeHeaders": false}))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	ev := c.Wait(t, 1)[0]
	require.Equal(t, "dGV4dA==", ev.Headers["h"])
	require.Equal(t, "h", ev.Headers["kafka.BASE64_HEADERS"])
}

package kafka

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// peer is a kfake cluster on loopback, closed when the test ends. With a
// data directory it can be restarted on the same port, keeping its topics,
// records and committed offsets.
type peer struct {
	t    *testing.T
	c    *kfake.Cluster
	port int
	opts []kfake.Opt
}

// newPeer starts a one-broker cluster with topics "in" (1 partition) and
// "out" (3 partitions), persisted in a temporary directory.
func newPeer(t *testing.T, opts ...kfake.Opt) *peer {
	t.Helper()
	p := &peer{t: t, port: freePort(t)}
	p.opts = append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(p.port),
		kfake.SeedTopics(1, "in"),
		kfake.SeedTopics(3, "out"),
		kfake.DataDir(t.TempDir()),
	}, opts...)
	p.start()
	t.Cleanup(func() {
		if p.c != nil {
			p.c.Close()
		}
	})
	return p
}

func (p *peer) start() {
	p.t.Helper()
	c, err := kfake.NewCluster(p.opts...)
	require.NoError(p.t, err)
	p.c = c
}

func (p *peer) stop() {
	p.c.Close()
	p.c = nil
}

func (p *peer) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// client is a plain kgo client of the peer, for the test's own reads and
// writes, closed when the test ends.
func (p *peer) client(opts ...kgo.Opt) *kgo.Client {
	p.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(p.addr())}, opts...)...)
	require.NoError(p.t, err)
	p.t.Cleanup(cl.Close)
	return cl
}

// produce writes records and waits for their acks.
func (p *peer) produce(records ...*kgo.Record) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sdktest.Timeout)
	defer cancel()
	require.NoError(p.t, p.client().ProduceSync(ctx, records...).FirstErr())
}

// values produces one record to topic per value.
func (p *peer) values(topic string, values ...string) {
	p.t.Helper()
	var rs []*kgo.Record
	for _, v := range values {
		rs = append(rs, &kgo.Record{Topic: topic, Value: []byte(v)})
	}
	p.produce(rs...)
}

// read reads topic from its start until it has n records (every
// partition), or fails the test after sdktest.Timeout.
func (p *peer) read(topic string, n int) []*kgo.Record {
	p.t.Helper()
	cl := p.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), sdktest.Timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fetches := cl.PollFetches(ctx)
		require.NoError(p.t, ctx.Err(), "%d records of %s read, want %d", len(out), topic, n)
		out = append(out, fetches.Records()...)
	}
	return out
}

// committed is the offset group committed for topic's partition 0, -1
// for none.
func (p *peer) committed(group, topic string) int64 {
	p.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{0}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), sdktest.Timeout)
	defer cancel()
	resp, err := req.RequestWith(ctx, p.client())
	require.NoError(p.t, err)
	require.Len(p.t, resp.Topics, 1)
	require.Len(p.t, resp.Topics[0].Partitions, 1)
	return resp.Topics[0].Partitions[0].Offset
}

// bodies are the bodies of records or events, as strings.
func bodies[T any](items []T, body func(T) []byte) []string {
	var out []string
	for _, it := range items {
		out = append(out, string(body(it)))
	}
	return out
}

func numbered(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// eventually waits for cond with sdktest's bound.
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, sdktest.Timeout, 10*time.Millisecond, append([]any{msg}, args...)...)
}

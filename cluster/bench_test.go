package cluster

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

// The figures of the package on this machine: go test -run ^$ -bench . ./cluster/

func BenchmarkPublish(b *testing.B) {
	c := benchCluster(b)
	s, err := c.Stream(context.Background(), "bench")
	require.NoError(b, err)
	ctx := context.Background()
	ev := camel.Event{Body: []byte("0123456789abcdef0123456789abcdef"), ContentType: "text/plain"}
	b.ResetTimer()
	for b.Loop() {
		require.NoError(b, s.Publish(ctx, ev))
	}
	require.NoError(b, s.Flush(ctx))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkBroadcast(b *testing.B) { benchConsume(b, Broadcast) }

func BenchmarkWorkQueueTwoProcesses(b *testing.B) { benchConsume(b, WorkQueue) }

func benchConsume(b *testing.B, mode Mode) {
	c := benchCluster(b)
	s, err := c.Stream(context.Background(), "bench")
	require.NoError(b, err)
	ctx := context.Background()
	for i := range b.N {
		require.NoError(b, s.Publish(ctx, camel.Event{Body: []byte(strconv.Itoa(i))}))
	}
	require.NoError(b, s.Flush(ctx))
	processes := []*Cluster{c}
	if mode == WorkQueue {
		other, err := Connect(ctx, Config{URLs: []string{c.URL()}, Name: "other"})
		require.NoError(b, err)
		b.Cleanup(func() { other.Close() })
		processes = append(processes, other)
	}
	var handled atomic.Int64
	b.ResetTimer()
	for _, p := range processes {
		ps, err := p.Stream(ctx, "bench")
		require.NoError(b, err)
		x, err := ps.Subscribe(ctx, "bench", mode, func(_ camel.Event, done func(error)) {
			handled.Add(1)
			done(nil)
		})
		require.NoError(b, err)
		b.Cleanup(x.Close)
	}
	for handled.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	time.Sleep(100 * time.Millisecond) // for a figure of duplicates only
	b.ReportMetric(float64(handled.Load()-int64(b.N)), "duplicates")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func benchCluster(b *testing.B) *Cluster {
	c, err := Connect(context.Background(), Config{Embedded: true, Host: "127.0.0.1", Port: -1, StoreDir: b.TempDir(), Name: "bench"})
	require.NoError(b, err)
	b.Cleanup(func() { c.Close() })
	return c
}

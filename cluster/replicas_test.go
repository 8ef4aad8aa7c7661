package cluster

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rayvens/rayvens/internal/testport"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

// natsCluster starts three nats-servers with JetStream routed to each
// other on loopback ports, and returns them and their client URLs.
func natsCluster(t *testing.T) ([]*server.Server, []string) {
	t.Helper()
	var routes []string
	var routePorts []int
	for range 3 {
		port := testport.Free(t)
		routePorts = append(routePorts, port)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", port))
	}
	var servers []*server.Server
	var urls []string
	for i := range 3 {
		opts := &server.Options{
			ServerName: "n" + strconv.Itoa(i), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "rayvens-test", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:  server.RoutesFromStr(fmt.Sprintf("%s,%s,%s", routes[0], routes[1], routes[2])),
		}
		srv, err := server.NewServer(opts)
		require.NoError(t, err)
		go srv.Start()
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
		require.True(t, srv.ReadyForConnections(10*time.Second))
		servers = append(servers, srv)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", srv.Addr().(*net.TCPAddr).Port))
	}
	require.Eventually(t, func() bool { // the servers elect a JetStream leader
		for _, srv := range servers {
			if srv.JetStreamIsLeader() {
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "no JetStream leader")
	return servers, urls
}

func TestAThreeServerClusterLosesNothingWhenAServerDies(t *testing.T) {
	const n = 3000
	servers, urls := natsCluster(t)
	replicas := func(cfg *Config) { cfg.Replicas = 3 }
	producer := join(t, "producer", urls, replicas)
	var s *Stream
	require.Eventually(t, func() bool { // the servers elect a JetStream leader first
		var err error
		s, err = producer.Stream(context.Background(), "jobs")
		return err == nil
	}, 30*time.Second, 100*time.Millisecond)
	info, err := s.js.Info(context.Background())
	require.NoError(t, err)
	require.Len(t, info.Cluster.Replicas, 2, "three servers keep the stream")

	var r recorder
	subscribe(t, stream(t, join(t, "worker", urls, replicas), "jobs"), "score", WorkQueue, r.handle)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		if i == n/2 {
			// Kill the server leading the stream, mid-publish and mid-consume.
			killed := 0
			for _, srv := range servers {
				if srv.Name() == info.Cluster.Leader {
					srv.Shutdown()
					killed++
				}
			}
			require.Equal(t, 1, killed, "the leader %s is one of the servers", info.Cluster.Leader)
			t.Logf("killed %s after %d events published and %d handled", info.Cluster.Leader, i, r.count())
		}
		require.NoError(t, s.Publish(ctx, camel.Event{Body: []byte(strconv.Itoa(i)), ContentType: "text/plain", Headers: map[string]string{"N": strconv.Itoa(i)}}))
	}
	require.NoError(t, s.Flush(ctx))
	count, err := s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, n, count, "every event is stored once")

	seen := func() int {
		got := map[int]bool{}
		for _, e := range r.events() {
			got[e] = true
		}
		require.NotContains(t, got, -1)
		return len(got)
	}
	require.Eventually(t, func() bool { return seen() == n }, time.Minute, 50*time.Millisecond)
}

func TestPublishesWaitForALostServerAndAreStoredOnce(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	start := func() *server.Server {
		srv, err := server.NewServer(opts)
		require.NoError(t, err)
		go srv.Start()
		require.True(t, srv.ReadyForConnections(10*time.Second))
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
		return srv
	}
	srv := start()
	opts.Port = srv.Addr().(*net.TCPAddr).Port
	c := join(t, "producer", []string{fmt.Sprintf("nats://127.0.0.1:%d", opts.Port)})
	s := stream(t, c, "jobs")
	publish(t, s, 0, 10)

	srv.Shutdown()
	srv.WaitForShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 10; i < 20; i++ {
		require.NoError(t, s.Publish(ctx, camel.Event{Body: []byte(strconv.Itoa(i))}))
	}
	require.Eventually(t, func() bool { // the acknowledgements are late: sent again
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.outageSince.IsZero()
	}, 30*time.Second, 10*time.Millisecond)
	start()
	require.NoError(t, s.Flush(ctx))
	count, err := s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 20, count, "each event is stored once")
}

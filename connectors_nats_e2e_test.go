package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// natsServer starts an embedded nats-server with JetStream on a loopback
// port, stopped when the test ends, and returns its URL.
func natsServer(t testing.TB) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second), "nats-server did not start")
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return fmt.Sprintf("nats://127.0.0.1:%d", srv.Addr().(*net.TCPAddr).Port)
}

// natsCopy starts testdata/nats_copy.star on url, in mode "core" or
// "jetstream", and returns the command and its output so far.
func natsCopy(t testing.TB, url, mode string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binary, "run", "testdata/nats_copy.star", url, mode)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, &out
}

// TestNatsJetStreamCopy runs nats-source -> nats-sink on JetStream through
// the binary: 2,000 messages in, rayvens SIGKILLed half way and started
// again, every message in the output stream; the duplicates that the kill causes (messages stored in OUT whose acks in IN
// were lost) are counted and reported.
func TestNatsJetStreamCopy(t *testing.T) {
	const n = 2000
	url := natsServer(t)
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	in, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "IN", Subjects: []string{"in.>"}})
	require.NoError(t, err)
	out, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "OUT", Subjects: []string{"out"}})
	require.NoError(t, err)
	for i := range n {
		_, err := js.PublishAsync("in.orders", []byte(fmt.Sprintf("message %d", i)))
		require.NoError(t, err)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("the messages were not stored")
	}
	stored := func() uint64 {
		info, err := out.Info(t.Context())
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}

	cmd, output := natsCopy(t, url, "jetstream")
	require.Eventually(t, func() bool { return stored() >= n/2 }, 60*time.Second, 10*time.Millisecond, "output:\n%s", output)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	cmd, output = natsCopy(t, url, "jetstream")
	seen := map[string]int{}
	copied := func() bool {
		if stored() < n {
			return false
		}
		cons, err := out.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
		require.NoError(t, err)
		clear(seen)
		batch, err := cons.Fetch(int(stored()), jetstream.FetchMaxWait(10*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			seen[string(m.Data())]++
		}
		return len(seen) == n
	}
	require.Eventually(t, copied, 60*time.Second, 100*time.Millisecond, "output:\n%s", output)
	duplicates := 0
	for _, count := range seen {
		duplicates += count - 1
	}
	t.Logf("%d messages copied, %d duplicates after the SIGKILL", n, duplicates)

	// Every input message is acked once its copy is stored.
	require.Eventually(t, func() bool {
		cons, err := in.Consumer(t.Context(), "rayvens-in__")
		require.NoError(t, err)
		info, err := cons.Info(t.Context())
		require.NoError(t, err)
		return info.AckFloor.Stream == n && info.NumAckPending == 0
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, cmd, 20*time.Second), output.String())
	require.NotContains(t, output.String(), "error")
}

// TestNatsUnreachable: a source whose server does not answer stops the run
// with one line naming the kind, the server and the cause, and no secret.
func TestNatsUnreachable(t *testing.T) {
	script := filepath.Join(t.TempDir(), "unreachable.star")
	require.NoError(t, os.WriteFile(script, []byte(`
s = Stream("s", source_config=dict(kind="nats-source", servers="nats://rayvens:s3cr3t-Pa55@127.0.0.1:1", topic="t"))
s >> (lambda e: print(e))
`), 0o644))
	stdout, stderr, code := rayvens(t, "run", "--for", "30s", script)
	require.Equal(t, 1, code, stderr)
	require.Empty(t, stdout)
	require.Equal(t, `rayvens: stream "s": source "s-nats-source": nats-source: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused`+"\n"+
		"rayvens: the run had 1 failure (reported above)\n", stderr)
}

// BenchmarkNatsCopy measures events/s of nats-source -> nats-sink through
// the binary, on core NATS and on JetStream: b.N messages published once
// the pipeline is up, timed until the last one is out.
//
//	go test -run '^$' -bench NatsCopy -benchtime 20000x .
func BenchmarkNatsCopy(b *testing.B) {
	for _, mode := range []string{"core", "jetstream"} {
		b.Run(mode, func(b *testing.B) {
			url := natsServer(b)
			nc, err := nats.Connect(url)
			require.NoError(b, err)
			b.Cleanup(nc.Close)
			js, err := jetstream.New(nc)
			require.NoError(b, err)
			for name, subject := range map[string]string{"IN": "in.>", "OUT": "out"} {
				_, err := js.CreateStream(b.Context(), jetstream.StreamConfig{Name: name, Subjects: []string{subject}})
				require.NoError(b, err)
			}
			var received atomic.Int64
			_, err = nc.Subscribe("out", func(*nats.Msg) { received.Add(1) })
			require.NoError(b, err)
			_, output := natsCopy(b, url, mode)
			// The pipeline is up once a message goes through.
			require.Eventually(b, func() bool {
				_ = nc.Publish("in.warmup", []byte("warm up"))
				return received.Load() > 0
			}, 30*time.Second, 100*time.Millisecond, "output:\n%s", output)
			require.Eventually(b, func() bool { // the warm-up messages published meanwhile are through
				before := received.Load()
				time.Sleep(200 * time.Millisecond)
				return received.Load() == before
			}, 30*time.Second, 10*time.Millisecond)
			start := received.Load()

			b.ResetTimer()
			body := []byte("a message of about sixty bytes, as an event of a pipeline")
			for range b.N {
				if mode == "core" {
					require.NoError(b, nc.Publish("in.orders", body))
				} else if _, err := js.PublishAsync("in.orders", body); err != nil {
					b.Fatal(err)
				}
			}
			require.Eventually(b, func() bool { return received.Load()-start >= int64(b.N) }, 5*time.Minute, time.Millisecond, "output:\n%s", output)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

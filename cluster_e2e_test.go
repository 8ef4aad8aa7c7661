package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rayvens/rayvens/internal/testport"
	"github.com/stretchr/testify/require"
)

// The end-to-end tests of `rayvens run --cluster`: real processes of the
// binary sharing streams through NATS JetStream servers on loopback.

const (
	clusterWorkerScript = `def work(e):
    return {"n": e["n"], "worker": argv[0]}

jobs = Stream("jobs")
jobs >> Task(work, parallelism=4) >> Stream("done")
`
	clusterProducerScript = `jobs = Stream("jobs")
for i in range(int(argv[0])):
    jobs << {"n": i}
`
	// clusterSlowWorkerScript is the worker of the fault tests and the
	// redelivery benchmark: it records each event it starts in the cluster
	// stream "taken", then spends argv[1] seconds on it, so that a fault
	// lands while it holds events.
	clusterSlowWorkerScript = `taken = Stream("taken")

def work(e):
    taken << {"n": e["n"], "worker": argv[0]}
    sleep(float(argv[1]))
    return {"n": e["n"], "worker": argv[0]}

jobs = Stream("jobs")
jobs >> Task(work, parallelism=4) >> Stream("done")
`
	// clusterHolderScript keeps a process (and its embedded server) up
	// until it is stopped: its subscription is a source that never ends.
	clusterHolderScript = `Stream("idle") >> (lambda e: None)
`
)

// clusterScript writes a script into a temporary folder.
func clusterScript(t testing.TB, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return path
}

// clusterProc is a rayvens process started by a test.
type clusterProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{}
	err            error
}

// startClusterProc starts the binary with args (env added to the test's),
// killed at the end of the test if it still runs.
func startClusterProc(t testing.TB, env []string, args ...string) *clusterProc {
	t.Helper()
	p := &clusterProc{cmd: exec.Command(binary, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// wait waits for the process to exit and returns its exit status.
func (p *clusterProc) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(d):
		t.Fatalf("rayvens did not exit within %s; stderr:\n%s", d, p.stderr)
	}
	if exit, ok := p.err.(*exec.ExitError); ok {
		return exit.ExitCode()
	}
	require.NoError(t, p.err)
	return 0
}

// stop stops the process gracefully and requires exit status 0.
func (p *clusterProc) stop(t testing.TB) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.wait(t, 30*time.Second), "stderr:\n%s", p.stderr)
}

func (p *clusterProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// startClusterHolder starts a process that only runs the embedded server
// on port, and waits until it answers.
func startClusterHolder(t testing.TB, port int, env []string, extra ...string) *clusterProc {
	t.Helper()
	args := append([]string{"run", "--cluster", fmt.Sprintf("embedded:127.0.0.1:%d", port), "--name", "holder"}, extra...)
	p := startClusterProc(t, env, append(args, clusterScript(t, "holder.star", clusterHolderScript))...)
	require.Eventually(t, func() bool {
		nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port), nats.UserInfo(clusterEnvUser(env)))
		if err != nil {
			return false
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return false
		}
		_, err = js.Stream(context.Background(), "rayvens_idle")
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "the embedded server answers; stderr:\n%s", p.stderr)
	return p
}

// clusterEnvUser returns the user and password that env gives the holder.
func clusterEnvUser(env []string) (string, string) {
	var user, password string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RAYVENS_CLUSTER_USER="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(kv, "RAYVENS_CLUSTER_PASSWORD="); ok {
			password = v
		}
	}
	return user, password
}

// clusterJS connects the test itself to the servers at urls.
func clusterJS(t testing.TB, urls string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(urls, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// clusterCount is the number of events JetStream keeps in stream (0 if it
// does not exist yet).
func clusterCount(js jetstream.JetStream, stream string) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// storedEvent is an event as JetStream keeps it: its body and the time
// the server stored it.
type storedEvent struct {
	body   []byte
	stored time.Time
}

// clusterRead returns the bodies of every event stored in stream, in order.
func clusterRead(t testing.TB, js jetstream.JetStream, stream string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, e := range clusterReadStored(t, js, stream) {
		out = append(out, e.body)
	}
	return out
}

// clusterReadStored returns every event stored in stream, in order. A
// read that fails (the stream's leader being elected again after a server
// died: "no responders") is tried again, for up to a minute.
func clusterReadStored(t testing.TB, js jetstream.JetStream, stream string) []storedEvent {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := readStored(js, stream)
		if err == nil {
			return out
		}
		require.True(t, time.Now().Before(deadline), "reading %s: %v", stream, err)
		time.Sleep(200 * time.Millisecond) // before trying again
	}
}

func readStored(js jetstream.JetStream, stream string) ([]storedEvent, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []storedEvent
	for uint64(len(out)) < info.State.Msgs {
		batch, err := c.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			out = append(out, storedEvent{body: m.Data(), stored: meta.Timestamp})
			got++
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if got == 0 {
			return nil, fmt.Errorf("the stream %s has %d events, read %d", stream, info.State.Msgs, len(out))
		}
	}
	return out, nil
}

type doneEvent struct {
	N      int    `json:"n"`
	Worker string `json:"worker"`
}

// clusterDone reads rayvens_done: which workers processed each n.
func clusterDone(t testing.TB, js jetstream.JetStream) map[int]map[string]bool {
	t.Helper()
	out := map[int]map[string]bool{}
	for _, body := range clusterRead(t, js, "rayvens_done") {
		var e doneEvent
		require.NoError(t, json.Unmarshal(body, &e), "%s", body)
		if out[e.N] == nil {
			out[e.N] = map[string]bool{}
		}
		out[e.N][e.Worker] = true
	}
	return out
}

// requireAllDone requires every n in 0..n-1 processed, and nothing else.
func requireAllDone(t testing.TB, done map[int]map[string]bool, n int) {
	t.Helper()
	var missing []int
	for i := range n {
		if done[i] == nil {
			missing = append(missing, i)
		}
	}
	require.Empty(t, missing, "events never processed (%d of %d)", len(missing), n)
	require.Len(t, done, n, "no event that was not appended")
}

func TestClusterTaskWorkersShareTheWork(t *testing.T) {
	const n = 20_000
	t.Run("both run", func(t *testing.T) {
		url := startClusterHolderURL(t)
		js := clusterJS(t, url)
		worker := clusterScript(t, "worker.star", clusterWorkerScript)
		w1 := startClusterWorker(t, js, url, "1s", worker, "w1")
		w2 := startClusterWorker(t, js, url, "1s", worker, "w2")

		start := time.Now()
		producer := startClusterProc(t, nil, "run", "--cluster", url, clusterScript(t, "producer.star", clusterProducerScript), strconv.Itoa(n))
		require.Equal(t, 0, producer.wait(t, 2*time.Minute), "stderr:\n%s", producer.stderr)
		require.EqualValues(t, n, clusterCount(js, "rayvens_jobs"), "every append is stored")
		done := waitAllDone(t, js, n, w1, w2)
		elapsed := time.Since(start)
		total := clusterCount(js, "rayvens_done")
		t.Logf("%d events through two Task workers in %s: %.0f events/s (%d done events, %d duplicates)", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), total, total-n)
		by := doneBy(done)
		require.NotZero(t, by["w1"], "w1 did part of the work: %v", by)
		require.NotZero(t, by["w2"], "w2 did part of the work: %v", by)
		w1.stop(t)
		w2.stop(t)
	})

	t.Run("one killed half way", func(t *testing.T) {
		url := startClusterHolderURL(t)
		js := clusterJS(t, url)
		worker := clusterScript(t, "worker.star", clusterSlowWorkerScript)
		w1 := startClusterWorker(t, js, url, "1s", worker, "w1", "0.002")
		w2 := startClusterWorker(t, js, url, "1s", worker, "w2", "0.002")
		producer := startClusterProc(t, nil, "run", "--cluster", url, clusterScript(t, "producer.star", clusterProducerScript), strconv.Itoa(n))

		require.Eventually(t, func() bool { return clusterCount(js, "rayvens_done") >= n/2 }, 2*time.Minute, 5*time.Millisecond)
		require.NoError(t, w1.cmd.Process.Kill())
		killedAt := time.Now()
		t.Logf("SIGKILLed w1 with %d events done", clusterCount(js, "rayvens_done"))

		require.Equal(t, 0, producer.wait(t, 2*time.Minute), "stderr:\n%s", producer.stderr)
		require.EqualValues(t, n, clusterCount(js, "rayvens_jobs"), "every append is stored")
		done := waitAllDone(t, js, n, w2)
		by := doneBy(done)
		require.NotZero(t, by["w1"], "w1 did part of the work: %v", by)
		require.NotZero(t, by["w2"], "w2 did part of the work: %v", by)

		// The kill landed mid-flight: w1 had started events it never
		// finished, and the survivor did each of them.
		abandoned := abandonedBy(t, js, done, "w1")
		require.NotEmpty(t, abandoned, "w1 held events when it was killed")
		for _, a := range abandoned {
			require.True(t, done[a]["w2"], "event %d, abandoned by w1, done by w2", a)
		}
		first, last := redelivered(t, js, killedAt, abandoned, "w2")
		t.Logf("w1 abandoned %d started events; w2 finished the first %s and the last %s after the kill (ack wait 1s); by worker: %v",
			len(abandoned), first.Round(time.Millisecond), last.Round(time.Millisecond), by)
		w2.stop(t)
	})
}

// startClusterHolderURL starts an embedded server on a free port and
// returns its URL.
func startClusterHolderURL(t testing.TB) string {
	t.Helper()
	port := testport.Free(t)
	startClusterHolder(t, port, nil)
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// startClusterWorker starts a worker process named name with the given ack
// wait, and waits until the work queue exists in the cluster (its top
// level has run). args follow the name in the script's argv.
func startClusterWorker(t testing.TB, js jetstream.JetStream, url, ackWait, script, name string, args ...string) *clusterProc {
	t.Helper()
	p := startClusterProc(t, nil, append([]string{"run", "--cluster", url, "--cluster-ack-wait", ackWait, "--name", name, script, name}, args...)...)
	require.Eventually(t, func() bool { return workQueueExists(js, "rayvens_jobs") }, 30*time.Second, 20*time.Millisecond, "stderr:\n%s", p.stderr)
	return p
}

// waitAllDone waits until every event 0..n-1 is in rayvens_done, and
// requires nothing else there. It fails at once if a worker exits.
func waitAllDone(t testing.TB, js jetstream.JetStream, n int, workers ...*clusterProc) map[int]map[string]bool {
	t.Helper()
	exited := make(chan *clusterProc, len(workers))
	for _, w := range workers {
		go func() {
			<-w.exited
			exited <- w
		}()
	}
	deadline := time.After(2 * time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case w := <-exited:
			t.Fatalf("a worker exited before the work was done; stderr:\n%s", w.stderr)
		case <-deadline:
			t.Fatalf("not every event processed within 2m: %d done events", clusterCount(js, "rayvens_done"))
		case <-tick.C:
		}
		if clusterCount(js, "rayvens_done") < uint64(n) {
			continue
		}
		if done := clusterDone(t, js); len(done) == n {
			requireAllDone(t, done, n)
			return done
		}
	}
}

// doneBy counts the events each worker did.
func doneBy(done map[int]map[string]bool) map[string]int {
	by := map[string]int{}
	for _, ws := range done {
		for w := range ws {
			by[w]++
		}
	}
	return by
}

// abandonedBy returns the events worker started (rayvens_taken) and never
// finished (not in done from it), in order.
func abandonedBy(t testing.TB, js jetstream.JetStream, done map[int]map[string]bool, worker string) []int {
	t.Helper()
	var out []int
	for _, body := range clusterRead(t, js, "rayvens_taken") {
		var e doneEvent
		require.NoError(t, json.Unmarshal(body, &e), "%s", body)
		if e.Worker == worker && !done[e.N][worker] {
			out = append(out, e.N)
		}
	}
	return out
}

// redelivered returns how long after killedAt the first and the last of
// the events ns were stored in rayvens_done by worker: the delay until a
// dead worker's events are done by another.
func redelivered(t testing.TB, js jetstream.JetStream, killedAt time.Time, ns []int, worker string) (first, last time.Duration) {
	t.Helper()
	want := map[int]bool{}
	for _, n := range ns {
		want[n] = true
	}
	first = -1
	for _, ev := range clusterReadStored(t, js, "rayvens_done") {
		var e doneEvent
		require.NoError(t, json.Unmarshal(ev.body, &e))
		if e.Worker != worker || !want[e.N] {
			continue
		}
		delete(want, e.N)
		d := ev.stored.Sub(killedAt)
		if first < 0 {
			first = d
		}
		last = max(last, d)
	}
	require.Empty(t, want, "every abandoned event done by %s", worker)
	return first, last
}

// consumerExists reports whether stream has the consumer name.
func consumerExists(js jetstream.JetStream, stream, name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := js.Consumer(ctx, stream, name)
	return err == nil
}

// workQueueExists reports whether stream has a work queue consumer (w_...).
func workQueueExists(js jetstream.JetStream, stream string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false
	}
	names := s.ConsumerNames(ctx)
	found := false
	for name := range names.Name() {
		found = found || strings.HasPrefix(name, "w_")
	}
	return found && names.Err() == nil
}

// seenEvent is what the actor script records.
type seenEvent struct {
	N   int    `json:"n"`
	Run string `json:"run"`
}

func TestClusterActorKeepsOrderAcrossARestart(t *testing.T) {
	const n = 2000
	const script = `seen = Stream("seen")
def record(e):
    seen << {"n": e, "run": argv[0]}
    sleep(0.002)

Stream("nums") >> record
`
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			port := testport.Free(t)
			url := fmt.Sprintf("nats://127.0.0.1:%d", port)
			startClusterHolder(t, port, nil)
			js := clusterJS(t, url)
			actor := clusterScript(t, "actor.star", script)
			producer := clusterScript(t, "producer.star", "nums = Stream(\"nums\")\nfor i in range(1, int(argv[0]) + 1):\n    nums << i\n")

			first := startClusterProc(t, nil, "run", "--cluster", url, "--cluster-ack-wait", "1s", "--name", "a1", actor, "1")
			require.Eventually(t, func() bool { return consumerExists(js, "rayvens_nums", "b_a1_record") }, 30*time.Second, 50*time.Millisecond)
			p := startClusterProc(t, nil, "run", "--cluster", url, producer, strconv.Itoa(n))
			require.Equal(t, 0, p.wait(t, time.Minute), "stderr:\n%s", p.stderr)
			require.Eventually(t, func() bool { return clusterCount(js, "rayvens_seen") >= n/2 }, time.Minute, 5*time.Millisecond)
			require.NoError(t, first.cmd.Process.Signal(sig))
			code := first.wait(t, 30*time.Second)
			if sig == syscall.SIGTERM {
				require.Equal(t, 0, code, "stderr:\n%s", first.stderr)
			}
			require.Less(t, clusterCount(js, "rayvens_seen"), uint64(n), "stopped half way")

			second := startClusterProc(t, nil, "run", "--cluster", url, "--cluster-ack-wait", "1s", "--name", "a1", actor, "2")
			var seen []seenEvent
			require.Eventually(t, func() bool {
				if clusterCount(js, "rayvens_seen") == 0 {
					return false
				}
				seen = seen[:0]
				for _, body := range clusterRead(t, js, "rayvens_seen") {
					var e seenEvent
					require.NoError(t, json.Unmarshal(body, &e), "%s", body)
					seen = append(seen, e)
				}
				return len(seen) > 0 && seen[len(seen)-1].N == n && seen[len(seen)-1].Run == "2"
			}, time.Minute, 100*time.Millisecond, "the second run reaches the last event")
			second.stop(t)

			var run1, run2 []int
			for _, e := range seen {
				if e.Run == "1" {
					require.Empty(t, run2, "the first run's records all come before the second's")
					run1 = append(run1, e.N)
				} else {
					run2 = append(run2, e.N)
				}
			}
			require.NotEmpty(t, run1)
			require.NotEmpty(t, run2)
			requireConsecutive(t, run1, run1[0])
			require.Equal(t, 1, run1[0], "the first run starts at the first event")
			requireConsecutive(t, run2, run2[0])
			last := run1[len(run1)-1]
			require.LessOrEqual(t, run2[0], last+1, "nothing missing at the restart (first run ended at %d)", last)
			require.GreaterOrEqual(t, run2[0], last-5, "the second run resumes where the first stopped (%d), not from the start", last)
			if sig == syscall.SIGTERM {
				require.Equal(t, last+1, run2[0], "a graceful stop acknowledges what it handled: nothing twice")
			}
			t.Logf("first run %d..%d, second run %d..%d", run1[0], last, run2[0], run2[len(run2)-1])
		})
	}
}

// requireConsecutive requires ns to be from, from+1, from+2...
func requireConsecutive(t *testing.T, ns []int, from int) {
	t.Helper()
	for i, v := range ns {
		require.Equal(t, from+i, v, "in order, none missing, none twice (at index %d)", i)
	}
}

// clusterServers starts three nats-servers with JetStream routed to each
// other on loopback (as cluster/replicas_test.go does) and returns them
// and their client URLs.
func clusterServers(t *testing.T) ([]*server.Server, []string) {
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
			Cluster: server.ClusterOpts{Name: "rayvens-e2e", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		srv, err := server.NewServer(opts)
		require.NoError(t, err)
		go srv.Start()
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
		require.True(t, srv.ReadyForConnections(10*time.Second))
		servers = append(servers, srv)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", srv.Addr().(*net.TCPAddr).Port))
	}
	require.Eventually(t, func() bool {
		for _, srv := range servers {
			if srv.JetStreamIsLeader() {
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "no JetStream leader")
	return servers, urls
}

func TestClusterThreeServersOneKilled(t *testing.T) {
	const n = 10_000
	servers, urls := clusterServers(t)
	all := strings.Join(urls, ",")
	js := clusterJS(t, all)
	// A worker slower than the producer, so the kill lands while events
	// are both being appended and being worked on.
	worker := startClusterProc(t, nil, "run", "--cluster", all, "--cluster-replicas", "3", "--cluster-ack-wait", "1s", "--name", "w1",
		clusterScript(t, "worker.star", clusterSlowWorkerScript), "w1", "0.001")
	require.Eventually(t, func() bool { return workQueueExists(js, "rayvens_jobs") }, time.Minute, 50*time.Millisecond, "stderr:\n%s", worker.stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "rayvens_jobs")
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.NotNil(t, info.Cluster)
	require.Len(t, info.Cluster.Replicas, 2, "three servers keep the stream")

	// The kill must land while the producer appends. JetStream's API
	// answers late on a loaded machine (a count read that way was a second
	// old, and the producer had finished), so the test counts the
	// publishes as they pass, on plain NATS subscriptions, and finds the
	// leader in the servers themselves.
	nc, err := nats.Connect(all)
	require.NoError(t, err)
	defer nc.Close()
	var appended, done atomic.Int64
	for subject, count := range map[string]*atomic.Int64{"rayvens.stream.jobs": &appended, "rayvens.stream.done": &done} {
		_, err := nc.Subscribe(subject, func(*nats.Msg) { count.Add(1) })
		require.NoError(t, err)
	}
	require.NoError(t, nc.Flush())

	producer := startClusterProc(t, nil, "run", "--cluster", all, "--cluster-replicas", "3", clusterScript(t, "producer.star", clusterProducerScript), strconv.Itoa(n))
	require.Eventually(t, func() bool { return appended.Load() >= n/4 }, 2*time.Minute, time.Millisecond, "stderr:\n%s", producer.stderr)
	var leader string
	for _, srv := range servers {
		if srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, "rayvens_jobs") {
			leader = srv.Name()
			srv.Shutdown()
			break // another server may lead it a moment later: that one stays
		}
	}
	appendedAtKill, doneAtKill := appended.Load(), done.Load()
	require.NotEmpty(t, leader, "one of the servers leads rayvens_jobs")
	t.Logf("shut down %s, the leader of rayvens_jobs, with %d events appended and %d done", leader, appendedAtKill, doneAtKill)
	require.True(t, producer.running(), "the producer was still appending at the kill; its stderr:\n%s", producer.stderr)
	require.Less(t, doneAtKill, int64(n), "the worker was still working at the kill")

	require.Equal(t, 0, producer.wait(t, 2*time.Minute), "stderr:\n%s", producer.stderr)
	waitAllDone(t, js, n, worker)
	require.EqualValues(t, n, clusterCount(js, "rayvens_jobs"), "every append stored once")
	worker.stop(t)
}

func TestClusterEmbeddedStoreSurvivesARestart(t *testing.T) {
	t.Run("a store directory", func(t *testing.T) {
		const n = 500
		port := testport.Free(t)
		url := fmt.Sprintf("nats://127.0.0.1:%d", port)
		store := t.TempDir()
		embedded := fmt.Sprintf("embedded:127.0.0.1:%d", port)
		p := startClusterProc(t, nil, "run", "--cluster", embedded, "--cluster-store", store, clusterScript(t, "producer.star", clusterProducerScript), strconv.Itoa(n))
		require.Equal(t, 0, p.wait(t, time.Minute), "stderr:\n%s", p.stderr)

		w := startClusterProc(t, nil, "run", "--cluster", embedded, "--cluster-store", store, "--name", "w1", clusterScript(t, "worker.star", clusterWorkerScript), "w1")
		require.Eventually(t, func() bool {
			nc, err := nats.Connect(url)
			if err != nil {
				return false
			}
			nc.Close()
			return true
		}, 30*time.Second, 50*time.Millisecond)
		js := clusterJS(t, url)
		require.EqualValues(t, n, clusterCount(js, "rayvens_jobs"), "the events appended by the first run are still there")
		var done map[int]map[string]bool
		require.Eventually(t, func() bool {
			if clusterCount(js, "rayvens_done") < n {
				return false
			}
			done = clusterDone(t, js)
			return len(done) == n
		}, time.Minute, 100*time.Millisecond, "stderr:\n%s", w.stderr)
		requireAllDone(t, done, n)
		w.stop(t)
	})

	t.Run("no store directory leaves nothing", func(t *testing.T) {
		// A short TMPDIR, so the run directories go there (see socketBase).
		tmp, err := os.MkdirTemp("", "rvc")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(tmp) })
		env := []string{"TMPDIR=" + tmp}
		p := startClusterProc(t, env, "run", "--cluster", fmt.Sprintf("embedded:127.0.0.1:%d", testport.Free(t)), clusterScript(t, "producer.star", clusterProducerScript), "50")
		require.Equal(t, 0, p.wait(t, time.Minute), "stderr:\n%s", p.stderr)
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		require.Empty(t, left, "the embedded store went with the run")

		held := startClusterHolder(t, testport.Free(t), env)
		dirs, _ := filepath.Glob(filepath.Join(tmp, "rayvens-run-*", "cluster-store"))
		require.Len(t, dirs, 1, "the embedded store is in the run directory")
		require.NoError(t, held.cmd.Process.Kill())
		held.wait(t, 10*time.Second)
		require.DirExists(t, dirs[0], "nobody removed the killed run's directory")

		next := startClusterProc(t, env, "run", "--cluster", fmt.Sprintf("embedded:127.0.0.1:%d", testport.Free(t)), clusterScript(t, "producer.star", clusterProducerScript), "5")
		require.Equal(t, 0, next.wait(t, time.Minute), "stderr:\n%s", next.stderr)
		after, _ := filepath.Glob(filepath.Join(tmp, "rayvens-run-*"))
		require.Empty(t, after, "the next run removed the killed run's directory, and its own")
	})
}

func TestClusterBadInput(t *testing.T) {
	closed := testport.Free(t)

	// An embedded server that requires a password.
	authPort := testport.Free(t)
	holder := startClusterHolder(t, authPort, []string{"RAYVENS_CLUSTER_USER=u", "RAYVENS_CLUSTER_PASSWORD=s3cr3t-right"})

	// A JetStream server where rayvens_jobs exists with other subjects.
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	require.True(t, srv.ReadyForConnections(10*time.Second))
	clashURL := srv.ClientURL()
	clashJS := clusterJS(t, clashURL)
	_, err = clashJS.CreateStream(context.Background(), jetstream.StreamConfig{Name: "rayvens_jobs", Subjects: []string{"other.>"}})
	require.NoError(t, err)

	// A JetStream server for the non-serializable event.
	srv2, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go srv2.Start()
	t.Cleanup(func() { srv2.Shutdown(); srv2.WaitForShutdown() })
	require.True(t, srv2.ReadyForConnections(10*time.Second))
	valueURL := srv2.ClientURL()

	jobs := clusterScript(t, "jobs.star", "x = 1\njobs = Stream(\"jobs\")\n")
	lambda := clusterScript(t, "lambda.star", "jobs = Stream(\"jobs\")\njobs << {\"n\": 1}\njobs << (lambda x: x)\n")

	tests := []struct {
		name   string
		env    []string
		args   []string
		exit   int
		has    string   // in the one line
		hidden []string // never in the output
	}{
		{name: "unreachable", args: []string{"run", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", closed), jobs},
			exit: 1, has: fmt.Sprintf("127.0.0.1:%d", closed)},
		{name: "wrong password", env: []string{"RAYVENS_CLUSTER_USER=u", "RAYVENS_CLUSTER_PASSWORD=s3cr3t-wrong"},
			args: []string{"run", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", authPort), jobs},
			exit: 1, has: fmt.Sprintf("127.0.0.1:%d", authPort), hidden: []string{"s3cr3t"}},
		{name: "namespace clash", args: []string{"run", "--cluster", clashURL, jobs},
			exit: 1, has: jobs + ":2:14"},
		{name: "not serializable", args: []string{"run", "--cluster", valueURL, lambda},
			exit: 1, has: lambda + ":3:6"},
		{name: "store without cluster", args: []string{"run", "--cluster-store", t.TempDir(), jobs}, exit: 2, has: "--cluster-store needs --cluster"},
		{name: "bogus scheme", args: []string{"run", "--cluster", "bogus://x", jobs}, exit: 2, has: "--cluster"},
		{name: "bad namespace", args: []string{"run", "--cluster", "nats://127.0.0.1:1", "--cluster-namespace", "a b", jobs}, exit: 2, has: "--cluster-namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startClusterProc(t, tt.env, tt.args...)
			code := p.wait(t, time.Minute)
			stdout, stderr := p.stdout.String(), p.stderr.String()
			require.Equal(t, tt.exit, code, "stderr:\n%s", stderr)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			require.Len(t, lines, 1, "one line on stderr:\n%s", stderr)
			require.Contains(t, lines[0], tt.has)
			require.NotContains(t, stderr, "goroutine ", "no Go stack")
			require.NotContains(t, stderr, "panic")
			for _, h := range tt.hidden {
				require.NotContains(t, stderr, h, "a password in the output")
				require.NotContains(t, stdout, h, "a password in the output")
			}
			t.Logf("%s", lines[0])
		})
	}
	t.Run("the embedded server shows no password", func(t *testing.T) {
		require.True(t, holder.running())
		holder.stop(t)
		require.NotContains(t, holder.stdout.String()+holder.stderr.String(), "s3cr3t", "a password in the embedded server's output")
	})
	t.Run("not serializable keeps the first event", func(t *testing.T) {
		require.EqualValues(t, 1, clusterCount(clusterJS(t, valueURL), "rayvens_jobs"), "the first append is stored: nothing lost")
	})
}

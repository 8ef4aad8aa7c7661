package cluster

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
)

// embedded starts a process with an embedded server on a free loopback
// port, changed by configure, and closes it when the test ends.
func embedded(t *testing.T, name string, configure ...func(*Config)) *Cluster {
	t.Helper()
	cfg := Config{Embedded: true, Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir(), Name: name, AckWait: time.Second, RetryDelay: 100 * time.Millisecond}
	for _, c := range configure {
		c(&cfg)
	}
	return connect(t, cfg)
}

// join connects another process to the servers at urls.
func join(t *testing.T, name string, urls []string, configure ...func(*Config)) *Cluster {
	t.Helper()
	cfg := Config{URLs: urls, Name: name, AckWait: time.Second, RetryDelay: 100 * time.Millisecond}
	for _, c := range configure {
		c(&cfg)
	}
	return connect(t, cfg)
}

func connect(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func stream(t *testing.T, c *Cluster, name string) *Stream {
	t.Helper()
	s, err := c.Stream(context.Background(), name)
	require.NoError(t, err)
	return s
}

// publish appends events "from" .. "to"-1 and waits for them to be
// stored.
func publish(t *testing.T, s *Stream, from, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := from; i < to; i++ {
		require.NoError(t, s.Publish(ctx, camel.Event{Body: []byte(strconv.Itoa(i)), ContentType: "text/plain", Headers: map[string]string{"N": strconv.Itoa(i)}}))
	}
	require.NoError(t, s.Flush(ctx))
}

// recorder is a handler keeping the numbers of the events it got.
type recorder struct {
	mu  sync.Mutex
	got []int
}

func (r *recorder) handle(ev camel.Event, done func(error)) {
	n, err := strconv.Atoi(string(ev.Body))
	if err == nil && (ev.ContentType != "text/plain" || ev.Headers["N"] != string(ev.Body)) {
		err = fmt.Errorf("event %d came as %q with %v", n, ev.ContentType, ev.Headers)
	}
	r.mu.Lock()
	if err != nil {
		n = -1
	}
	r.got = append(r.got, n)
	r.mu.Unlock()
	done(nil)
}

func (r *recorder) events() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.got...)
}

func (r *recorder) count() int { return len(r.events()) }

func subscribe(t *testing.T, s *Stream, sub string, mode Mode, handle func(camel.Event, func(error))) *Subscription {
	t.Helper()
	x, err := s.Subscribe(context.Background(), sub, mode, handle)
	require.NoError(t, err)
	t.Cleanup(x.Close)
	return x
}

func upTo(n int) []int {
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	return want
}

func TestBroadcastGivesEveryProcessEveryEventInOrder(t *testing.T) {
	const n = 5000
	one := embedded(t, "one")
	two := join(t, "two", []string{one.URL()})
	s1, s2 := stream(t, one, "jobs"), stream(t, two, "jobs")

	start := time.Now()
	publish(t, s1, 0, n)
	t.Logf("published %d events at %.0f/s", n, n/time.Since(start).Seconds())
	count, err := s2.Count(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, n, count, "the same name is the same stream in both processes")

	var r1, r2 recorder
	start = time.Now()
	subscribe(t, s1, "log", Broadcast, r1.handle)
	subscribe(t, s2, "log", Broadcast, r2.handle)
	require.Eventually(t, func() bool { return r1.count() >= n && r2.count() >= n }, time.Minute, 10*time.Millisecond)
	t.Logf("two Broadcast subscribers got %d events each at %.0f/s each", n, n/time.Since(start).Seconds())
	require.Equal(t, upTo(n), r1.events())
	require.Equal(t, upTo(n), r2.events())
}

func TestBroadcastResumesAfterARestartWithTheSameName(t *testing.T) {
	srv := embedded(t, "server")
	publish(t, stream(t, srv, "jobs"), 0, 100)

	// The first run acknowledges events 0..49 and dies holding 50.
	first := join(t, "worker", []string{srv.URL()})
	var mu sync.Mutex
	var got []int
	held := make(chan struct{})
	subscribe(t, stream(t, first, "jobs"), "log", Broadcast, func(ev camel.Event, done func(error)) {
		n, _ := strconv.Atoi(string(ev.Body))
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		if n == 50 {
			close(held)
			return
		}
		done(nil)
	})
	<-held
	require.NoError(t, first.Close())
	mu.Lock()
	require.Equal(t, upTo(51), got)
	mu.Unlock()

	var again recorder
	subscribe(t, stream(t, join(t, "worker", []string{srv.URL()}), "jobs"), "log", Broadcast, again.handle)
	require.Eventually(t, func() bool { return again.count() >= 50 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, upTo(100)[50:], again.events(), "it resumes at the event it did not finish, without the ones it did")
}

func TestWorkQueueSharesEventsAndRedeliversTheOnesOfADeadWorker(t *testing.T) {
	const n = 2000
	one := embedded(t, "one")
	two := join(t, "two", []string{one.URL()})
	s1, s2 := stream(t, one, "jobs"), stream(t, two, "jobs")

	var r1 recorder
	subscribe(t, s1, "score", WorkQueue, r1.handle)
	// The second worker finishes its first 50 events, then holds the rest
	// and dies.
	var mu sync.Mutex
	var finished []int
	holding := 0
	subscribe(t, s2, "score", WorkQueue, func(ev camel.Event, done func(error)) {
		n, _ := strconv.Atoi(string(ev.Body))
		mu.Lock()
		defer mu.Unlock()
		if len(finished) < 50 {
			finished = append(finished, n)
			done(nil)
			return
		}
		holding++
	})
	start := time.Now()
	publish(t, s1, 0, n)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return holding > 0 }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, two.Close())
	died := time.Now()

	all := func() map[int]bool {
		seen := map[int]bool{}
		for _, e := range r1.events() {
			seen[e] = true
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range finished {
			seen[e] = true
		}
		return seen
	}
	require.Eventually(t, func() bool { return len(all()) == n }, time.Minute, 10*time.Millisecond)
	t.Logf("%d events handled by two WorkQueue workers at %.0f/s; the %d held by the dead one came to the other %v after it died", n, n/time.Since(start).Seconds(), holding, time.Since(died).Round(10*time.Millisecond))
	require.NotContains(t, all(), -1)
	require.NotEmpty(t, r1.events())
	require.Len(t, finished, 50)
	mu.Lock()
	require.LessOrEqual(t, holding, 64, "a worker holds at most WorkInFlight events")
	mu.Unlock()
}

func TestAFullPublishWindowBlocksUntilAnAcknowledgement(t *testing.T) {
	c := embedded(t, "one", func(cfg *Config) { cfg.PublishWindow = 4 })
	s := stream(t, c, "jobs")
	// Without its JetStream stream, no publish is acknowledged.
	require.NoError(t, c.js.DeleteStream(context.Background(), "rayvens_jobs"))
	ctx := context.Background()
	for i := range 4 {
		require.NoError(t, s.Publish(ctx, camel.Event{Body: []byte(strconv.Itoa(i))}))
	}
	returned := make(chan uint64, 1)
	go func() {
		err := s.Publish(ctx, camel.Event{Body: []byte("4")})
		s.mu.Lock()
		returned <- s.acked
		s.mu.Unlock()
		if err != nil {
			panic(err)
		}
	}()
	require.Never(t, func() bool { return len(returned) > 0 }, 300*time.Millisecond, 10*time.Millisecond, "the fifth publish waits")

	stream(t, c, "jobs") // makes the JetStream stream again: the acknowledgements come
	require.Eventually(t, func() bool { return len(returned) > 0 }, 30*time.Second, 10*time.Millisecond)
	require.GreaterOrEqual(t, <-returned, uint64(1), "the fifth publish returned after an acknowledgement")
	require.NoError(t, s.Flush(ctx))
	count, err := s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 5, count, "every event is stored once")
}

func TestTheEmbeddedStoreSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	first := embedded(t, "one", func(cfg *Config) { cfg.StoreDir = dir })
	publish(t, stream(t, first, "jobs"), 0, 100)
	require.NoError(t, first.Close())

	again := embedded(t, "one", func(cfg *Config) { cfg.StoreDir = dir })
	s := stream(t, again, "jobs")
	count, err := s.Count(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 100, count)
	var r recorder
	subscribe(t, s, "log", Broadcast, r.handle)
	require.Eventually(t, func() bool { return r.count() >= 100 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, upTo(100), r.events())
}

func TestAFailedEventIsHandledAgainNeverDropped(t *testing.T) {
	c := embedded(t, "one")
	s := stream(t, c, "jobs")
	publish(t, s, 0, 10)
	for _, mode := range []Mode{Broadcast, WorkQueue} {
		var mu sync.Mutex
		var got []int
		failed := map[int]bool{}
		subscribe(t, s, "retry-"+strconv.Itoa(int(mode)), mode, func(ev camel.Event, done func(error)) {
			n, _ := strconv.Atoi(string(ev.Body))
			mu.Lock()
			defer mu.Unlock()
			if n%3 == 0 && !failed[n] {
				failed[n] = true
				done(fmt.Errorf("event %d fails once", n))
				return
			}
			got = append(got, n)
			done(nil)
		})
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 10 }, 30*time.Second, 10*time.Millisecond)
		mu.Lock()
		if mode == Broadcast {
			require.Equal(t, upTo(10), got, "a failed event comes again before the next")
		} else {
			require.ElementsMatch(t, upTo(10), got)
		}
		require.Len(t, failed, 4)
		mu.Unlock()
	}
}

func TestARefusedPublishIsAnError(t *testing.T) {
	c := embedded(t, "one")
	s := stream(t, c, "jobs")
	ctx := context.Background()
	err := s.Publish(ctx, camel.Event{Body: make([]byte, 2<<20)})
	require.ErrorContains(t, err, `cluster: stream "jobs": an event was not stored: `)
	require.ErrorContains(t, err, "maximum payload")
	publish(t, s, 0, 3)
	count, err := s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 3, count)
}

func TestAPublishTheServerRefusesLaterIsReportedByFlush(t *testing.T) {
	c := embedded(t, "one")
	s := stream(t, c, "jobs")
	ctx := context.Background()
	cfg := s.js.CachedInfo().Config
	cfg.MaxMsgSize = 100
	_, err := c.js.UpdateStream(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, s.Publish(ctx, camel.Event{Body: make([]byte, 200)}), "the server answers later")
	err = s.Flush(ctx)
	require.ErrorContains(t, err, `cluster: stream "jobs": an event was not stored: `)
	t.Log(err)
	require.NoError(t, s.Flush(ctx), "an error is returned once")

	for range 3 {
		require.NoError(t, s.Publish(ctx, camel.Event{Body: make([]byte, 200)}))
	}
	require.ErrorContains(t, s.Flush(ctx), `cluster: stream "jobs": 3 events were not stored; the first: `)
}

func TestPublishersMayShareAStream(t *testing.T) {
	c := embedded(t, "one", func(cfg *Config) { cfg.PublishWindow = 8 })
	s := stream(t, c, "jobs")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g * 500; i < (g+1)*500; i++ {
				assert.NoError(t, s.Publish(context.Background(), camel.Event{Body: []byte(strconv.Itoa(i))}))
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Flush(context.Background()))
	count, err := s.Count(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 2000, count)
}

func TestSendReportsEachEventsOutcomeToItsDone(t *testing.T) {
	c := embedded(t, "one")
	s := stream(t, c, "jobs")
	ctx := context.Background()
	cfg := s.js.CachedInfo().Config
	cfg.MaxMsgSize = 100
	_, err := c.js.UpdateStream(ctx, cfg)
	require.NoError(t, err)
	outcomes := make(chan error, 3)
	for _, size := range []int{10, 200, 20} {
		require.NoError(t, s.Send(ctx, camel.Event{Body: make([]byte, size)}, func(err error) { outcomes <- err }))
	}
	require.NoError(t, <-outcomes, "stored")
	require.ErrorContains(t, <-outcomes, "message size exceeds maximum", "refused by the server, in order")
	require.NoError(t, <-outcomes)
	require.NoError(t, s.Flush(ctx), "a refusal Send reported to done is not reported again")
	count, err := s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, count)
}

func TestCloseClosesEverySubscriptionStillOpen(t *testing.T) {
	c := embedded(t, "one")
	s := stream(t, c, "jobs")
	var subs []*Subscription
	for _, name := range []string{"a", "b", "c"} {
		sub, err := s.Subscribe(context.Background(), name, Broadcast, func(_ camel.Event, done func(error)) { done(nil) })
		require.NoError(t, err)
		subs = append(subs, sub)
	}
	require.NoError(t, c.Close(), "three subscriptions open at Close")
	for _, sub := range subs {
		sub.Close() // once more: nothing happens
	}
}

package main

// The fault suite: each test runs the rayvens binary on a script of
// testdata/faults/, breaks something while events flow (a plugin
// SIGKILLed, rayvens itself SIGKILLed or stopped, a sink's endpoint down)
// and checks what docs/reliability.md promises: no event lost, duplicates
// only where a re-send allows them (counted and logged), order kept, nothing
// left behind.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFaultPluginKills SIGKILLs a plugin process 5 times (the most a
// plugin may die within a minute without failing the run) while 100,000
// numbered events go from a plugin source into a file-sink. Every number
// must reach the files; a number written more than once is a duplicate,
// allowed only for batches the host re-sent to a restarted sink.
//
// The actor that numbers the events runs in rayvens, so a source restarted
// from its beginning (dice-source counts per process) shows as events
// numbered past 99,999 ("extra"), not as duplicates; timer-source counts
// per run, so it emits exactly 100,000.
func TestFaultPluginKills(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 events through 5 plugin kills")
	}
	pluginDir := buildExamplePlugin(t)
	tests := []struct {
		name   string
		source string // the kind of the source
		kill   string // the plugin killed: "built-in" (file-sink, and timer-source) or "example" (dice-source)
	}{
		{name: "sink plugin", source: "dice-source", kill: "built-in"},
		{name: "source plugin", source: "dice-source", kill: "example"},
		{name: "source and sink plugin", source: "timer-source", kill: "built-in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			cmd, out, stderr := startNumberedRun(t, pluginDir, tt.source)

			// Kill once 40 more files (8,000 events) are written, each time
			// the process that took over from the one killed before. The
			// files written since show that it runs, past its handshake:
			// a plugin killed during the handshake of its restart is
			// another fault, left to TestFaultPluginKilledDuringItsRestart.
			killed := map[int]bool{}
			written := 0
			for k := 1; k <= 5; k++ {
				var pid int
				require.Eventually(t, func() bool {
					pid = pluginProcess(t, cmd.Process.Pid, tt.kill)
					return pid != 0 && !killed[pid] && countFiles(out) >= written+40
				}, 30*time.Second, time.Millisecond, "kill %d: a new %s plugin runs and more files are written; stderr:\n%s", k, tt.kill, stderr)
				require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
				killed[pid] = true
				written = countFiles(out)
			}
			require.NoError(t, waitWithin(t, cmd, 60*time.Second), "the run ends by itself, exit 0; stderr:\n%s", stderr)

			counts, files := readNumbers(t, out)
			total := 0
			for n := range counts {
				total = max(total, n+1)
			}
			dups := 0
			for n := 0; n < total; n++ {
				require.NotZero(t, counts[n], "event %d reached the sink", n)
				dups += counts[n] - 1
			}
			require.GreaterOrEqual(t, total, 100000, "the source emitted all its events")
			restarts := strings.Count(stderr.String(), "stopped unexpectedly; restarting it")
			require.Equal(t, 5, restarts, "each kill restarts the plugin once; stderr:\n%s", stderr)
			resent := resentEvents(t, stderr.String())
			t.Logf("%s killed 5 times in %s: %d files, %d numbers, %d extra (a source restarted from its beginning), "+
				"%d duplicates (%d events re-sent to the sink, of %d numbers each)",
				tt.kill, time.Since(start).Round(time.Millisecond), files, total, total-100000, dups, resent, 200)
			if tt.kill == "example" {
				require.Zero(t, dups, "the sink was never killed, so nothing was written twice")
			}
			if tt.source == "timer-source" {
				require.Equal(t, 100000, total, "timer-source's repeatCount counts for the run, across restarts")
			}
			require.LessOrEqual(t, dups, resent*200, "only re-sent events can be written twice")
			require.NotContains(t, stderr.String(), "panic")
		})
	}
}

// startNumberedRun runs testdata/faults/numbered.star: 100,000 events
// from source, numbered, into a file-sink writing to the directory it
// returns. The process is killed when the test ends.
func startNumberedRun(t *testing.T, pluginDir, source string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "--log-level", "info", "--plugin-dir", pluginDir,
		"testdata/faults/numbered.star", source, out)
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &syncBuffer{}, stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, out, stderr
}

// pluginProcess returns the pid of the live plugin process of rayvens
// (pid) named name ("built-in": rayvens itself serving its connectors, or
// an external plugin such as "example" for rayvens-plugin-example), or 0.
func pluginProcess(t *testing.T, pid int, name string) int {
	for _, child := range children(t, pid) {
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/cmdline")
		if err != nil {
			continue
		}
		exe := filepath.Base(string(bytes.SplitN(cmdline, []byte{0}, 2)[0]))
		if (name == "built-in" && exe == filepath.Base(binary)) || exe == "rayvens-plugin-"+name {
			return child
		}
	}
	return 0
}

// countFiles returns how many files a file-sink has written to dir (its
// hidden temporary files left out).
func countFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// readNumbers reads the files of dir, each a list of numbers one per line,
// and returns how often each number occurs, and how many files there are.
func readNumbers(t *testing.T, dir string) (map[int]int, int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	counts := map[int]int{}
	files := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files++
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		for _, line := range strings.Fields(string(data)) {
			n, err := strconv.Atoi(line)
			require.NoError(t, err, "file %s holds numbers", e.Name())
			counts[n]++
		}
	}
	return counts, files
}

// resentEvents adds up what the host logged re-sending to restarted sinks.
func resentEvents(t *testing.T, stderr string) int {
	t.Helper()
	total := 0
	for _, line := range strings.Split(stderr, "\n") {
		_, rest, ok := strings.Cut(line, "re-sending ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.Fields(rest)[0])
		require.NoError(t, err, line)
		total += n
	}
	return total
}

// TestFaultSIGKILLWithRequestsInFlight SIGKILLs rayvens while webhook
// requests go through a slow actor into a file-sink: every request
// answered 2xx is in the sink (a request without an answer, or answered
// 5xx, may or may not be), and no plugin process or run directory is left.
func TestFaultSIGKILLWithRequestsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of requests through a slow actor")
	}
	out := t.TempDir()
	tmp := privateTMPDIR(t)
	run := startWebhookRun(t, "testdata/faults/slow_webhook.star", out)
	plugins := children(t, run.cmd.Process.Pid)
	require.Len(t, plugins, 1, "the built-in plugin serves the webhook and the file-sink")

	load := postRequests(run.url, 400, 32)
	require.Eventually(t, func() bool { return load.accepted.Load() >= 40 }, 30*time.Second, time.Millisecond,
		"requests are answered; stderr:\n%s", run.stderr)
	require.NoError(t, run.cmd.Process.Signal(syscall.SIGKILL))
	_ = run.cmd.Wait()
	answers := load.wait(t)

	accepted, others := checkAnswersInSink(t, out, answers)
	t.Logf("SIGKILL after %d requests answered 2xx: %d of 400 answered 2xx, all in the sink; in the sink too, by answer (0: none): %v; all answers: %v",
		40, accepted, others, statusCounts(answers))
	require.Eventually(t, func() bool {
		for _, pid := range plugins {
			if alive(pid) {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "the plugin process ends with rayvens")
	require.Eventually(t, func() bool {
		left, _ := filepath.Glob(filepath.Join(tmp, "rayvens-run-*"))
		return len(left) == 0
	}, 10*time.Second, 10*time.Millisecond, "no socket or run directory is left")
}

// TestFaultSIGTERMDrains stops rayvens with SIGTERM while webhook requests
// go through a slow actor into a file-sink: every event the stream had
// taken (the script prints each) is still delivered, and so is every
// request answered 2xx, and the run exits 0 (a stop that does not drain
// within --drain-timeout, 10 s, exits 1).
func TestFaultSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of requests through a slow actor")
	}
	out := t.TempDir()
	run := startWebhookRun(t, "testdata/faults/slow_webhook.star", out)

	load := postRequests(run.url, 400, 16)
	require.Eventually(t, func() bool { return load.accepted.Load() >= 40 }, 30*time.Second, time.Millisecond,
		"requests are answered; stderr:\n%s", run.stderr)
	stop := time.Now()
	require.NoError(t, run.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, run.cmd, 30*time.Second), "a graceful stop drains and exits 0; stderr:\n%s", run.stderr)
	drained := time.Since(stop)
	answers := load.wait(t)

	accepted, others := checkAnswersInSink(t, out, answers)
	before, after := 0, 0
	for _, a := range answers {
		switch {
		case a.status/100 != 2:
		case a.at.Before(stop):
			before++
		default:
			after++
		}
	}
	taken := strings.Split(strings.TrimSpace(run.stdout.String()), "\n")
	for _, line := range taken {
		body, ok := strings.CutPrefix(line, "accepted ")
		require.True(t, ok, line)
		data, err := os.ReadFile(filepath.Join(out, body+".txt"))
		require.NoError(t, err, "the stream took %s, so the drain delivered it", body)
		require.Equal(t, body, string(data))
	}
	t.Logf("SIGTERM after %d requests answered 2xx; drained and exited in %s; the stream took %d events, all in the sink; "+
		"%d of 400 answered 2xx (%d after the signal), all in the sink; in the sink without a 2xx, by answer (0: none): %v; all answers: %v",
		before, drained.Round(time.Millisecond), len(taken), accepted, after, others, statusCounts(answers))
	require.Greater(t, len(taken), before, "events were in flight at the signal")
	require.NotContains(t, run.stderr.String(), "not delivered")
}

// privateTMPDIR gives the test, and the rayvens it starts, a TMPDIR of its
// own (short, so the plugins' sockets fit; see socketBase), whose run
// directories the test can check.
func privateTMPDIR(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "rvt")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	return tmp
}

// answer is what one request got: its body, its status (0: no answer)
// and when.
type answer struct {
	body   string
	status int
	at     time.Time
}

// requestLoad is requests posted concurrently to a webhook.
type requestLoad struct {
	accepted atomic.Int64 // answered 2xx so far
	wg       sync.WaitGroup
	mu       sync.Mutex
	answers  []answer
}

// postRequests posts the bodies req-0 ... req-(n-1) to url from workers
// goroutines, each request once.
func postRequests(url string, n, workers int) *requestLoad {
	l := &requestLoad{}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := range next {
				a := answer{body: fmt.Sprintf("req-%d", i)}
				if resp, err := client.Post(url, "text/plain", strings.NewReader(a.body)); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					a.status = resp.StatusCode
				}
				a.at = time.Now()
				if a.status/100 == 2 {
					l.accepted.Add(1)
				}
				l.mu.Lock()
				l.answers = append(l.answers, a)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// wait returns every request's answer once all have one or gave up.
func (l *requestLoad) wait(t *testing.T) []answer {
	t.Helper()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the requests did not end")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answers
}

// checkAnswersInSink checks that every request answered 2xx is in out
// (req-7 as req-7.txt) and returns how many were answered 2xx, and the
// answers of the other requests the sink holds, counted by status.
func checkAnswersInSink(t *testing.T, out string, answers []answer) (accepted int, others map[int]int) {
	t.Helper()
	others = map[int]int{}
	inSink := 0
	for _, a := range answers {
		data, err := os.ReadFile(filepath.Join(out, a.body+".txt"))
		if err == nil {
			require.Equal(t, a.body, string(data))
			inSink++
		}
		switch {
		case a.status/100 == 2:
			require.NoError(t, err, "%s was answered %d, so it is in the sink", a.body, a.status)
			accepted++
		case err == nil:
			others[a.status]++
		}
	}
	require.Equal(t, inSink, countFiles(out), "the sink holds only the requests' files")
	return accepted, others
}

// statusCounts counts answers by status (0: no answer).
func statusCounts(answers []answer) map[int]int {
	m := map[int]int{}
	for _, a := range answers {
		m[a.status]++
	}
	return m
}

// TestFaultSinkDown10s takes an http-sink's endpoint away for 10 s while a
// timer-source keeps producing: 4 s answering 500, then 6 s refusing
// connections (its listener closed), then listening again on the same port.
// Every event arrives, in order (a re-sent batch may repeat events, which
// are counted), within seconds of the recovery; meanwhile the source is
// held back, and rayvens' memory stays bounded.
func TestFaultSinkDown10s(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s outage")
	}
	const total = 5000
	ep := newEndpoint(t)
	cmd := exec.Command(binary, "run", "--log-level", "info", "testdata/faults/sink_outage.star", ep.url, strconv.Itoa(total))
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	produced := func() int { return strings.Count(stdout.String(), "\n") }

	require.Eventually(t, func() bool { return produced() >= 1 }, 30*time.Second, time.Millisecond,
		"the source produces; stderr:\n%s", &stderr)
	first := time.Now()
	require.Eventually(t, func() bool { return len(ep.received()) >= 200 }, 30*time.Second, time.Millisecond,
		"events reach the endpoint; stderr:\n%s", &stderr)
	down := time.Now()
	beforeOutage := produced()
	rate := float64(beforeOutage-1) / down.Sub(first).Seconds() // events a second while the sink is up
	ep.failing.Store(true)
	rss := watchRSS(cmd.Process.Pid, 4*time.Second)
	ep.stop()
	rss = max(rss, watchRSS(cmd.Process.Pid, 6*time.Second))
	during := produced() - beforeOutage
	outage := time.Since(down)
	hwm, pluginHWM := vmField(cmd.Process.Pid, "VmHWM"), vmField(pluginProcess(t, cmd.Process.Pid, "built-in"), "VmHWM")
	ep.failing.Store(false)
	ep.listen(t)
	up := time.Now()
	backlog := produced()

	require.Eventually(t, func() bool { return len(ep.received()) > 0 && maxNumber(ep.received()) >= backlog-1 }, 15*time.Second, time.Millisecond,
		"every event numbered before the endpoint came back is delivered within 15 s of its recovery; stderr:\n%s", &stderr)
	caughtUp := time.Since(up)
	require.NoError(t, waitWithin(t, cmd, 60*time.Second), "the run ends once the timer's events are delivered, exit 0; stderr:\n%s", &stderr)
	require.Equal(t, total, produced(), "the actor numbered every event of the timer")

	got := ep.received()
	dups, next := 0, 0
	for i, n := range got {
		require.LessOrEqual(t, n, next, "arrival %d: event %d comes in order (at most %d)", i, n, next)
		if n < next {
			dups++
		} else {
			next++
		}
	}
	require.Equal(t, total, next, "every event arrived")
	unheld := int(rate * outage.Seconds())
	t.Logf("outage of %s: the source produced %d events during it (at its rate before, %.0f a second, it would have produced %d); "+
		"every event produced before the recovery was delivered %s after it; %d events, %d duplicates; "+
		"memory during the outage: rayvens VmRSS at most %d kB, VmHWM %d kB, its plugin's VmHWM %d kB",
		outage.Round(time.Millisecond), during, rate, unheld, caughtUp.Round(time.Millisecond), total, dups, rss, hwm, pluginHWM)
	require.Less(t, during, unheld/2, "the source was held back during the outage")
	require.Less(t, hwm, 200<<10, "rayvens' memory (VmHWM, kB) stays bounded")
}

// endpoint is an HTTP endpoint that answers 200 and records each request's
// body as a number, or answers 500 while failing is set; it can stop
// listening and listen again on the same port.
type endpoint struct {
	url     string
	addr    string
	failing atomic.Bool

	mu   sync.Mutex
	got  []int
	srv  *http.Server
	done chan struct{}
}

func newEndpoint(t *testing.T) *endpoint {
	t.Helper()
	ep := &endpoint{addr: "127.0.0.1:0"}
	ep.listen(t)
	ep.url = "http://" + ep.addr + "/events"
	t.Cleanup(ep.stop)
	return ep
}

// listen serves on the endpoint's address (the same port after a stop).
func (ep *endpoint) listen(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", ep.addr)
	require.NoError(t, err)
	ep.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(ep.serve)}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	ep.mu.Lock()
	ep.srv, ep.done = srv, done
	ep.mu.Unlock()
}

// stop closes the listener and every connection: requests are refused.
func (ep *endpoint) stop() {
	ep.mu.Lock()
	srv, done := ep.srv, ep.done
	ep.srv = nil
	ep.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
		<-done
	}
}

func (ep *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	n, perr := strconv.Atoi(string(body))
	if err != nil || perr != nil {
		http.Error(w, "not a number", http.StatusBadRequest)
		return
	}
	if ep.failing.Load() {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	}
	ep.mu.Lock()
	ep.got = append(ep.got, n)
	ep.mu.Unlock()
}

// received returns the numbers answered 200, in the order they came.
func (ep *endpoint) received() []int {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]int(nil), ep.got...)
}

func maxNumber(ns []int) int {
	m := -1
	for _, n := range ns {
		m = max(m, n)
	}
	return m
}

// watchRSS reads the resident memory (VmRSS, kB) of process pid every
// 100 ms for d, and returns the highest.
func watchRSS(pid int, d time.Duration) int {
	peak := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for end := time.After(d); ; {
		peak = max(peak, vmField(pid, "VmRSS"))
		select {
		case <-end:
			return peak
		case <-tick.C:
		}
	}
}

// vmField reads a field of /proc/pid/status in kB, such as VmRSS or VmHWM,
// or 0.
func vmField(pid int, field string) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	return 0
}

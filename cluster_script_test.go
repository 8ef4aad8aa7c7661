package main

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/cluster"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// lockedBuffer is a bytes.Buffer for writers in several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// joinCluster connects a process identity to an embedded server (started
// by the first call, url "").
func joinCluster(t *testing.T, url, name string) *cluster.Cluster {
	t.Helper()
	cfg := cluster.Config{Embedded: true, Host: "127.0.0.1", Port: -1, Name: name}
	if url != "" {
		cfg = cluster.Config{URLs: []string{url}, Name: name}
	}
	c, err := cluster.Connect(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestClusterStreamsInScripts: two runs that share an embedded cluster (as
// two processes would) see one stream by its name: values cross as what
// was appended, event_count is the cluster's, operators run where the
// events are received, derived and local=True streams stay in their
// process, and a value that cannot cross is an error at its append.
func TestClusterStreamsInScripts(t *testing.T) {
	server := joinCluster(t, "", "producer")
	receiver := joinCluster(t, server.URL(), "receiver")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out lockedBuffer
	recv, err := rstarlark.New(rstarlark.Options{Stdout: &out, Stderr: &out, Cluster: scriptCluster{receiver}})
	require.NoError(t, err)
	require.NoError(t, recv.Start(ctx, "receiver.star", `
jobs = Stream("jobs", operator=lambda e: e if type(e) != "string" or e != "drop me" else None)
mine = Stream("mine", local=True)
mine >> (lambda e: print("local", e))
def show(e):
    print("got", type(e), e)
    return e
derived = jobs >> show
derived >> (lambda e: print("derived", e) if e == 7 else None)
`))

	var prodOut lockedBuffer
	err = rstarlark.Run(context.Background(), "producer.star", `
jobs = Stream("jobs")
mine = Stream("mine", local=True)
mine << "not shared"
jobs << "text" << b"raw" << {"n": 1, "tags": ["a"]} << 7 << "drop me"
jobs << OutputEvent("body", {"k": "v"})
print("stored", jobs.event_count())
jobs << (lambda x: x)
`, rstarlark.Options{Stdout: &prodOut, Stderr: &prodOut, Cluster: scriptCluster{server}})
	require.Error(t, err)
	require.Contains(t, prodOut.String(), "stored 6\n", "event_count waits for the appends to be stored")
	require.Contains(t, err.Error(), `producer.star:8:6: stream "jobs": a function cannot go to another process`)

	require.Eventually(t, func() bool { return bytes.Count([]byte(out.String()), []byte("got ")) == 5 }, 20*time.Second, 10*time.Millisecond, out.String())
	stop()
	require.NoError(t, recv.Wait())
	got := out.String()
	require.Contains(t, got, "got string text\n")
	require.Contains(t, got, "got bytes raw\n")
	require.Contains(t, got, `got dict {"n": 1, "tags": ["a"]}`+"\n")
	require.Contains(t, got, "got int 7\n")
	require.Contains(t, got, `got Message Message("body", content_type="text/plain", headers={"k": "v"})`+"\n")
	require.NotContains(t, got, "drop me", "the receiver's operator dropped it")
	require.NotContains(t, got, "local", "a local=True stream is not shared")
	require.Contains(t, got, "derived 7\n", "a derived stream gets the results in this process")

	// The receiver's subscription (named after its function, show) is
	// durable: a later run with the same identity resumes after what it
	// has had.
	var again lockedBuffer
	ctx2, stop2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop2()
	require.NoError(t, rstarlark.Run(ctx2, "receiver.star", `
def show(e):
    print("got", type(e), e)
jobs = Stream("jobs")
jobs >> show
print("count", jobs.event_count())
`, rstarlark.Options{Stdout: &again, Stderr: &again, Cluster: scriptCluster{receiver}}))
	require.Equal(t, "count 6\n", again.String(), "nothing handed twice")

	// Forwards between cluster streams that close a cycle in one process
	// are refused, as between local streams.
	var cycleOut lockedBuffer
	err = rstarlark.Run(context.Background(), "cycle.star", `
a = Stream("a")
b = Stream("b")
c = Stream("c")
a >> b >> c
c >> a
`, rstarlark.Options{Stdout: &cycleOut, Stderr: &cycleOut, Cluster: scriptCluster{server}})
	require.ErrorContains(t, err, `cycle.star:6:3: subscribing stream "a" to stream "c" would create a cycle through the cluster (c >> a >> b >> c)`)
}

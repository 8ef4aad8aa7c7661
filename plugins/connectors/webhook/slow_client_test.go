package webhook

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// These tests speak HTTP by hand over a net.Conn, to be the clients an
// http.Client never is: one that stops halfway through its headers, one
// that stalls or trickles its body, one that lies about its size.

// rawConn is a client connection to w whose reads and writes fail the
// test after wait.
func rawConn(t *testing.T, w *running) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", w.ln.Addr().String(), wait)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(wait)))
	return conn, bufio.NewReader(conn)
}

// write sends s on conn.
func write(t *testing.T, conn net.Conn, s string) {
	t.Helper()
	_, err := io.WriteString(conn, s)
	require.NoError(t, err)
}

// readAnswer reads one answer from r and its body.
func readAnswer(t *testing.T, r *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// requireClosed checks that the server closes the connection (and so
// that the goroutine serving it is done with it): reading reaches the end
// of the stream, or a reset when the client wrote more after the server
// closed, never the client's own deadline. It returns what was read
// before the end.
func requireClosed(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	rest, err := io.ReadAll(r)
	if !errors.Is(err, syscall.ECONNRESET) {
		require.NoError(t, err, "the server still holds the connection")
	}
	return string(rest)
}

func TestStalledHeadersAreCut(t *testing.T) {
	w := start(t, map[string]any{}, new(sdktest.Collector), func(w *webhook) { w.headerWait = 100 * time.Millisecond })
	conn, r := rawConn(t, w)
	write(t, conn, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
	// Go's server answers 400 to the headers it has, or nothing.
	require.NotContains(t, requireClosed(t, r), "HTTP/1.1 2", "no success")
	require.Zero(t, w.stream.Len())
}

func TestSlowBodyAnswers408(t *testing.T) {
	for _, tt := range []struct {
		name string
		// send writes the body after the headers, on its own goroutine;
		// stop ends it.
		send func(conn net.Conn, stop <-chan struct{})
	}{
		{"stalled", func(conn net.Conn, _ <-chan struct{}) {
			_, _ = io.WriteString(conn, "only the start") // an error shows as no 408 below
		}},
		{"trickled", func(conn net.Conn, stop <-chan struct{}) {
			// One byte every 10 ms: the body keeps coming, and never in
			// time.
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := conn.Write([]byte("x")); err != nil {
					return // the server closed the connection
				}
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := start(t, map[string]any{}, new(sdktest.Collector), func(w *webhook) { w.bodyWait = 200 * time.Millisecond })
			conn, r := rawConn(t, w)
			write(t, conn, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n")
			stop := make(chan struct{})
			var sender sync.WaitGroup
			sender.Go(func() { tt.send(conn, stop) })
			defer sender.Wait()
			defer close(stop)

			resp, body := readAnswer(t, r)
			require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, body)
			require.Equal(t, "the body did not arrive within 200ms\n", body)
			require.True(t, resp.Close, "the answer closes the connection")
			require.Empty(t, requireClosed(t, r))
			require.Zero(t, w.stream.Len(), "an incomplete body makes no event")
			require.Contains(t, w.log.String(), "request answered 408")
		})
	}
}

// The body deadline ends with the body: the wait for the event's outcome
// is bounded by ackWait alone, however longer than bodyWait it is, with a
// body or without.
func TestSlowOutcomeOutlivesTheBodyDeadline(t *testing.T) {
	for _, body := range []string{"slow to be done", ""} {
		w := start(t, map[string]any{}, &sdktest.Collector{Hold: true}, func(w *webhook) { w.bodyWait = 50 * time.Millisecond })
		answered := postAsync(t, w.url(), body, nil)
		ev := w.take(t, 1)
		require.Never(t, func() bool { return len(answered) > 0 }, 200*time.Millisecond, 5*time.Millisecond,
			"no answer, and no cut connection, past bodyWait (body %q)", body)
		ev.Ack(nil)
		require.Equal(t, http.StatusAccepted, await(t, answered).resp.StatusCode, "body %q", body)
		require.Equal(t, body, string(ev.Body))
	}
}

// Paths, methods and tokens that are refused leave the body unread; the
// server reads what is left of it after the answer, under the same
// deadline.
func TestRefusedSlowBodyIsCut(t *testing.T) {
	w := start(t, map[string]any{}, new(sdktest.Collector), func(w *webhook) { w.bodyWait = 100 * time.Millisecond })
	conn, r := rawConn(t, w)
	write(t, conn, "PUT /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nstalled")
	resp, _ := readAnswer(t, r)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Empty(t, requireClosed(t, r))
}

func TestBodyLimitOverARawConnection(t *testing.T) {
	w := start(t, map[string]any{"maxBodySize": 10}, new(sdktest.Collector), nil)
	for _, tt := range []struct {
		name, request string
		status        int
	}{
		{"Content-Length over the limit", "Content-Length: 11\r\n\r\n0123456789+", http.StatusRequestEntityTooLarge},
		{"Content-Length over the limit, body not sent", "Content-Length: 1000000000\r\n\r\n", http.StatusRequestEntityTooLarge},
		{"chunked over the limit", "Transfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n6789+\r\n0\r\n\r\n", http.StatusRequestEntityTooLarge},
		{"chunked at the limit", "Transfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n", http.StatusAccepted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, r := rawConn(t, w)
			write(t, conn, "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"+tt.request)
			resp, body := readAnswer(t, r)
			require.Equal(t, tt.status, resp.StatusCode, body)
			if tt.status == http.StatusRequestEntityTooLarge {
				require.Equal(t, "the body is larger than 10 bytes\n", body)
			}
		})
	}
	events := w.stream.Events()
	require.Len(t, events, 1, "only the body within the limit is an event")
	require.Equal(t, "0123456789", string(events[0].Body))
	require.NotContains(t, fmt.Sprint(events[0].Headers), "chunked", "connection headers stay out of the event")
	require.NotContains(t, w.log.String(), "panic")
}

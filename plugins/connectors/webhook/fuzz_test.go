package webhook

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// Limits of the fuzzed instance and requests.
const (
	fuzzMaxBody = 4096
	fuzzToken   = "fuzz-token"
)

// FuzzHandler sends a request of arbitrary method, path, headers and body
// (bounded to twice maxBodySize) over a raw connection to a running
// webhook-source, whose stream accepts every event at once. The server
// answers every request with a valid status (or, for a request Go's server
// cannot parse, may reset the connection), never panics, and an answer
// of 202 means exactly one event, whose body is the request's, unchanged;
// any other answer means none. The headers the fuzz input gives are one
// per line, "Name: value"; CR and LF are taken out of them, and the
// framing (Content-Length, Transfer-Encoding) is the test's, so that the
// body it sends is the body the server reads.
func FuzzHandler(f *testing.F) {
	var stream atomic.Pointer[sdktest.Collector]
	stream.Store(new(sdktest.Collector))
	emit := func(ctx context.Context, ev sdk.Event) error { return stream.Load().Emit(ctx, ev) }
	src := sdktest.NewSource(f, Kind, map[string]any{"port": 0, "maxBodySize": fuzzMaxBody, "authorizationToken": fuzzToken})
	w := src.(*webhook)
	w.headerWait, w.bodyWait = time.Second, time.Second // the test sends whole requests at once
	sdktest.Run(f, w, emit)
	addr := w.ln.Addr().String()

	f.Fuzz(func(t *testing.T, method, path, headers string, body []byte) {
		body = body[:min(len(body), 2*fuzzMaxBody)]
		s := new(sdktest.Collector)
		stream.Store(s)

		conn, err := net.DialTimeout("tcp", addr, wait)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(wait)))
		_, err = io.WriteString(conn, rawRequest(method, path, headers, body))
		require.NoError(t, err)

		status, answer, err := readFinalAnswer(bufio.NewReader(conn), oneLine(method))
		if errors.Is(err, syscall.ECONNRESET) {
			// Go's server answers 400 to a request it cannot parse and
			// closes without reading the rest: the unread body resets
			// the connection, and the answer may be lost.
			require.Empty(t, s.Wait(t, 0), "a refused request made an event")
			return
		}
		require.NoError(t, err, "every request is answered")
		require.GreaterOrEqual(t, status, 200, "a final answer")
		require.LessOrEqual(t, status, 599)
		require.NotContains(t, answer, fuzzToken)

		events := s.Wait(t, 0) // fails if an event could not cross the wire
		if status != http.StatusAccepted {
			require.Empty(t, events, "answered %d %q, yet an event went to the stream", status, answer)
			return
		}
		require.Len(t, events, 1, "one accepted request, one event")
		ev := events[0]
		require.Equal(t, string(body), string(ev.Body), "the body arrives unchanged")
		require.Equal(t, http.MethodPost, ev.Headers["CamelHttpMethod"])
		for name := range ev.Headers {
			require.NotEqual(t, "Authorization", name, "credentials stay out of events")
			if strings.HasPrefix(strings.ToLower(name), "camel") {
				require.Contains(t, []string{"CamelHttpMethod", "CamelHttpPath", "CamelHttpQuery"}, name, "a caller cannot set Camel headers")
			}
		}
	})
}

// readFinalAnswer reads the answer to a request of method, after any 100
// Continue.
func readFinalAnswer(r *bufio.Reader, method string) (status int, body string, err error) {
	for {
		resp, err := http.ReadResponse(r, &http.Request{Method: method})
		if err != nil {
			return 0, "", err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, "", err
		}
		if resp.StatusCode != http.StatusContinue {
			return resp.StatusCode, string(b), nil
		}
	}
}

// rawRequest is an HTTP/1.1 request for FuzzHandler.
func rawRequest(method, path, headers string, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", oneLine(method), oneLine(path))
	for _, h := range strings.Split(headers, "\n") {
		h = oneLine(h)
		name, _, _ := strings.Cut(h, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "", "content-length", "transfer-encoding":
			continue
		}
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	return b.String()
}

// oneLine takes CR and LF out of s.
func oneLine(s string) string {
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

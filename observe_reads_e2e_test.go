package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
)

// stallingWriter passes a response through until at bytes are written,
// then flushes and waits for release before writing the rest: an S3
// download that stalls at a known place.
type stallingWriter struct {
	http.ResponseWriter
	at      int
	written int
	release <-chan struct{}
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	n := 0
	if w.written < w.at {
		k, err := w.ResponseWriter.Write(p[:min(len(p), w.at-w.written)])
		n, w.written = k, w.written+k
		if err != nil || w.written < w.at {
			return n, err
		}
		w.ResponseWriter.(http.Flusher).Flush()
		<-w.release
	}
	k, err := w.ResponseWriter.Write(p[n:])
	w.written += k
	return n + k, err
}

// TestStatsShowALongRead: an aws-s3-source downloading a 4 MiB object
// that stalls after 1 MiB shows the read in --stats and /api/stats; once
// the download ends, the event arrives and the read leaves the views.
func TestStatsShowALongRead(t *testing.T) {
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket("big"))
	const size, stallAt = 4 << 20, 1 << 20
	_, err := backend.PutObject("big", "big.bin", map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)},
		bytes.NewReader(make([]byte, size)), size, nil)
	require.NoError(t, err)
	release := make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	s3 := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/big/big.bin" {
			w = &stallingWriter{ResponseWriter: w, at: stallAt, release: release}
		}
		s3.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	script := filepath.Join(t.TempDir(), "download.star")
	require.NoError(t, os.WriteFile(script, []byte(`objects = Stream("objects", source_config=dict(
    kind="aws-s3-source", bucketNameOrArn="big", uriEndpointOverride=argv[0], overrideEndpoint=True,
    accessKey="k", secretKey="s3cr3t-key", region="us-east-1", forcePathStyle=True))
objects >> (lambda e: print("received %d bytes" % len(e)))
`), 0o644))
	cmd := exec.Command(binary, "run", "--stats", "--stats-interval", "100ms", "--http", "127.0.0.1:0", script, srv.URL)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The download stalls after 1 MiB, of which the S3 client has passed
	// on what filled its reads (it reads in large pieces).
	reading := regexp.MustCompile(`(?m)^rayvens: stats: objects: in 0\.0/s, out 0\.0/s, pending 0, errors 0, dropped 0` +
		`; objects-aws-s3-source reading big\.bin: (\d+ KiB|1\.0 MiB) of 4\.0 MiB \((\d|1\d|2[0-5])%\)$`)
	require.Eventually(t, func() bool { return reading.MatchString(stderr.String()) }, time.Minute, 10*time.Millisecond,
		"stderr:\n%s", &stderr)

	addr := regexp.MustCompile(`rayvens: http: listening on (\S+)`).FindStringSubmatch(stderr.String())
	require.NotNil(t, addr, "stderr:\n%s", &stderr)
	var stats struct {
		Streams []struct {
			Name    string
			Sources []struct {
				Name    string
				Reading []struct {
					Item        string
					Done, Total uint64
				}
			}
		}
	}
	resp, err := http.Get("http://" + addr[1] + "/api/stats")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	resp.Body.Close()
	require.Equal(t, "objects", stats.Streams[0].Name, "%v", stats.Streams)
	require.Len(t, stats.Streams[0].Sources, 1)
	src := stats.Streams[0].Sources[0]
	require.Equal(t, "objects-aws-s3-source", src.Name)
	require.Len(t, src.Reading, 1)
	require.Equal(t, "big.bin", src.Reading[0].Item)
	require.NotZero(t, src.Reading[0].Done)
	require.LessOrEqual(t, src.Reading[0].Done, uint64(stallAt))
	require.EqualValues(t, size, src.Reading[0].Total)

	close(release)
	released = true
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "received 4194304 bytes\n") }, time.Minute, 10*time.Millisecond,
		"stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	// The stats line after the event has no read in it.
	mark := len(stderr.String())
	require.Eventually(t, func() bool {
		return regexp.MustCompile(`(?m)^rayvens: stats: objects: in [0-9.]+/s, out [0-9.]+/s, pending 0, errors 0, dropped 0$`).MatchString(stderr.String()[mark:])
	}, time.Minute, 10*time.Millisecond, "stderr:\n%s", &stderr)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, cmd, 30*time.Second), stderr.String())
	require.NotContains(t, stderr.String(), "s3cr3t-key")
}

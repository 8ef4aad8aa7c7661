package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
)

// TestS3Example runs examples/s3.star through the binary against a local
// S3 (gofakes3 on loopback): the sink uploads custom_file.txt, the source
// receives it, prints it and deletes it from the bucket.
func TestS3Example(t *testing.T) {
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket("rayvens-example"))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)

	cmd := exec.Command(binary, "run", "--for", "60s", "examples/s3.star", "rayvens-example", srv.URL)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=example-access", "AWS_SECRET_ACCESS_KEY=example-secret-3f9a")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	const want = "received custom_file.txt (21 bytes): File contents sample!\n"
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), want) }, 30*time.Second, 10*time.Millisecond,
		"stdout so far:\n%s\nstderr:\n%s", &stdout, &stderr)
	emptied := func() bool {
		list, err := backend.ListBucket("rayvens-example", nil, gofakes3.ListBucketPage{})
		return err == nil && len(list.Contents) == 0
	}
	require.Eventually(t, emptied, 30*time.Second, 10*time.Millisecond, "the object is deleted once its event is done")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, cmd, 10*time.Second), stderr.String())
	require.Equal(t, want, stdout.String())
	require.Equal(t, "rayvens: terminated: stopping (draining in-flight events; signal again to force)\n", stderr.String(), "no warning, no error")
}

// TestS3ExampleUsage: without arguments the example says how to use it.
func TestS3ExampleUsage(t *testing.T) {
	stdout, stderr, code := rayvens(t, "run", "examples/s3.star")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "usage: rayvens run examples/s3.star BUCKET ENDPOINT [REGION] (credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)\n", stdout)
}

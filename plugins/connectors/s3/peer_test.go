package s3

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// fakeS3 is a real S3 peer for the tests: gofakes3 over HTTP on loopback,
// which can be stopped and started again on the same address with the
// same objects, and which counts the listings it answered.
type fakeS3 struct {
	backend  *s3mem.Backend
	handler  http.Handler
	addr     string
	listings atomic.Int64

	mu  sync.Mutex
	srv *httptest.Server
}

// startS3 starts a peer holding the given buckets; it is stopped when the
// test ends.
func startS3(t testing.TB, buckets ...string) *fakeS3 {
	t.Helper()
	f := &fakeS3{backend: s3mem.New()}
	faker := gofakes3.New(f.backend)
	inner := faker.Server()
	f.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Has("list-type") {
			defer f.listings.Add(1)
		}
		inner.ServeHTTP(w, r)
	})
	f.srv = httptest.NewServer(f.handler)
	f.addr = f.srv.Listener.Addr().String()
	t.Cleanup(f.stop)
	for _, b := range buckets {
		require.NoError(t, f.backend.CreateBucket(b))
	}
	return f
}

// url is the endpoint to give the connectors.
func (f *fakeS3) url() string { return "http://" + f.addr }

// stop closes the server and every connection to it; the objects stay.
func (f *fakeS3) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.srv = nil
	}
}

// restart serves the same objects on the same address again.
func (f *fakeS3) restart(t testing.TB) {
	t.Helper()
	var l net.Listener
	require.Eventually(t, func() bool {
		var err error
		l, err = net.Listen("tcp", f.addr)
		return err == nil
	}, sdktest.Timeout, 10*time.Millisecond, "listening on %s again", f.addr)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: f.handler}}
	f.srv.Start()
}

// waitListings waits until the peer answered n more listings than it had
// when called, so that a test knows the source polled again.
func (f *fakeS3) waitListings(t testing.TB, n int64) func() {
	from := f.listings.Load()
	return func() {
		t.Helper()
		require.Eventually(t, func() bool { return f.listings.Load() >= from+n }, sdktest.Timeout, 5*time.Millisecond, "the source polls again")
	}
}

// client is a client of the peer for the tests' own checks.
func (f *fakeS3) client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(f.addr, &minio.Options{Creds: credentials.NewStaticV4("test", "test", ""), Region: "us-east-1"})
	require.NoError(t, err)
	return c
}

// put stores an object straight into the backend (also while the server
// is stopped).
func (f *fakeS3) put(t testing.TB, bucket, key, body string) {
	t.Helper()
	_, err := f.backend.PutObject(bucket, key, map[string]string{"Content-Type": "text/plain", "Last-Modified": time.Now().UTC().Format(http.TimeFormat)}, strings.NewReader(body), int64(len(body)), nil)
	require.NoError(t, err)
}

// objects returns the bucket's keys and contents.
func (f *fakeS3) objects(t testing.TB, bucket string) map[string]string {
	t.Helper()
	list, err := f.backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	require.NoError(t, err)
	out := map[string]string{}
	for _, o := range list.Contents {
		obj, err := f.backend.GetObject(bucket, o.Key, nil)
		require.NoError(t, err)
		b, err := io.ReadAll(obj.Contents)
		require.NoError(t, err)
		obj.Contents.Close()
		out[o.Key] = string(b)
	}
	return out
}

// keys returns the bucket's keys, sorted.
func (f *fakeS3) keys(t testing.TB, bucket string) []string {
	var keys []string
	for k := range f.objects(t, bucket) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// contentType returns the content type an object was stored with.
func (f *fakeS3) contentType(t testing.TB, bucket, key string) string {
	t.Helper()
	info, err := f.client(t).StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
	require.NoError(t, err)
	return info.ContentType
}

// awsConfig is a config of the aws-s3 kinds for the peer.
func (f *fakeS3) awsConfig(bucket string, more map[string]any) map[string]any {
	cfg := map[string]any{
		"bucketNameOrArn": bucket, "region": "us-east-1",
		"accessKey": "test-access", "secretKey": "test-secret",
		"overrideEndpoint": true, "uriEndpointOverride": f.url(), "forcePathStyle": true,
	}
	for k, v := range more {
		cfg[k] = v
	}
	return cfg
}

// awsSource is a config of aws-s3-source for the peer, polling often.
func (f *fakeS3) awsSource(bucket string, more map[string]any) map[string]any {
	cfg := f.awsConfig(bucket, map[string]any{"delay": 20})
	for k, v := range more {
		cfg[k] = v
	}
	return cfg
}

// cosConfig is a config of the Rayvens kinds for the peer.
func (f *fakeS3) cosConfig(bucket string, more map[string]any) map[string]any {
	cfg := map[string]any{"bucket_name": bucket, "access_key_id": "test-access", "secret_access_key": "test-secret", "endpoint": f.url()}
	for k, v := range more {
		cfg[k] = v
	}
	return cfg
}

// bodies returns the events' bodies.
func bodies(evs []sdk.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Body))
	}
	return out
}

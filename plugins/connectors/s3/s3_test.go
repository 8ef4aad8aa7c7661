package s3

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// TestConfigErrors: each mistake is one error that names the kind and the
// parameter, and shows no value.
func TestConfigErrors(t *testing.T) {
	base := map[string]any{"bucketNameOrArn": "inbox", "region": "us-east-1"}
	with := func(more map[string]any) map[string]any {
		cfg := map[string]any{}
		for k, v := range base {
			cfg[k] = v
		}
		for k, v := range more {
			cfg[k] = v
		}
		return cfg
	}
	_, err := sdktest.Validate(SourceKind, map[string]any{"region": "us-east-1"})
	require.EqualError(t, err, `aws-s3-source: missing required parameter "bucketNameOrArn"`)
	_, err = sdktest.Validate(SinkKind, map[string]any{"bucketNameOrArn": "b"})
	require.EqualError(t, err, `aws-s3-sink: missing required parameter "region"`)
	_, err = sdktest.Validate(COSSourceKind, map[string]any{"bucket_name": "b", "access_key_id": "a", "secret_access_key": "s"})
	require.EqualError(t, err, `cloud-object-storage-source: missing required parameter "endpoint"`)

	for _, tc := range []struct {
		cfg  map[string]any
		want string
	}{
		{with(map[string]any{"uriEndpointOverride": "http://127.0.0.1:9000"}), "aws-s3-source: uriEndpointOverride is used only with overrideEndpoint=true: set it, or leave uriEndpointOverride out"},
		{with(map[string]any{"overrideEndpoint": true}), "aws-s3-source: overrideEndpoint is set but uriEndpointOverride is not: give the endpoint's URL"},
		{with(map[string]any{"overrideEndpoint": true, "uriEndpointOverride": "ftp://host"}), "aws-s3-source: the endpoint must be an http:// or https:// URL with a host and no path, such as https://s3.us-east.cloud-object-storage.appdomain.cloud"},
		{with(map[string]any{"region": "US East"}), "aws-s3-source: region must be a region name such as us-east-1 (lowercase letters, digits and hyphens)"},
		{with(map[string]any{"bucketNameOrArn": "a/b"}), "aws-s3-source: the bucket name is not one S3 takes: 3 to 63 letters, digits, dots and hyphens"},
		{with(map[string]any{"accessKey": "AKIA-only"}), "aws-s3-source: accessKey and secretKey go together: give both, or neither for anonymous requests"},
		{with(map[string]any{"useSessionCredentials": true, "accessKey": "a", "secretKey": "s"}), "aws-s3-source: useSessionCredentials needs accessKey, secretKey and sessionToken"},
		{with(map[string]any{"useDefaultCredentialsProvider": true, "useProfileCredentialsProvider": true}), "aws-s3-source: useDefaultCredentialsProvider, useProfileCredentialsProvider and useSessionCredentials are exclusive: set one of them"},
		{with(map[string]any{"moveAfterRead": true}), "aws-s3-source: moveAfterRead needs destinationBucket, the bucket to move objects to"},
		{with(map[string]any{"moveAfterRead": true, "destinationBucket": "inbox"}), "aws-s3-source: to move objects within their bucket, destinationBucketPrefix must be set, and prefix must not start with it: the source would read the moved objects again"},
		{with(map[string]any{"delay": 0}), "aws-s3-source: delay must be a positive number of milliseconds"},
	} {
		_, err := sdktest.OpenSource(SourceKind, tc.cfg)
		require.EqualError(t, err, tc.want, "%v", tc.cfg)
	}

	cos := map[string]any{"bucket_name": "outbox", "access_key_id": "a", "secret_access_key": "s", "endpoint": "https://s3.us-east.cloud-object-storage.appdomain.cloud"}
	cosWith := func(more map[string]any) map[string]any {
		cfg := map[string]any{}
		for k, v := range cos {
			cfg[k] = v
		}
		for k, v := range more {
			cfg[k] = v
		}
		return cfg
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		cfg  map[string]any
		want string
	}{
		{cosWith(map[string]any{"upload_type": "stream"}), `cloud-object-storage-sink: upload_type "stream" is not supported (nor was it by the Python Rayvens): use "multi-part", or leave upload_type out`},
		{cosWith(map[string]any{"upload_type": "chunks"}), `cloud-object-storage-sink: upload_type must be "multi-part", or left out`},
		{cosWith(map[string]any{"part_size": 1024}), "cloud-object-storage-sink: part_size must be at least 5242880 (5 MiB), the smallest part S3 takes"},
		{cosWith(map[string]any{"from_file": filepath.Join(dir, "f"), "from_directory": dir}), "cloud-object-storage-sink: from_file and from_directory cannot both be set"},
		{cosWith(map[string]any{"from_directory": filepath.Join(dir, "nowhere")}), fmt.Sprintf("cloud-object-storage-sink: from_directory: the directory %q does not exist", filepath.Join(dir, "nowhere"))},
		{cosWith(map[string]any{"endpoint": "s3.example.com"}), "cloud-object-storage-sink: the endpoint must be an http:// or https:// URL with a host and no path, such as https://s3.us-east.cloud-object-storage.appdomain.cloud"},
	} {
		_, err := sdktest.OpenSink(COSSinkKind, tc.cfg)
		require.EqualError(t, err, tc.want, "%v", tc.cfg)
	}
	_, err = sdktest.OpenSource(COSSourceKind, map[string]any{"bucket_name": "inbox", "access_key_id": "a", "secret_access_key": "s", "endpoint": "http://127.0.0.1:1", "move_after_read": "inbox"})
	require.EqualError(t, err, "cloud-object-storage-source: move_after_read must be another bucket than bucket_name")
}

// TestRegionFromTheEndpoint takes the region of an IBM endpoint as the
// Python Rayvens does.
func TestRegionFromTheEndpoint(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://s3.eu-de.cloud-object-storage.appdomain.cloud": "eu-de",
		"http://127.0.0.1:9000":                                 "us-east-1",
	} {
		e, err := cosEndpoint("cloud-object-storage-source", sdk.NewConfig(map[string]any{"endpoint": endpoint, "bucket_name": "b"}))
		require.NoError(t, err)
		require.Equal(t, want, e.region, endpoint)
	}
	require.Equal(t, "my-bucket", bucketName("arn:aws:s3:::my-bucket"))
	require.Equal(t, "my-bucket", bucketName("my-bucket"))
}

// TestUnreachable: with nothing listening, the source logs and the sink
// returns one line naming the kind, the endpoint and the cause.
func TestUnreachable(t *testing.T) {
	cfg := map[string]any{"bucketNameOrArn": "inbox", "region": "us-east-1", "overrideEndpoint": true, "uriEndpointOverride": "http://127.0.0.1:1"}
	sink := sdktest.NewSink(t, SinkKind, cfg)
	err := sdktest.Write(t, sink, event("a", nil))
	require.EqualError(t, err, "aws-s3-sink: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused")
	require.False(t, sdk.IsPermanent(err))

	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, cfg, sdktest.LogTo(&log))
	src.(*source).firstWait = 10 * time.Millisecond
	sdktest.Run(t, src, new(sdktest.Collector).Emit)
	require.Eventually(t, func() bool { return strings.Count(log.String(), "cannot poll the bucket") >= 2 }, sdktest.Timeout, 5*time.Millisecond)
	require.Contains(t, log.String(), `error="aws-s3-source: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused"`)
}

// The secrets of the tests below: distinctive, so that any leak shows.
const (
	secretAccess = "AKIAXQ7SECRETACCESS1"
	secretKey    = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETKEY"
	secretToken  = "FwoGZXIvYXdzESECRETSESSIONTOKEN"
)

// TestSecretsStayOut runs every kind at log level debug against a store
// that echoes the request's Authorization header (which holds the access
// key) in its error, against nothing at all, and with bad configs: no
// secret is in an error or a log line.
func TestSecretsStayOut(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied for %s</Message></Error>`,
			strings.ReplaceAll(r.Header.Get("Authorization"), "<", ""))
	}))
	t.Cleanup(echo.Close)

	var texts []string
	for _, endpoint := range []string{echo.URL, "http://127.0.0.1:1"} {
		aws := map[string]any{
			"bucketNameOrArn": "inbox", "region": "us-east-1", "overrideEndpoint": true, "uriEndpointOverride": endpoint,
			"accessKey": secretAccess, "secretKey": secretKey, "sessionToken": secretToken, "useSessionCredentials": true,
		}
		cos := map[string]any{"bucket_name": "inbox", "access_key_id": secretAccess, "secret_access_key": secretKey, "endpoint": endpoint}

		var log sdktest.Log
		for _, sink := range []sdk.Sink{
			sdktest.NewSink(t, SinkKind, aws, sdktest.LogTo(&log)),
			sdktest.NewSink(t, COSSinkKind, cos, sdktest.LogTo(&log)),
		} {
			err := sdktest.Write(t, sink, event("a", nil))
			require.Error(t, err)
			texts = append(texts, err.Error())
		}
		for _, src := range []sdk.Source{
			sdktest.NewSource(t, SourceKind, aws, sdktest.LogTo(&log)),
			sdktest.NewSource(t, COSSourceKind, cos, sdktest.LogTo(&log)),
		} {
			src.(*source).firstWait = 10 * time.Millisecond
			n := strings.Count(log.String(), "cannot poll the bucket")
			sdktest.Run(t, src, new(sdktest.Collector).Emit)
			require.Eventually(t, func() bool { return strings.Count(log.String(), "cannot poll the bucket") > n }, sdktest.Timeout, 5*time.Millisecond)
		}
		texts = append(texts, log.String())
	}
	require.Contains(t, texts[0], "answered 403 AccessDenied: Access Denied for AWS4-HMAC-SHA256 Credential=[secret]/", "the echo is quoted, without the access key")

	for _, bad := range []map[string]any{
		{"bucketNameOrArn": "inbox", "region": "us-east-1", "accessKey": secretAccess},
		{"bucketNameOrArn": "inbox", "region": "us-east-1", "secretKey": secretKey, "sessionToken": secretToken, "useSessionCredentials": true},
		{"bucketNameOrArn": "inbox", "region": "us-east-1", "accessKey": 42},
	} {
		_, err := sdktest.OpenSource(SourceKind, bad)
		require.Error(t, err)
		texts = append(texts, err.Error())
	}
	for _, text := range texts {
		for _, secret := range []string{secretAccess, secretKey, secretToken} {
			require.NotContains(t, text, secret)
		}
	}
}

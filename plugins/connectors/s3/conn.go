package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// conn is what an instance knows of its bucket: a client (which opens no
// connection until its first request), the bucket's name, and what its
// errors must not show.
type conn struct {
	kind       string
	client     *minio.Client
	bucket     string
	host       string // the endpoint's host[:port], which errors name
	region     string
	autoCreate bool
	secrets    []string // credential values, removed from any text quoted

	mu      sync.Mutex
	checked bool // the bucket is known to exist (or was created)
}

// endpointConfig is where a kind's parameters say the bucket is and how
// to sign in, before a client is made of it.
type endpointConfig struct {
	kind       string
	bucket     string
	region     string
	endpoint   string // "" for Amazon's endpoint of the region
	pathStyle  bool
	creds      *credentials.Credentials
	autoCreate bool
	secrets    []string
}

// validRegion reports whether region looks like a region name (us-east-1,
// eu-de, ...): lowercase letters, digits and hyphens. It is checked so
// that a typo is told at once, not as a signature error.
func validRegion(region string) bool {
	if region == "" || len(region) > 63 || region[0] == '-' {
		return false
	}
	for _, r := range region {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// awsEndpoint reads the connection parameters of the aws-s3 kinds.
func awsEndpoint(kind string, cfg sdk.Config) (endpointConfig, error) {
	e := endpointConfig{
		kind:       kind,
		bucket:     bucketName(cfg.String("bucketNameOrArn")),
		region:     cfg.String("region"),
		pathStyle:  cfg.Bool("forcePathStyle"),
		autoCreate: cfg.Bool("autoCreateBucket"),
	}
	if cfg.Bool("overrideEndpoint") {
		if cfg.String("uriEndpointOverride") == "" {
			return e, fmt.Errorf("%s: overrideEndpoint is set but uriEndpointOverride is not: give the endpoint's URL", kind)
		}
		e.endpoint = cfg.String("uriEndpointOverride")
	} else if cfg.String("uriEndpointOverride") != "" {
		return e, fmt.Errorf("%s: uriEndpointOverride is used only with overrideEndpoint=true: set it, or leave uriEndpointOverride out", kind)
	}
	access, secret, token := cfg.String("accessKey"), cfg.String("secretKey"), cfg.String("sessionToken")
	e.secrets = []string{access, secret, token}
	providers := 0
	for _, p := range []string{"useDefaultCredentialsProvider", "useProfileCredentialsProvider", "useSessionCredentials"} {
		if cfg.Bool(p) {
			providers++
		}
	}
	if providers > 1 {
		return e, fmt.Errorf("%s: useDefaultCredentialsProvider, useProfileCredentialsProvider and useSessionCredentials are exclusive: set one of them", kind)
	}
	switch {
	case cfg.Bool("useDefaultCredentialsProvider"):
		e.creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}, &credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport}},
		})
	case cfg.Bool("useProfileCredentialsProvider"):
		e.creds = credentials.NewFileAWSCredentials("", cfg.String("profileCredentialsName"))
	case cfg.Bool("useSessionCredentials"):
		if access == "" || secret == "" || token == "" {
			return e, fmt.Errorf("%s: useSessionCredentials needs accessKey, secretKey and sessionToken", kind)
		}
		e.creds = credentials.NewStaticV4(access, secret, token)
	default:
		if (access == "") != (secret == "") {
			return e, fmt.Errorf("%s: accessKey and secretKey go together: give both, or neither for anonymous requests", kind)
		}
		e.creds = credentials.NewStaticV4(access, secret, "")
	}
	return e, nil
}

// cosEndpoint reads the connection parameters of the Rayvens kinds. The
// region, when not given, is the second label of an endpoint host named
// s3.REGION.... (IBM's https://s3.us-east.cloud-object-storage.appdomain.cloud),
// as the Python Rayvens takes it.
func cosEndpoint(kind string, cfg sdk.Config) (endpointConfig, error) {
	access, secret := cfg.String("access_key_id"), cfg.String("secret_access_key")
	e := endpointConfig{
		kind:     kind,
		bucket:   cfg.String("bucket_name"),
		region:   cfg.String("region"),
		endpoint: cfg.String("endpoint"),
		creds:    credentials.NewStaticV4(access, secret, ""),
		secrets:  []string{access, secret},
	}
	if e.region == "" {
		e.region = "us-east-1"
		if u, err := url.Parse(e.endpoint); err == nil {
			if labels := strings.Split(u.Hostname(), "."); len(labels) > 2 && labels[0] == "s3" {
				e.region = labels[1]
			}
		}
	}
	return e, nil
}

// bucketName returns the bucket an ARN names (arn:aws:s3:::name), or name.
func bucketName(nameOrARN string) string {
	if rest, ok := strings.CutPrefix(nameOrARN, "arn:"); ok {
		parts := strings.SplitN(rest, ":", 5) // partition:service:region:account:resource
		if len(parts) == 5 {
			return parts[4]
		}
	}
	return nameOrARN
}

// connect checks e's values and makes the client. It does no network I/O:
// the first request opens the first connection.
func (e endpointConfig) connect() (*conn, error) {
	if s3utils.CheckValidBucketName(e.bucket) != nil {
		return nil, fmt.Errorf("%s: the bucket name is not one S3 takes: 3 to 63 letters, digits, dots and hyphens", e.kind)
	}
	if !validRegion(e.region) {
		return nil, fmt.Errorf("%s: region must be a region name such as us-east-1 (lowercase letters, digits and hyphens)", e.kind)
	}
	host, secure := "s3.amazonaws.com", true
	if e.endpoint != "" {
		u, err := url.Parse(e.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
			return nil, fmt.Errorf("%s: the endpoint must be an http:// or https:// URL with a host and no path, such as https://s3.us-east.cloud-object-storage.appdomain.cloud", e.kind)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	lookup := minio.BucketLookupAuto
	if e.pathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        e.creds,
		Secure:       secure,
		Region:       e.region,
		BucketLookup: lookup,
		// The client tries once: the sources poll again with backoff,
		// and the host sends a sink's batch again with backoff.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: the endpoint cannot be used: %s", e.kind, redact(err.Error(), e.secrets))
	}
	var secrets []string
	for _, s := range e.secrets {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	return &conn{kind: e.kind, client: client, bucket: e.bucket, host: host, region: e.region, autoCreate: e.autoCreate, secrets: secrets}, nil
}

// ensureBucket checks, once per instance, that the bucket exists, and
// creates it if autoCreateBucket says so.
func (c *conn) ensureBucket(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checked {
		return nil
	}
	ok, err := c.client.BucketExists(ctx, c.bucket)
	if err != nil {
		return c.explain(err)
	}
	if !ok {
		if !c.autoCreate {
			return sdk.Permanent(fmt.Errorf("%s: the bucket %q does not exist at %s (set autoCreateBucket to create it)", c.kind, c.bucket, c.host))
		}
		if err := c.client.MakeBucket(ctx, c.bucket, minio.MakeBucketOptions{Region: c.region}); err != nil {
			if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
				return c.explain(err)
			}
		}
	}
	c.checked = true
	return nil
}

// explain turns an error of the client into one line that names the kind
// and the endpoint and gives the cause, without credentials: "cannot
// reach HOST: CAUSE" when no answer came, "HOST answered CODE: MESSAGE"
// when S3 refused. Refusals that trying again cannot help (a missing
// bucket, denied access, a bad request) are sdk.Permanent.
func (c *conn) explain(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: stopped before %s answered", c.kind, c.host)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: no answer from %s in time", c.kind, c.host)
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return fmt.Errorf("%s: cannot reach %s: %s", c.kind, c.host, c.redact(urlErr.Err.Error()))
	}
	if errors.As(err, &netErr) {
		return fmt.Errorf("%s: cannot reach %s: %s", c.kind, c.host, c.redact(err.Error()))
	}
	resp := minio.ToErrorResponse(err)
	if resp.StatusCode == 0 && resp.Code == "" {
		return fmt.Errorf("%s: %s: %s", c.kind, c.host, c.redact(oneLine(err.Error())))
	}
	said := resp.Code
	if resp.Message != "" {
		said += ": " + resp.Message
	}
	status := ""
	if resp.StatusCode != 0 {
		status = strconv.Itoa(resp.StatusCode) + " "
	}
	failed := fmt.Errorf("%s: %s answered %s%s", c.kind, c.host, status, c.redact(oneLine(said)))
	if permanent(resp) {
		return sdk.Permanent(failed)
	}
	return failed
}

// permanent reports whether S3's refusal is one that sending the same
// request again cannot help.
func permanent(resp minio.ErrorResponse) bool {
	switch resp.Code {
	case "RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeTooSkewed", "OperationAborted":
		return false
	}
	return resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests
}

func (c *conn) redact(text string) string { return redact(text, c.secrets) }

// redact removes every secret from text.
func redact(text string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[secret]")
		}
	}
	return text
}

// oneLine bounds text and puts it on one line.
func oneLine(text string) string { return sdk.Excerpt([]byte(text), 300) }

package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Multi-part uploads: the part size of the Python Rayvens, and S3's
// smallest part.
const (
	defaultPartSize = 26214400 // 25 MiB
	minPartSize     = 5 << 20
)

// sink is one instance of either sink kind.
type sink struct {
	conn    *conn
	keyName string // the key of events without a CamelAwsS3Key header
	// fromPaths makes each event the path of a local file to upload, in
	// parts of partSize bytes (upload_type=multi-part).
	fromPaths bool
	partSize  uint64
	files     *localFiles // from_file or from_directory; nil without
	log       *slog.Logger
	generated atomic.Uint64 // counts generated keys
}

func newAWSSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	e, err := awsEndpoint("aws-s3-sink", cfg)
	if err != nil {
		return nil, err
	}
	c, err := e.connect()
	if err != nil {
		return nil, err
	}
	return &sink{conn: c, keyName: cfg.String("keyName"), partSize: defaultPartSize, log: log}, nil
}

func newCOSSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	const kind = "cloud-object-storage-sink"
	e, err := cosEndpoint(kind, cfg)
	if err != nil {
		return nil, err
	}
	c, err := e.connect()
	if err != nil {
		return nil, err
	}
	s := &sink{conn: c, keyName: cfg.String("file_name"), partSize: uint64(cfg.Int("part_size")), log: log}
	switch cfg.String("upload_type") {
	case "":
	case "multi-part":
		s.fromPaths = true
	case "stream":
		return nil, fmt.Errorf(`%s: upload_type "stream" is not supported (nor was it by the Python Rayvens): use "multi-part", or leave upload_type out`, kind)
	default:
		return nil, fmt.Errorf(`%s: upload_type must be "multi-part", or left out`, kind)
	}
	if cfg.Int("part_size") < minPartSize {
		return nil, fmt.Errorf("%s: part_size must be at least 5242880 (5 MiB), the smallest part S3 takes", kind)
	}
	fromFile, fromDir := cfg.String("from_file"), cfg.String("from_directory")
	if fromFile != "" && fromDir != "" {
		return nil, fmt.Errorf("%s: from_file and from_directory cannot both be set", kind)
	}
	if fromFile != "" || fromDir != "" {
		s.fromPaths = true
		files, err := watchFiles(kind, s, fromFile, fromDir, cfg.Bool("keep_file"))
		if err != nil {
			return nil, err
		}
		s.files = files
	}
	return s, nil
}

// Write puts one object per event, in order, and stops at the first that
// S3 did not confirm: its error, marked sdk.Partial, says that the events
// before it are written.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	if s.conn.autoCreate {
		if err := s.conn.ensureBucket(ctx); err != nil {
			return err
		}
	}
	for i, ev := range batch {
		if err := s.put(ctx, ev); err != nil {
			return sdk.Partial(i, err)
		}
	}
	return nil
}

// put uploads one event: its body, or the local file it names.
func (s *sink) put(ctx context.Context, ev sdk.Event) error {
	contentType := ev.Headers[contentTypeHeader]
	if contentType == "" {
		contentType = ev.ContentType
	}
	if !s.fromPaths {
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		key := s.key(ev, "")
		_, err := s.conn.client.PutObject(ctx, s.conn.bucket, key, bytes.NewReader(ev.Body), int64(len(ev.Body)), s.putOptions(contentType))
		return s.conn.explain(err)
	}
	path := strings.TrimSpace(string(ev.Body))
	if path == "" {
		return sdk.Permanent(fmt.Errorf("%s: with upload_type=multi-part, an event is the path of a file to upload, and this one is empty", s.conn.kind))
	}
	if contentType == "" || contentType == "text/plain" { // a path is text: the file's type is its extension's
		contentType = mime.TypeByExtension(filepath.Ext(path))
	}
	return s.upload(ctx, path, s.key(ev, filepath.Base(path)), contentType)
}

// key returns the key of ev: its CamelAwsS3Key header, else the kind's
// key parameter, else fallback, else a generated name.
func (s *sink) key(ev sdk.Event, fallback string) string {
	switch {
	case ev.Headers[keyHeader] != "":
		return ev.Headers[keyHeader]
	case s.keyName != "":
		return s.keyName
	case fallback != "":
		return fallback
	}
	return "rayvens-" + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + strconv.FormatUint(s.generated.Add(1), 10)
}

// upload puts the local file path as key, in parts of partSize bytes
// when it is larger than one part.
func (s *sink) upload(ctx context.Context, path, key, contentType string) error {
	f, err := os.Open(path)
	if err != nil {
		return sdk.Permanent(fmt.Errorf("%s: cannot read the file %q to upload: %w", s.conn.kind, path, errors.Unwrap(err)))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return sdk.Permanent(fmt.Errorf("%s: cannot read the file %q to upload: %w", s.conn.kind, path, errors.Unwrap(err)))
	}
	if !info.Mode().IsRegular() {
		return sdk.Permanent(fmt.Errorf("%s: %q is not a regular file", s.conn.kind, path))
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	_, err = s.conn.client.PutObject(ctx, s.conn.bucket, key, f, info.Size(), s.putOptions(contentType))
	return s.conn.explain(err)
}

// putOptions are the options of every PUT. Each request (each part of a
// multi-part upload) carries its Content-MD5, which the store checks,
// instead of a streaming (aws-chunked) signature of its payload, which
// minio-go would use over plain http and which not every S3-compatible
// store decodes in its multi-part uploads (gofakes3 does not). Over
// https the payload is not signed either way.
func (s *sink) putOptions(contentType string) minio.PutObjectOptions {
	return minio.PutObjectOptions{ContentType: contentType, PartSize: s.partSize, SendContentMd5: true, DisableContentSha256: true}
}

// Close stops uploading from_file or from_directory.
func (s *sink) Close() error {
	if s.files != nil {
		s.files.stop()
	}
	return nil
}

package s3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v5"
	"github.com/minio/minio-go/v7"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// eventFormat is what a source makes of an object.
type eventFormat int

const (
	rawObject   eventFormat = iota // the object's bytes (aws-s3-source)
	rayvensJSON                    // {"filename": key, "body": content} (cloud-object-storage-source)
	rayvensKey                     // the key alone (cloud-object-storage-source, meta_event_only)
)

// maxObjectSize bounds the objects a source downloads: an event must fit
// in one message of the plugin protocol (64 MiB), with room for others.
// A larger object is left in place, with one warning.
const maxObjectSize = 32 << 20

// How a source waits after a poll failed (the store is unreachable, or
// refused): from firstWait doubling up to maxWait, polling again for ever.
const (
	firstWait = 500 * time.Millisecond
	maxWait   = 30 * time.Second
	// ackTimeout bounds the delete or move an acknowledgement does: it
	// holds up the SDK's goroutine that receives the host's acks.
	ackTimeout = 10 * time.Second
)

// destination is where moveAfterRead moves objects.
type destination struct{ bucket, prefix, suffix string }

func (d destination) key(key string) string { return d.prefix + key + d.suffix }

// source is one instance of either source kind. Run owns polling; the
// Ack callbacks, called from the SDK's goroutines, share pending and kept
// with it under mu.
type source struct {
	conn       *conn
	prefix     string
	remove     bool         // delete (or move) each object once its event is done
	move       *destination // nil: not moved
	format     eventFormat
	ignoreBody bool
	delay      time.Duration
	maxPerPoll int // <= 0: no limit
	log        *slog.Logger
	// firstWait and maxWait are the constants of the same names, shorter
	// in tests.
	firstWait, maxWait time.Duration

	mu sync.Mutex
	// pending holds the keys whose event is out and not yet acknowledged:
	// they are not emitted again until the ack says what happened.
	pending map[string]bool
	// kept holds the objects read and left in place (their event failed,
	// they are not removed after reading, or removing them failed), by key,
	// with the ETag they had: they are read again only if they change.
	kept map[string]string
	// unsendable holds the keys said once to be too large or not UTF-8.
	unsendable map[string]bool
}

func newSource(c *conn, log *slog.Logger) *source {
	return &source{
		conn: c, log: log, firstWait: firstWait, maxWait: maxWait,
		pending: map[string]bool{}, kept: map[string]string{}, unsendable: map[string]bool{},
	}
}

func newAWSSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	const kind = "aws-s3-source"
	e, err := awsEndpoint(kind, cfg)
	if err != nil {
		return nil, err
	}
	c, err := e.connect()
	if err != nil {
		return nil, err
	}
	s := newSource(c, log)
	s.prefix = cfg.String("prefix")
	s.remove = cfg.Bool("deleteAfterRead") || cfg.Bool("moveAfterRead")
	s.ignoreBody = cfg.Bool("ignoreBody")
	s.delay = cfg.Millis("delay")
	s.maxPerPoll = int(cfg.Int("maxMessagesPerPoll"))
	if cfg.Bool("moveAfterRead") {
		d := destination{bucket: cfg.String("destinationBucket"), prefix: cfg.String("destinationBucketPrefix"), suffix: cfg.String("destinationBucketSuffix")}
		if d.bucket == "" {
			return nil, fmt.Errorf("%s: moveAfterRead needs destinationBucket, the bucket to move objects to", kind)
		}
		if err := s.setMove(kind, d, "destinationBucketPrefix"); err != nil {
			return nil, err
		}
	}
	if s.delay <= 0 {
		return nil, fmt.Errorf("%s: delay must be a positive number of milliseconds", kind)
	}
	return s, nil
}

func newCOSSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	const kind = "cloud-object-storage-source"
	e, err := cosEndpoint(kind, cfg)
	if err != nil {
		return nil, err
	}
	c, err := e.connect()
	if err != nil {
		return nil, err
	}
	s := newSource(c, log)
	s.delay, s.maxPerPoll = 500*time.Millisecond, 10 // Camel's defaults, which the Python Rayvens had
	s.format = rayvensJSON
	s.remove = true
	if cfg.Bool("meta_event_only") {
		// The event says where the object is: deleting it would leave the
		// script nothing to read.
		s.format, s.ignoreBody, s.remove = rayvensKey, true, false
	}
	if to := cfg.String("move_after_read"); to != "" {
		s.remove = true
		if err := s.setMove(kind, destination{bucket: to}, ""); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// setMove sets where objects are moved, refusing a destination that the
// source would read again.
func (s *source) setMove(kind string, d destination, prefixParam string) error {
	if d.bucket == s.conn.bucket {
		if prefixParam == "" {
			return fmt.Errorf("%s: move_after_read must be another bucket than bucket_name", kind)
		}
		if d.prefix == "" || strings.HasPrefix(s.prefix, d.prefix) {
			return fmt.Errorf("%s: to move objects within their bucket, %s must be set, and prefix must not start with it: the source would read the moved objects again", kind, prefixParam)
		}
	}
	s.move = &d
	return nil
}

// Run polls the bucket at once and then every delay (at once again after
// a poll that read maxMessagesPerPoll objects), until ctx ends. A poll
// that fails is logged, and the next one waits with backoff.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, s.maxWait
	failing := false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		full, err := s.poll(ctx, emit)
		if ctx.Err() != nil || errors.Is(err, errEmit) {
			return nil // emit fails only when ctx ends or the instance closes: both mean stop
		}
		wait := s.delay
		switch {
		case err != nil:
			failing = true
			wait = retry.NextBackOff()
			s.log.Warn("cannot poll the bucket; polling again after a wait", "error", err.Error(), "wait", wait.Round(time.Millisecond).String())
		case failing:
			failing = false
			retry.Reset()
			s.log.Info("the bucket can be polled again", "endpoint", s.conn.host)
		case full:
			wait = 0
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
	}
}

// errEmit says that emit failed: the source is to stop.
var errEmit = errors.New("emit failed")

// poll emits an event for each object that is neither pending nor kept as
// it is, up to maxPerPoll; full says it stopped there.
func (s *source) poll(ctx context.Context, emit sdk.Emit) (full bool, err error) {
	if err := s.conn.ensureBucket(ctx); err != nil {
		return false, err
	}
	listCtx, stopListing := context.WithCancel(ctx)
	defer stopListing()
	seen := map[string]bool{}
	n := 0
	for obj := range s.conn.client.ListObjects(listCtx, s.conn.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return false, s.conn.explain(obj.Err)
		}
		seen[obj.Key] = true
		if !s.wanted(obj) || !s.claim(obj.Key, obj.ETag) {
			continue
		}
		ev, etag, err := s.read(ctx, obj)
		if err != nil {
			s.release(obj.Key)
			if minio.ToErrorResponse(err).Code == "NoSuchKey" {
				continue // gone since the listing
			}
			return false, s.conn.explain(err)
		}
		ev.Ack = s.acker(obj.Key, etag)
		if err := emit(ctx, ev); err != nil {
			ev.Ack(err) // not queued, so the SDK will not call it
			return false, errEmit
		}
		if n++; s.maxPerPoll > 0 && n >= s.maxPerPoll {
			return true, nil
		}
	}
	if ctx.Err() == nil {
		s.forgetGone(seen)
	}
	return false, nil
}

// wanted reports whether obj is one to read: not a folder marker, not
// where moved objects go, and one that can travel as an event.
func (s *source) wanted(obj minio.ObjectInfo) bool {
	if strings.HasSuffix(obj.Key, "/") {
		return false // a "folder" made by a console: no content
	}
	if s.move != nil && s.move.bucket == s.conn.bucket && strings.HasPrefix(obj.Key, s.move.prefix) {
		return false
	}
	tooLarge := !s.ignoreBody && obj.Size > maxObjectSize
	if !utf8.ValidString(obj.Key) || tooLarge {
		if !s.unsendable[obj.Key] {
			s.unsendable[obj.Key] = true
			why := "its key is not valid UTF-8 text"
			if tooLarge {
				why = fmt.Sprintf("it is larger than %d MiB", maxObjectSize>>20)
			}
			s.log.Warn("an object cannot be sent as an event, because "+why+"; it is left in place", "key", strings.ToValidUTF8(obj.Key, "\uFFFD"))
		}
		return false
	}
	return true
}

// claim marks key pending, unless it is already pending or kept as it is.
func (s *source) claim(key, etag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[key] {
		return false
	}
	if k, ok := s.kept[key]; ok && k == etag {
		return false
	}
	s.pending[key] = true
	return true
}

func (s *source) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, key)
}

// forgetGone forgets the kept objects that are no longer there: one that
// comes back under the same key is a new object.
func (s *source) forgetGone(seen map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key := range s.kept {
		if !seen[key] {
			delete(s.kept, key)
		}
	}
}

// read makes the event of obj, and returns the ETag of what it read.
func (s *source) read(ctx context.Context, obj minio.ObjectInfo) (sdk.Event, string, error) {
	var info minio.ObjectInfo
	var content []byte
	if s.ignoreBody {
		var err error
		if info, err = s.conn.client.StatObject(ctx, s.conn.bucket, obj.Key, minio.StatObjectOptions{}); err != nil {
			return sdk.Event{}, "", err
		}
	} else {
		o, err := s.conn.client.GetObject(ctx, s.conn.bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			return sdk.Event{}, "", err
		}
		defer o.Close()
		if info, err = o.Stat(); err != nil {
			return sdk.Event{}, "", err
		}
		r := sdk.TrackRead(ctx, obj.Key, info.Size, io.LimitReader(o, maxObjectSize+1))
		defer r.Finish()
		if content, err = io.ReadAll(r); err != nil {
			return sdk.Event{}, "", err
		}
		if len(content) > maxObjectSize {
			return sdk.Event{}, "", fmt.Errorf("the object %q grew past %d MiB since it was listed", obj.Key, maxObjectSize>>20)
		}
	}
	contentType := info.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	ev := sdk.Event{Headers: map[string]string{
		keyHeader:         obj.Key,
		bucketHeader:      s.conn.bucket,
		contentTypeHeader: contentType,
		etagHeader:        info.ETag,
	}}
	switch s.format {
	case rawObject:
		ev.Body, ev.ContentType = content, contentType
	case rayvensJSON:
		// As in the Python Rayvens: the content as text (bytes that are
		// not UTF-8 become U+FFFD).
		body, err := json.Marshal(struct {
			Filename string `json:"filename"`
			Body     string `json:"body"`
		}{obj.Key, string(content)})
		if err != nil {
			return sdk.Event{}, "", err
		}
		ev.Body, ev.ContentType = body, "application/json"
	case rayvensKey:
		ev.Body, ev.ContentType = []byte(obj.Key), "text/plain"
	}
	return ev, info.ETag, nil
}

// acker returns the Ack of the event of object key, read with etag: it
// runs finish once, however often it is called.
func (s *source) acker(key, etag string) func(error) {
	var once sync.Once
	return func(err error) { once.Do(func() { s.finish(key, etag, err) }) }
}

// finish does what the ack of object key calls for: nothing when the host
// never took the event (the next poll reads the object again); leave the
// object in place, and not read it again in this run unless it changes,
// when the event failed; otherwise (the event is done) delete or move it,
// or remember it when objects stay. The object stays pending until that is
// done, so no poll emits it meanwhile. It runs on the SDK's goroutine
// that receives the host's acks, bounded by ackTimeout.
func (s *source) finish(key, etag string, ackErr error) {
	defer s.release(key)
	if sdk.IsFailed(ackErr) {
		s.log.Warn("an object's event failed; the object is left in the bucket and read again only if it changes", "key", key, "error", ackErr.Error())
		s.keep(key, etag)
		return
	}
	if ackErr != nil {
		s.log.Debug("an object's event was not taken; it will be read again", "key", key, "error", ackErr.Error())
		return
	}
	if !s.remove {
		s.keep(key, etag)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	if err := s.removeObject(ctx, key, etag); err != nil {
		// At least once: the object is read again, and its event sent
		// again, at the next poll.
		s.log.Error("cannot delete or move an object whose event is done; it will be read and sent again", "key", key, "error", s.conn.explain(err).Error())
	}
}

// removeObject moves (copies, then deletes) or deletes the object key,
// if it is still the version etag; a changed object is left to be read
// again.
func (s *source) removeObject(ctx context.Context, key, etag string) error {
	c := s.conn.client
	if s.move != nil {
		_, err := c.CopyObject(ctx,
			minio.CopyDestOptions{Bucket: s.move.bucket, Object: s.move.key(key)},
			minio.CopySrcOptions{Bucket: s.conn.bucket, Object: key, MatchETag: etag})
		if code := minio.ToErrorResponse(err).Code; code == "PreconditionFailed" || code == "NoSuchKey" {
			s.log.Info("an object changed or went away after it was read; it is not moved", "key", key)
			return nil
		}
		if err != nil {
			return err
		}
	} else {
		info, err := c.StatObject(ctx, s.conn.bucket, key, minio.StatObjectOptions{})
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil // already gone
		}
		if err != nil {
			return err
		}
		if info.ETag != etag {
			s.log.Info("an object changed after it was read; it will be read again", "key", key)
			return nil
		}
	}
	return c.RemoveObject(ctx, s.conn.bucket, key, minio.RemoveObjectOptions{})
}

// keep remembers that the object key is left in place as etag.
func (s *source) keep(key, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kept[key] = etag
}

package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rayvens/rayvens/camel"
)

// contentTypeHeader carries an event's content type among its headers.
const contentTypeHeader = "Rayvens-Content-Type"

// A Stream is a Rayvens stream kept by JetStream, shared by every process
// of the namespace that names it.
type Stream struct {
	c       *Cluster
	name    string // the Rayvens name
	js      jetstream.Stream
	subject string

	// window holds a token per publish waiting for its acknowledgement.
	window    chan struct{}
	pending   chan pending // the publishes in the window, in order
	idBase    string       // message IDs are idBase + a counter
	ackerWG   sync.WaitGroup
	outageErr error // the last error of an outage: the acker's own

	mu        sync.Mutex
	published uint64        // publishes sent
	acked     uint64        // publishes settled (acknowledged or failed)
	failed    error         // the first publish refused, not yet returned
	failures  int           // the publishes refused, not yet returned
	closed    bool          // by Cluster.Close: pending is closed
	settled   chan struct{} // closed and replaced at each settlement
	// outageSince is when the servers stopped answering publishes, zero
	// while they answer.
	outageSince time.Time
}

type pending struct {
	fut  jetstream.PubAckFuture
	msg  *nats.Msg
	id   string
	done func(error) // Send's; nil for Publish
}

// Stream returns the stream of that name in the namespace, creating it
// if it is missing.
func (c *Cluster) Stream(ctx context.Context, name string) (*Stream, error) {
	if name == "" {
		return nil, errors.New("cluster: a stream needs a name")
	}
	jsName := c.cfg.Namespace + "_" + encode(name)
	subject := c.cfg.Namespace + ".stream." + encode(name)
	js, err := c.js.Stream(ctx, jsName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		js, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        jsName,
			Description: "Rayvens stream " + strconv.Quote(name),
			Subjects:    []string{subject},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    c.cfg.Replicas,
			Duplicates:  2 * time.Minute,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			js, err = c.js.Stream(ctx, jsName) // another process made it first
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: stream %q: %w", name, err)
	}
	if subjects := js.CachedInfo().Config.Subjects; !slices.Equal(subjects, []string{subject}) {
		return nil, fmt.Errorf("cluster: stream %q: the JetStream stream %s exists for other subjects than %s; choose another namespace", name, jsName, subject)
	}
	s := &Stream{
		c: c, name: name, js: js, subject: subject,
		window:  make(chan struct{}, c.cfg.PublishWindow),
		pending: make(chan pending, c.cfg.PublishWindow),
		idBase:  rand.Text() + "-",
		settled: make(chan struct{}),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("cluster: the cluster is closed")
	}
	c.streams = append(c.streams, s)
	s.ackerWG.Add(1)
	go s.acker()
	return s, nil
}

// Name is the stream's Rayvens name.
func (s *Stream) Name() string { return s.name }

// Publish appends ev to the stream without waiting for the server. It
// blocks while the publish window is full, and returns the error of an
// earlier publish the server refused.
func (s *Stream) Publish(ctx context.Context, ev camel.Event) error {
	if err := s.takeFailure(); err != nil {
		return err
	}
	return s.Send(ctx, ev, nil)
}

// Send is Publish with the outcome of this one event: done, when not nil,
// is called once, from another goroutine, with nil when the server has
// stored the event or the reason it was not; the refusal is then done's
// alone, not reported by a later Publish or Flush. An error returned by
// Send (the window never freed before ctx ended, the event refused at
// once, the cluster closed) means the event was not sent and done is not
// called. Events are settled in the order they were sent.
func (s *Stream) Send(ctx context.Context, ev camel.Event, done func(error)) error {
	select {
	case s.window <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	msg := nats.NewMsg(s.subject)
	msg.Data = ev.Body
	for k, v := range ev.Headers {
		msg.Header.Set(k, v)
	}
	if ev.ContentType != "" {
		msg.Header.Set(contentTypeHeader, ev.ContentType)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		<-s.window
		return fmt.Errorf("cluster: stream %q: the cluster is closed", s.name)
	}
	id := s.idBase + strconv.FormatUint(s.published+1, 10)
	fut, err := s.c.js.PublishMsgAsync(msg, jetstream.WithMsgID(id))
	if err != nil && !retriable(err) { // such as an event too large
		<-s.window
		return fmt.Errorf("cluster: stream %q: an event was not stored: %w", s.name, err)
	}
	// A retriable error (no connection) leaves fut nil: the acker sends
	// the event again.
	s.published++
	s.pending <- pending{fut: fut, msg: msg, id: id, done: done} // the window keeps a place for it
	return nil
}

// close stops publishing and waits until every publish is settled.
func (s *Stream) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.pending)
	}
	s.mu.Unlock()
	s.ackerWG.Wait()
}

// acker settles the publishes in order: it waits for each one's
// acknowledgement, sends again one that timed out, and frees its place in
// the window.
func (s *Stream) acker() {
	defer s.ackerWG.Done()
	for p := range s.pending {
		err := s.await(p)
		if p.done != nil {
			p.done(err)
			err = nil // done's, not a later Publish's
		}
		s.mu.Lock()
		s.acked++
		if err != nil {
			if s.failed == nil {
				s.failed = err
			}
			s.failures++
		}
		close(s.settled)
		s.settled = make(chan struct{})
		s.mu.Unlock()
		<-s.window
	}
}

// await waits for a publish's acknowledgement, sending it again (with
// the same message ID, so that it is stored once) while no server
// answers, until no server has answered for outageLimit.
func (s *Stream) await(p pending) error {
	if p.fut != nil {
		select {
		case <-p.fut.Ok():
			s.setOutage(time.Time{})
			return nil
		case err := <-p.fut.Err():
			if !retriable(err) {
				return err
			}
		}
	}
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		if !s.outageSince.IsZero() && time.Since(s.outageSince) > outageLimit {
			return fmt.Errorf("no server has answered for %v: %w", outageLimit, s.outageErr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := s.c.js.PublishMsg(ctx, p.msg, jetstream.WithMsgID(p.id))
		cancel()
		switch {
		case err == nil:
			s.setOutage(time.Time{})
			return nil
		case !retriable(err):
			return err
		case s.outageSince.IsZero():
			s.setOutage(time.Now())
		}
		s.outageErr = err
		s.c.cfg.Log.Warn("a publish to NATS was not acknowledged; sending it again", "stream", s.name, "error", err)
		time.Sleep(wait)
	}
}

// setOutage sets outageSince, which only the acker writes (and so reads
// without the lock).
func (s *Stream) setOutage(since time.Time) {
	s.mu.Lock()
	s.outageSince = since
	s.mu.Unlock()
}

// outageLimit is how long publishes are sent again while no server
// answers, before they are reported as not stored.
const outageLimit = time.Minute

// duplicateInProcess is nats-server's JSStreamDuplicateMessageConflict:
// a publish with this message ID is proposed but not yet stored (a send
// again while a new leader takes over). Sending again later gets the
// original's acknowledgement, so it is retriable.
const duplicateInProcess jetstream.ErrorCode = 10158

// retriable reports whether a publish failed for want of a server (one
// lost, a leader being elected) rather than being refused.
func retriable(err error) bool {
	if apiErr := (*jetstream.APIError)(nil); errors.As(err, &apiErr) && apiErr.ErrorCode == duplicateInProcess {
		return true
	}
	for _, want := range []error{
		context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders, nats.ErrDisconnected,
		jetstream.ErrNoStreamResponse, jetstream.ErrAsyncPublishTimeout, jetstream.ErrAsyncPublishReplySubjectSet,
	} {
		if errors.Is(err, want) {
			return true
		}
	}
	return false
}

func (s *Stream) takeFailure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err, n := s.failed, s.failures
	s.failed, s.failures = nil, 0
	switch {
	case err == nil:
		return nil
	case n == 1:
		return fmt.Errorf("cluster: stream %q: an event was not stored: %w", s.name, err)
	}
	return fmt.Errorf("cluster: stream %q: %d events were not stored; the first: %w", s.name, n, err)
}

// Flush waits until every publish so far is acknowledged, and returns
// the error of one the server refused.
func (s *Stream) Flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.published
	s.mu.Unlock()
	for {
		s.mu.Lock()
		done, settled := s.acked >= target, s.settled
		s.mu.Unlock()
		if done {
			return s.takeFailure()
		}
		select {
		case <-settled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Count returns the number of events in the stream.
func (s *Stream) Count(ctx context.Context) (uint64, error) {
	info, err := s.js.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("cluster: stream %q: %w", s.name, err)
	}
	return info.State.Msgs, nil
}

// event turns a JetStream message back into the event published.
func event(msg jetstream.Msg) camel.Event {
	ev := camel.Event{Body: msg.Data()}
	for k, vs := range msg.Headers() {
		switch {
		case k == contentTypeHeader:
			ev.ContentType = vs[0]
		case k == nats.MsgIdHdr || len(vs) == 0:
		default:
			if ev.Headers == nil {
				ev.Headers = map[string]string{}
			}
			ev.Headers[k] = vs[0]
		}
	}
	return ev
}

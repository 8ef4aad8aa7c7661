package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// confirmTimeout bounds the wait for the server's confirmation of a batch:
// the flush's PONG (core NATS) or the PubAcks (JetStream).
const confirmTimeout = 10 * time.Second

// sink is one nats-sink instance. It connects at its first Write, and
// again at the next Write when that failed.
type sink struct {
	conn      *settings
	topic     string
	jetstream bool
	stream    string
	async     bool
	log       *slog.Logger

	mu sync.Mutex // held by Write and Close
	nc *nats.Conn
	js jetstream.JetStream
}

func newSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	conn, err := connection("nats-sink", cfg, log)
	if err != nil {
		return nil, err
	}
	s := &sink{
		conn:      conn,
		topic:     cfg.String("topic"),
		jetstream: cfg.Bool("jetstreamEnabled"),
		stream:    cfg.String("jetstreamName"),
		async:     cfg.Bool("jetstreamAsync"),
		log:       log,
	}
	if !publishable(s.topic) {
		return nil, fmt.Errorf("nats-sink: topic must be a subject without wildcards or spaces")
	}
	return s, nil
}

// Write publishes the batch and returns once the server confirmed it: for
// core NATS, a flush has the server answer a PING sent after the
// messages, so it has read them all (which says nothing of subscribers);
// for JetStream, each message's PubAck says that the stream stored it.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(ctx); err != nil {
		return err
	}
	switch {
	case !s.jetstream:
		return s.publish(batch)
	case s.async:
		return s.publishAsync(ctx, batch)
	default:
		return s.publishSync(ctx, batch)
	}
}

// open connects, if not yet connected. Without a reconnect buffer, a
// publish while the connection is down fails at once instead of waiting
// in nats.go's memory, so that nothing is acknowledged that the server
// has not read.
func (s *sink) open(ctx context.Context) error {
	if s.nc != nil {
		return nil
	}
	nc, err := s.conn.connect(nats.ReconnectBufSize(-1))
	if err != nil {
		return err
	}
	if s.jetstream {
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(confirmTimeout))
		if err == nil && s.stream != "" {
			ctx, cancel := context.WithTimeout(ctx, confirmTimeout)
			_, err = findStream(ctx, js, s.stream, s.topic)
			cancel()
		}
		if err != nil {
			nc.Close()
			return fmt.Errorf("nats-sink: %w", err)
		}
		s.js = js
	}
	s.nc = nc
	return nil
}

// publish sends core NATS messages and flushes them.
func (s *sink) publish(batch []sdk.Event) error {
	for i, ev := range batch {
		msg, err := message(ev, s.topic)
		if err == nil {
			err = s.nc.PublishMsg(msg)
		}
		if err != nil {
			if errors.Is(err, errBadOverride) || errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) {
				err = sdk.Permanent(err)
			}
			if i > 0 && s.nc.FlushTimeout(confirmTimeout) != nil {
				return fmt.Errorf("nats-sink: cannot publish: %w", err)
			}
			return sdk.Partial(i, fmt.Errorf("nats-sink: cannot publish: %w", err))
		}
	}
	if err := s.nc.FlushTimeout(confirmTimeout); err != nil {
		return fmt.Errorf("nats-sink: the server did not confirm the messages: %w", err)
	}
	return nil
}

// publishAsync sends every message of the batch to JetStream, then waits
// for their PubAcks in order.
func (s *sink) publishAsync(ctx context.Context, batch []sdk.Event) error {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	var sendErr error
	for _, ev := range batch {
		msg, err := message(ev, s.topic)
		if err != nil {
			sendErr = err
			break
		}
		f, err := s.js.PublishMsgAsync(msg, s.expect()...)
		if err != nil {
			sendErr = err
			break
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return s.failed(i, err)
		case <-ctx.Done():
			return s.failed(i, ctx.Err())
		}
	}
	if sendErr != nil {
		return s.failed(len(futures), sendErr)
	}
	return nil
}

// publishSync sends the messages to JetStream one after the other, each
// once the previous one's PubAck came.
func (s *sink) publishSync(ctx context.Context, batch []sdk.Event) error {
	for i, ev := range batch {
		msg, err := message(ev, s.topic)
		if err == nil {
			ctx, cancel := context.WithTimeout(ctx, confirmTimeout)
			_, err = s.js.PublishMsg(ctx, msg, s.expect()...)
			cancel()
		}
		if err != nil {
			return s.failed(i, err)
		}
	}
	return nil
}

// expect is the publish options: the stream a message must land in.
func (s *sink) expect() []jetstream.PublishOpt {
	if s.stream == "" {
		return nil
	}
	return []jetstream.PublishOpt{jetstream.WithExpectStream(s.stream)}
}

// failed says that batch[:i] were stored and batch[i] was not, because of
// err: a refusal that sending again cannot help (a message too large, a
// stream that is not the expected one) fails that event alone.
func (s *sink) failed(i int, err error) error {
	var api *jetstream.APIError
	if errors.Is(err, errBadOverride) || errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) ||
		(errors.As(err, &api) && api.Code == 400) {
		err = sdk.Permanent(err)
	} else if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		err = fmt.Errorf("no JetStream stream holds the subject: %w", err)
	}
	return sdk.Partial(i, fmt.Errorf("nats-sink: JetStream did not store the message: %w", err))
}

// Close closes the connection.
func (s *sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc != nil {
		s.nc.Close()
	}
	return nil
}

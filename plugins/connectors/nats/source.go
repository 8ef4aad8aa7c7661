package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// failedDelay is how long JetStream waits before it delivers again a
// message whose event failed, so that a message that always fails does
// not spin.
const failedDelay = 5 * time.Second

// source is one nats-source instance. New only reads the config; Run
// connects, and closes the connection when it returns.
type source struct {
	conn      *settings
	topic     string
	queue     string
	jetstream bool
	stream    string // jetstreamName; "" to find the stream holding topic
	durable   string
	ackWait   time.Duration
	log       *slog.Logger

	mu      sync.Mutex
	nc      *nats.Conn             // Run's connection, for tests that cut it
	pending map[jetstream.Msg]bool // JetStream messages emitted and not yet acked or Nak'd
}

func newSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	conn, err := connection("nats-source", cfg, log)
	if err != nil {
		return nil, err
	}
	s := &source{
		conn:      conn,
		topic:     cfg.String("topic"),
		queue:     cfg.String("queueName"),
		jetstream: cfg.Bool("jetstreamEnabled"),
		stream:    cfg.String("jetstreamName"),
		durable:   cfg.String("durableName"),
		ackWait:   cfg.Millis("ackWait"),
		log:       log,
		pending:   map[jetstream.Msg]bool{},
	}
	if s.durable == "" {
		s.durable = "rayvens-" + strings.NewReplacer(".", "_", "*", "_", ">", "_").Replace(s.topic)
	}
	switch {
	case strings.TrimSpace(s.topic) == "":
		return nil, fmt.Errorf("nats-source: topic must not be empty")
	case s.ackWait <= 0:
		return nil, fmt.Errorf("nats-source: ackWait must be positive")
	case s.jetstream && s.queue != "":
		return nil, fmt.Errorf("nats-source: queueName is for core NATS: JetStream instances that share durableName share its messages")
	}
	return s, nil
}

// Run connects and emits the messages of the subscription or of the
// durable consumer until ctx ends. A first connect that fails ends it with
// the error; after that, nats.go reconnects by itself.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	nc, err := s.conn.connect()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.nc = nc
	s.mu.Unlock()
	defer s.hangUp(nc)
	if s.jetstream {
		return s.consume(ctx, nc, emit)
	}
	return s.subscribe(ctx, nc, emit)
}

// subscribe emits core NATS messages. Core NATS has no acknowledgement: a
// message is gone from the server once sent, so the events have no Ack.
// While the stream is full, messages wait in the subscription's buffer
// (nats.go's default limits: 512Ki messages, 64 MiB); past them, the
// server's slow-consumer rule drops messages, and the source logs it.
func (s *source) subscribe(ctx context.Context, nc *nats.Conn, emit sdk.Emit) error {
	sub, err := nc.QueueSubscribeSync(s.topic, s.queue)
	if err != nil {
		return fmt.Errorf("nats-source: cannot subscribe to the topic: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, nats.ErrSlowConsumer):
			s.log.Warn("messages were dropped: the stream did not keep up with the subject", "error", err)
			continue
		case err != nil:
			return fmt.Errorf("nats-source: %w", err)
		}
		if err := emit(ctx, event(msg, msg.Reply, time.Time{})); err != nil {
			return nil // emit fails only when ctx ends or the instance closes: both mean stop
		}
	}
}

// consume emits the messages of the durable consumer. Each event's Ack
// acks its message when the event is done, Naks it with failedDelay when
// it failed, and Naks it at once when the host never took it; meanwhile
// the message is kept in progress, so that JetStream does not deliver it
// again while the pipeline still has it.
func (s *source) consume(ctx context.Context, nc *nats.Conn, emit sdk.Emit) error {
	cons, err := s.consumer(ctx, nc)
	if err != nil {
		return err
	}
	msgs, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("nats-source: cannot consume from the durable consumer %q: %w", s.durable, err)
	}
	defer context.AfterFunc(ctx, msgs.Stop)()
	defer msgs.Stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	beat, stop := context.WithCancel(ctx)
	defer stop()
	wg.Go(func() { s.keepInProgress(beat) })

	for {
		msg, err := msgs.Next()
		switch {
		case ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed):
			if msg != nil {
				_ = msg.Nak()
			}
			return nil
		case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
			return fmt.Errorf("nats-source: the durable consumer %q is gone: %w", s.durable, err)
		case err != nil && nc.IsClosed():
			return fmt.Errorf("nats-source: the connection is closed: %w", err)
		case err != nil:
			s.log.Debug("JetStream pull", "error", err) // heartbeats missed while the server is away; the iterator goes on
			continue
		}
		var stored time.Time
		if md, err := msg.Metadata(); err == nil {
			stored = md.Timestamp
		}
		ev := event(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}, "", stored)
		s.track(msg)
		ev.Ack = func(err error) { s.settle(msg, err) }
		if err := emit(ctx, ev); err != nil {
			return nil // the event's Ack has its message Nak'd
		}
	}
}

// consumer finds or creates the stream and the durable consumer.
func (s *source) consumer(ctx context.Context, nc *nats.Conn) (jetstream.Consumer, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("nats-source: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := findStream(ctx, js, s.stream, s.topic)
	if err != nil {
		return nil, fmt.Errorf("nats-source: %w", err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       s.durable,
		FilterSubject: s.topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.ackWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("nats-source: cannot make the durable consumer %q: %w", s.durable, err)
	}
	return cons, nil
}

// findStream returns the stream named name, created to hold topic if it
// does not exist, or, without a name, the stream that holds topic.
func findStream(ctx context.Context, js jetstream.JetStream, name, topic string) (jetstream.Stream, error) {
	if name == "" {
		found, err := js.StreamNameBySubject(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("no JetStream stream holds the topic (set jetstreamName to have one made): %w", err)
		}
		name = found
	}
	stream, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{topic}})
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open the JetStream stream %q: %w", name, err)
	}
	return stream, nil
}

func (s *source) track(msg jetstream.Msg) {
	s.mu.Lock()
	s.pending[msg] = true
	s.mu.Unlock()
}

// settle tells JetStream the outcome of msg's event.
func (s *source) settle(msg jetstream.Msg, outcome error) {
	s.mu.Lock()
	delete(s.pending, msg)
	s.mu.Unlock()
	var err error
	switch {
	case outcome == nil:
		err = msg.Ack()
	case sdk.IsFailed(outcome):
		s.log.Warn("an event failed; JetStream delivers its message again", "subject", msg.Subject(), "in", failedDelay, "reason", outcome)
		err = msg.NakWithDelay(failedDelay)
	default:
		err = msg.Nak() // never taken: to be delivered again now
	}
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) { // closed: hangUp Nak'd it
		s.log.Warn("cannot tell JetStream the outcome of a message; it will be delivered again", "error", err)
	}
}

// keepInProgress tells JetStream, every third of ackWait until ctx ends,
// that the pending messages are still being worked on.
func (s *source) keepInProgress(ctx context.Context) {
	t := time.NewTicker(s.ackWait / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		msgs := make([]jetstream.Msg, 0, len(s.pending))
		for m := range s.pending {
			msgs = append(msgs, m)
		}
		s.mu.Unlock()
		for _, m := range msgs {
			_ = m.InProgress()
		}
	}
}

// hangUp Naks the JetStream messages whose events are still out, so that
// JetStream delivers them again at once to the next instance of the
// durable consumer, and closes the connection. (The host ends a run only
// once its events are done, so this is for a source disconnected early.)
// Messages of a process that died are delivered again once ackWait has
// passed.
func (s *source) hangUp(nc *nats.Conn) {
	s.mu.Lock()
	for m := range s.pending {
		_ = m.Nak()
	}
	clear(s.pending)
	s.mu.Unlock()
	_ = nc.FlushTimeout(time.Second)
	nc.Close()
}

package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SinkKind declares mqtt-sink.
var SinkKind = sdk.SinkKind{
	Name:        "mqtt-sink",
	Kamelet:     "mqtt-sink",
	Description: "Publishes each event as a message to an MQTT broker, such as mosquitto. With qos 1 a batch is done only once the broker has acknowledged every one of its messages.",
	Events:      "the body of each event is the payload of one message, published on the topic of its CamelPahoOverrideTopic header if it has one",
	Params: []sdk.Param{
		topicParam("The topic to send messages to, unless an event's CamelPahoOverrideTopic header names another."),
		brokerURLParam,
		usernameParam,
		passwordParam,
		qosParam("The quality of service to publish with: 1 (at least once: a batch is done only once the broker has acknowledged each message) or 0 (at most once: done once the messages are sent)."),
	},
	New: newSink,
}

// sink is one mqtt-sink instance. Write is called by one goroutine at a
// time; paho's goroutines set lost.
type sink struct {
	settings
	client     paho.Client
	log        *slog.Logger
	ackTimeout time.Duration // ackTimeout, shorter in tests

	mu   sync.Mutex
	lost error // why the last connection ended, while paho reconnects
	// down is closed when the connection is lost, and replaced by the
	// next connection's: a PUBACK of a lost connection never comes (paho
	// keeps the message for a resend that a clean session never makes).
	down chan struct{}
}

func newSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	st, err := readSettings("mqtt-sink", cfg, false)
	if err != nil {
		return nil, err
	}
	// A sink keeps no session: what the broker did not acknowledge is the
	// host's to send again. So its client id only has to be unique.
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	s := &sink{settings: st, log: log, ackTimeout: ackTimeout, down: make(chan struct{})}
	opts := st.options("mqtt-sink-"+hex.EncodeToString(suffix[:]), true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.setLost(err)
			log.Warn("lost the connection to the broker; reconnecting", "broker", st.address, "error", err.Error())
		}).
		SetOnConnectHandler(func(paho.Client) { s.setLost(nil) })
	s.client = paho.NewClient(opts)
	return s, nil
}

// Write publishes one message per event, in order, then waits for the
// broker's acknowledgements: with qos 1 an event is written once its
// PUBACK came. The first event that was not is where sdk.Partial says the
// batch stopped.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	down := s.connection()
	tokens := make([]paho.Token, 0, len(batch))
	var stopped error // why publishing stopped at event len(tokens)
	for _, ev := range batch {
		topic := s.topic
		if t, ok := ev.Headers[HeaderOverrideTopic]; ok {
			if err := checkTopic(t, false); err != nil {
				stopped = sdk.Permanent(fmt.Errorf("mqtt-sink: the %s header %w", HeaderOverrideTopic, err))
				break
			}
			topic = t
		}
		if !s.client.IsConnectionOpen() { // paho would take a QoS 0 message and drop it
			stopped = s.notConnected()
			break
		}
		tokens = append(tokens, s.client.Publish(topic, s.qos, false, ev.Body))
	}
	deadline := time.NewTimer(s.ackTimeout)
	defer deadline.Stop()
	for i, tok := range tokens {
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				return sdk.Partial(i, fmt.Errorf("mqtt-sink: cannot publish to %s: %w", s.address, err))
			}
		case <-down:
			return sdk.Partial(i, s.notConnected())
		case <-deadline.C:
			return sdk.Partial(i, fmt.Errorf("mqtt-sink: the broker at %s did not acknowledge the message within %v", s.address, s.ackTimeout))
		case <-ctx.Done():
			return sdk.Partial(i, errors.New("mqtt-sink: stopped before the broker acknowledged the message"))
		}
	}
	if stopped != nil {
		return sdk.Partial(len(tokens), stopped)
	}
	return nil
}

// connect connects the client the first time, and after a connection
// that paho gave up on; while paho reconnects, it says why it is not
// connected.
func (s *sink) connect(ctx context.Context) error {
	switch {
	case s.client.IsConnectionOpen():
		return nil
	case s.client.IsConnected(): // paho is reconnecting
		return s.notConnected()
	}
	if err := wait(ctx, s.client.Connect()); err != nil {
		if ctx.Err() != nil {
			return errors.New("mqtt-sink: stopped before the connection to the broker was made")
		}
		return s.unreachable(err)
	}
	s.log.Info("connected", "broker", s.address)
	return nil
}

// setLost records why the connection was lost, or that it is up (nil).
func (s *sink) setLost(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = err
	if err != nil {
		close(s.down)
		s.down = make(chan struct{})
	}
}

// connection returns the channel closed when the current connection is lost.
func (s *sink) connection() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// notConnected is the error of a Write while paho reconnects.
func (s *sink) notConnected() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost == nil {
		return fmt.Errorf("mqtt-sink: cannot reach %s: not connected; reconnecting", s.address)
	}
	return fmt.Errorf("mqtt-sink: cannot reach %s: the connection was lost (%s); reconnecting", s.address, cause(s.lost))
}

// Close disconnects, waiting up to 250 ms for what is being sent.
func (s *sink) Close() error {
	if s.client.IsConnected() {
		s.client.Disconnect(250)
	}
	return nil
}

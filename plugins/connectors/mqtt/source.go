package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"unicode/utf8"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SourceKind declares mqtt-source.
var SourceKind = sdk.SourceKind{
	Name:        "mqtt-source",
	Kamelet:     "mqtt-source",
	Description: "Receives messages from an MQTT broker, such as mosquitto. With qos 1 each message is acknowledged to the broker only once its event is done, so that a crash loses nothing.",
	Events:      "the payload of each message, as a string, with the headers CamelMqttTopic and CamelMqttQoS",
	Params: []sdk.Param{
		topicParam(`The topic to subscribe to; "+" matches one level and "#" the levels that follow.`),
		brokerURLParam,
		{Name: "clientId", Type: sdk.String, Description: "The client ID to use when connecting to the broker. It names the session the broker keeps for qos 1, so it must be stable and unique: by default it is mqtt-source- followed by a hash of the broker's address, the topic and the username."},
		usernameParam,
		passwordParam,
		qosParam("The quality of service to subscribe with: 1 (at least once; the broker keeps what was not acknowledged and sends it again) or 0 (at most once)."),
	},
	New: newSource,
}

// maxQueuedQoS0 bounds the QoS 0 messages received and not yet emitted:
// past it, they are dropped (and counted in the log). QoS 1 messages are
// never dropped; the broker's in-flight window bounds them.
const maxQueuedQoS0 = 10000

// source is one mqtt-source instance. Run owns the client; paho's
// goroutines call receive and onConnect, which share inbox with Run.
type source struct {
	settings
	clientID string
	log      *slog.Logger
	acks     *acks
	inbox    inbox
}

func newSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	s, err := readSettings("mqtt-source", cfg, true)
	if err != nil {
		return nil, err
	}
	id := cfg.String("clientId")
	if id == "" {
		id = derivedClientID(s)
	}
	if !utf8.ValidString(id) || len(id) > 65535 {
		return nil, errors.New("mqtt-source: clientId must be UTF-8 text of at most 65535 bytes")
	}
	return &source{settings: s, clientID: id, log: log, acks: newAcks(), inbox: inbox{ready: make(chan struct{}, 1)}}, nil
}

// Run connects, subscribes and emits each message, until ctx ends. It
// returns an error when the first connection or subscription fails; after
// that, paho reconnects by itself and onConnect subscribes again.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	subscribed := make(chan error, 1)
	var once sync.Once
	opts := s.options(s.clientID, s.qos == 0).
		SetOrderMatters(true).
		SetAutoAckDisabled(true).
		SetDefaultPublishHandler(s.receive). // also gets what a resumed session sends before the subscription
		SetOnConnectHandler(func(c paho.Client) {
			err := s.subscribe(c)
			first := false
			once.Do(func() { first = true; subscribed <- err })
			if err != nil && !first {
				s.log.Error("cannot subscribe again after a reconnection; no messages come until the next one", "error", err.Error())
			}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.log.Warn("lost the connection to the broker; reconnecting", "broker", s.address, "error", err.Error())
		})
	client := paho.NewClient(opts)
	if err := wait(ctx, client.Connect()); err != nil {
		client.Disconnect(0)
		if ctx.Err() != nil {
			return nil
		}
		return s.unreachable(err)
	}
	defer client.Disconnect(250)
	select {
	case err := <-subscribed:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return nil
	}
	for {
		msg, err := s.inbox.take(ctx)
		if err != nil {
			return nil // ctx ended
		}
		if err := s.emit(ctx, emit, msg); err != nil {
			return nil // emit fails only when ctx ends or the instance closes: both mean stop
		}
	}
}

// subscribe subscribes c to the topic, on each connection.
func (s *source) subscribe(c paho.Client) error {
	tok := c.Subscribe(s.topic, s.qos, nil)
	if !tok.WaitTimeout(connectTimeout) {
		return fmt.Errorf("mqtt-source: the broker at %s did not answer the subscription to the topic within %v", s.address, connectTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("mqtt-source: the broker at %s refused the subscription to the topic: %w", s.address, err)
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		if code := st.Result()[s.topic]; code == 0x80 {
			return fmt.Errorf("mqtt-source: the broker at %s refused the subscription to the topic (not authorized?)", s.address)
		}
	}
	s.log.Info("subscribed", "broker", s.address, "topic", s.topic, "qos", int(s.qos))
	return nil
}

// receive is paho's handler: it must not block (paho reads nothing else
// while it runs), so it only queues the message for Run.
func (s *source) receive(_ paho.Client, msg paho.Message) {
	if dropped := s.inbox.put(msg); dropped > 0 && dropped%1000 == 1 {
		s.log.Warn("QoS 0 messages come faster than the stream takes them: dropping them", "dropped", dropped)
	}
}

// emit hands msg to the host; a QoS 1 message's PUBACK waits for its
// event (see acks).
func (s *source) emit(ctx context.Context, emit sdk.Emit, msg paho.Message) error {
	ev := sdk.Event{
		Body:        msg.Payload(),
		ContentType: contentType(msg.Payload()),
		Headers:     map[string]string{HeaderTopic: msg.Topic(), HeaderQoS: strconv.Itoa(int(msg.Qos()))},
	}
	if msg.Qos() > 0 {
		p, fresh := s.acks.add(msg)
		if !fresh {
			return nil // a resend of a message whose event is on its way
		}
		ev.Ack = func(err error) {
			if err != nil && sdk.IsFailed(err) {
				s.log.Warn("an event failed: its message is not acknowledged, and the broker sends it again when the source next connects", "topic", msg.Topic(), "error", err.Error())
			}
			s.acks.resolve(p, err == nil)
		}
	}
	if err := emit(ctx, ev); err != nil {
		if ev.Ack != nil {
			ev.Ack(err) // not taken, so the SDK will not call it
		}
		return err
	}
	return nil
}

// contentType is text/plain for a UTF-8 payload, else
// application/octet-stream.
func contentType(payload []byte) string {
	if utf8.Valid(payload) {
		return "text/plain"
	}
	return "application/octet-stream"
}

// wait waits for tok, or for ctx.
func wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// inbox is the queue between paho's handler and Run.
type inbox struct {
	mu      sync.Mutex
	msgs    []paho.Message
	qos0    int // how many of msgs are QoS 0
	dropped int
	ready   chan struct{} // holds a token while msgs is not empty
}

// put queues msg, unless it is QoS 0 and too many are queued: it then
// returns how many were dropped so far.
func (b *inbox) put(msg paho.Message) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if msg.Qos() == 0 {
		if b.qos0 >= maxQueuedQoS0 {
			b.dropped++
			return b.dropped
		}
		b.qos0++
	}
	b.msgs = append(b.msgs, msg)
	select {
	case b.ready <- struct{}{}:
	default:
	}
	return 0
}

// take returns the oldest message, waiting for one until ctx ends.
func (b *inbox) take(ctx context.Context) (paho.Message, error) {
	for {
		b.mu.Lock()
		if len(b.msgs) > 0 {
			msg := b.msgs[0]
			b.msgs[0] = nil
			b.msgs = b.msgs[1:]
			if msg.Qos() == 0 {
				b.qos0--
			}
			if len(b.msgs) > 0 {
				select {
				case b.ready <- struct{}{}:
				default:
				}
			}
			b.mu.Unlock()
			return msg, nil
		}
		b.mu.Unlock()
		select {
		case <-b.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Package mqtt is the mqtt-source and mqtt-sink connectors: they receive
// messages from, and publish messages to, an MQTT broker (MQTT 3.1.1,
// with github.com/eclipse/paho.mqtt.golang), as the Apache Camel Kamelets
// of the same names do with Camel's paho component.
//
// Delivery follows the QoS: with qos 1 (the default) the source keeps a
// persistent session (clean session off, a stable client id) and sends
// each message's PUBACK only once its event is done, in the order the
// messages came (acks.go), so that what was not done is sent again by the
// broker after a crash or a reconnect; the sink's Write returns nil only
// once the broker has acknowledged (PUBACK) every message of the batch.
// With qos 0 nothing is acknowledged: at most once, both ways.
//
// Both connect in Run or at the first Write, never in New, which only
// checks the values (`rayvens check` does not run New); once connected,
// paho reconnects by itself with its backoff when the broker goes away.
// Errors name the broker by host and port only: a brokerUrl may carry a
// user and password.
package mqtt

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// The headers of Camel's paho component (PahoConstants).
const (
	// HeaderTopic is set by mqtt-source to the topic a message came on.
	HeaderTopic = "CamelMqttTopic"
	// HeaderQoS is set by mqtt-source to the QoS a message came with.
	HeaderQoS = "CamelMqttQoS"
	// HeaderOverrideTopic, on an event for mqtt-sink, is the topic to
	// publish it on instead of the sink's topic.
	HeaderOverrideTopic = "CamelPahoOverrideTopic"
)

// How long a connection attempt, and the wait for a batch's PUBACKs, may
// take; how far apart paho's reconnection attempts go (it starts at 1 s
// and doubles).
const (
	connectTimeout       = 10 * time.Second
	ackTimeout           = 30 * time.Second
	maxReconnectInterval = 10 * time.Second
)

// The parameters both kinds share.
var (
	topicParam = func(what string) sdk.Param {
		return sdk.Param{Name: "topic", Type: sdk.String, Required: true, Description: what}
	}
	brokerURLParam = sdk.Param{Name: "brokerUrl", Type: sdk.String, Required: true, Check: checkBroker, Description: `The URL of the broker where to establish the connection, such as "tcp://mosquitto:1883": tcp:// or mqtt:// (port 1883 by default), ssl://, tls:// or mqtts:// (TLS, port 8883 by default), ws:// or wss:// (MQTT over WebSocket).`}
	usernameParam  = sdk.Param{Name: "username", Type: sdk.String, Description: "Username to use when connecting to the MQTT broker."}
	passwordParam  = sdk.Param{Name: "password", Type: sdk.String, Secret: true, Description: "Password to use when connecting to the MQTT broker; it needs a username."}
	qosParam       = func(what string) sdk.Param {
		return sdk.Param{Name: "qos", Type: sdk.Integer, Default: 1, Check: checkQoS, Description: what}
	}
)

// settings are what both kinds make of their config.
type settings struct {
	kind     string
	broker   string // the URL paho dials, with the port filled in
	address  string // host:port, the only part of the URL errors show
	topic    string
	qos      byte
	username string
	password string // secret: never in a log line or an error
}

// readSettings checks the values New can check without a network.
// Errors name the parameter, never its value.
func readSettings(kind string, cfg sdk.Config, wildcards bool) (settings, error) {
	s := settings{kind: kind, topic: cfg.String("topic"), username: cfg.String("username"), password: cfg.String("password")}
	var err error
	if s.broker, s.address, err = brokerAddress(cfg.String("brokerUrl")); err != nil {
		return s, fmt.Errorf("%s: brokerUrl %w", kind, err)
	}
	if err := checkTopic(s.topic, wildcards); err != nil {
		return s, fmt.Errorf("%s: topic %w", kind, err)
	}
	switch q := cfg.Int("qos"); q {
	case 0, 1:
		s.qos = byte(q)
	default:
		return s, fmt.Errorf("%s: qos must be 0 (at most once) or 1 (at least once); QoS 2 is not supported", kind)
	}
	if s.password != "" && s.username == "" {
		return s, fmt.Errorf("%s: password needs a username (MQTT 3.1.1 sends no password alone)", kind)
	}
	return s, nil
}

// checkBroker and checkQoS are the Param.Checks that let `rayvens check`
// find a bad brokerUrl or qos without connecting.
func checkBroker(v any) error {
	s, _ := v.(string)
	_, _, err := brokerAddress(s)
	return err
}

func checkQoS(v any) error {
	if q, _ := v.(int64); q != 0 && q != 1 {
		return errors.New("must be 0 (at most once) or 1 (at least once); QoS 2 is not supported")
	}
	return nil
}

// defaultPorts are the ports of the URL schemes paho dials.
var defaultPorts = map[string]string{
	"tcp": "1883", "mqtt": "1883",
	"ssl": "8883", "tls": "8883", "mqtts": "8883", "mqtt+ssl": "8883", "tcps": "8883",
	"ws": "80", "wss": "443",
}

// brokerAddress checks a broker URL and returns it with its port filled
// in, and its host:port.
func brokerAddress(raw string) (broker, address string, err error) {
	u, perr := url.Parse(raw)
	if perr != nil || u.Hostname() == "" {
		return "", "", errors.New(`must be a URL such as tcp://mosquitto:1883`)
	}
	port, ok := defaultPorts[strings.ToLower(u.Scheme)]
	if !ok {
		return "", "", errors.New("must start with tcp://, mqtt://, ssl://, tls://, mqtts://, ws:// or wss://")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "", errors.New("has a port that is not a port number (1 to 65535)")
		}
		port = p
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String(), u.Host, nil
}

// checkTopic checks an MQTT topic name, or a topic filter when wildcards
// are allowed ("+" for one level, "#" for the rest, each a whole level).
func checkTopic(topic string, wildcards bool) error {
	switch {
	case topic == "":
		return errors.New("must not be empty")
	case !utf8.ValidString(topic) || strings.ContainsRune(topic, 0):
		return errors.New("must be UTF-8 text without NUL characters")
	case len(topic) > 65535:
		return errors.New("is longer than MQTT allows (65535 bytes)")
	}
	levels := strings.Split(topic, "/")
	for i, level := range levels {
		if !strings.ContainsAny(level, "+#") {
			continue
		}
		if !wildcards {
			return errors.New(`must not hold the wildcards "+" or "#": messages are published on one topic`)
		}
		if level != "+" && (level != "#" || i != len(levels)-1) {
			return errors.New(`may hold "+" and "#" only as whole levels, and "#" only as the last`)
		}
	}
	return nil
}

// options are paho's options for s, with the client id and session given.
func (s settings) options(clientID string, cleanSession bool) *paho.ClientOptions {
	return paho.NewClientOptions().
		AddBroker(s.broker).
		SetClientID(clientID).
		SetUsername(s.username).
		SetPassword(s.password).
		SetCleanSession(cleanSession).
		SetConnectTimeout(connectTimeout).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxReconnectInterval).
		SetConnectRetry(false)
}

// unreachable is the one line a user sees when the broker cannot be
// reached or refuses the connection: the kind, the address, the cause.
func (s settings) unreachable(err error) error {
	var refused bool
	for _, code := range []error{packets.ErrorRefusedBadUsernameOrPassword, packets.ErrorRefusedNotAuthorised, packets.ErrorRefusedIDRejected, packets.ErrorRefusedBadProtocolVersion, packets.ErrorRefusedServerUnavailable} {
		refused = refused || errors.Is(err, code)
	}
	if refused {
		return fmt.Errorf("%s: the broker at %s refused the connection: %s", s.kind, s.address, strings.TrimSpace(err.Error()))
	}
	return fmt.Errorf("%s: cannot reach %s: %s", s.kind, s.address, cause(err))
}

// cause drops paho's "network Error : " in front of the error that says
// what happened.
func cause(err error) string {
	if multi, ok := err.(interface{ Unwrap() []error }); ok && errors.Is(err, packets.ErrorNetworkError) {
		if errs := multi.Unwrap(); len(errs) > 0 {
			err = errs[len(errs)-1]
		}
	}
	return err.Error()
}

// derivedClientID is a source's client id when its config gives none:
// stable across restarts (so that its QoS 1 session survives them) and
// distinct for distinct brokers, topics and users.
func derivedClientID(s settings) string {
	sum := sha256.Sum256([]byte(s.address + "\x00" + s.topic + "\x00" + s.username))
	return "mqtt-source-" + hex.EncodeToString(sum[:6])
}

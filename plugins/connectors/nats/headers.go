package nats

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Event headers, with Apache Camel's names (NatsConstants). Camel has no
// header that overrides the subject a producer publishes to, so the sink
// reads CamelNatsOverrideSubject: a header of its own, distinct from the
// source's CamelNatsSubject, so that events passed straight from a
// nats-source to a nats-sink go to the sink's topic, not back where they
// came from.
const (
	// HeaderSubject is the subject a message was published to.
	HeaderSubject = "CamelNatsSubject"
	// HeaderReplyTo is the reply subject of a core NATS message, when it has one.
	HeaderReplyTo = "CamelNatsReplyTo"
	// HeaderTimestamp is when JetStream stored a message, in milliseconds
	// since the Unix epoch.
	HeaderTimestamp = "CamelNatsMessageTimestamp"
	// HeaderOverrideSubject, on an event a sink gets, is the subject to
	// publish it to instead of the sink's topic.
	HeaderOverrideSubject = "CamelNatsOverrideSubject"
)

// event makes the event of a message: its payload, its NATS headers by
// name (several values of one joined with ", "; values that are not UTF-8
// text, which events cannot carry, and JetStream's Nats-Expected-*
// preconditions left out), then Camel's headers.
func event(msg *nats.Msg, reply string, stored time.Time) sdk.Event {
	headers := make(map[string]string, len(msg.Header)+2)
	for name, values := range msg.Header {
		if strings.HasPrefix(name, "Nats-Expected-") {
			continue // a publisher's precondition, met once stored: passed on, it would bind the next publish
		}
		value := strings.Join(values, ", ")
		if utf8.ValidString(name) && utf8.ValidString(value) {
			headers[name] = value
		}
	}
	headers[HeaderSubject] = msg.Subject
	if reply != "" {
		headers[HeaderReplyTo] = reply
	}
	if !stored.IsZero() {
		headers[HeaderTimestamp] = strconv.FormatInt(stored.UnixMilli(), 10)
	}
	contentType := msg.Header.Get("Content-Type")
	if contentType == "" {
		contentType = "application/octet-stream"
		if utf8.Valid(msg.Data) {
			contentType = "text/plain"
		}
	}
	return sdk.Event{Body: msg.Data, ContentType: contentType, Headers: headers}
}

// errBadOverride is the error of an event whose CamelNatsOverrideSubject
// is not a subject one can publish to.
var errBadOverride = errors.New("the event's " + HeaderOverrideSubject + " header is not a subject to publish to: it is empty or has a wildcard or a space")

// message makes the message of an event a sink got: to the event's
// CamelNatsOverrideSubject or else to topic, with the event's headers as
// NATS headers, except Camel's (named "Camel..."), which describe the
// event rather than travel with it.
func message(ev sdk.Event, topic string) (*nats.Msg, error) {
	msg := &nats.Msg{Subject: topic, Data: ev.Body}
	if s, ok := ev.Headers[HeaderOverrideSubject]; ok {
		if !publishable(s) {
			return nil, errBadOverride
		}
		msg.Subject = s
	}
	for name, value := range ev.Headers {
		if strings.HasPrefix(strings.ToLower(name), "camel") {
			continue
		}
		if msg.Header == nil {
			msg.Header = nats.Header{}
		}
		msg.Header[name] = []string{value} // as named: nats.Header.Set would change the case
	}
	return msg, nil
}

// publishable reports whether subject is one a message can be published
// to: not empty, no wildcard, no white space (a server refuses the others
// on its own, after the flush that confirms them).
func publishable(subject string) bool {
	return strings.TrimSpace(subject) != "" && !strings.ContainsAny(subject, "*> \t\r\n")
}

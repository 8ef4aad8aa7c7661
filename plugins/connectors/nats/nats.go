// Package nats is the nats-source and nats-sink connectors, on core NATS
// or JetStream (jetstreamEnabled), with github.com/nats-io/nats.go, as the
// Apache Camel Kamelets of the same names.
//
//   - connection.go: the settings both kinds share (servers, credentials,
//     TLS) and the connection: nats.go's own reconnect, forever, with
//     doubling waits up to 2 s; the first connect is bounded and its
//     failure is one line naming the kind, the addresses and the cause.
//   - headers.go: Camel's NATS header names and how NATS headers map onto
//     event headers and back.
//   - source.go: core NATS subscriptions (at most once: an ack has nothing
//     to tell the server) and JetStream durable pull consumers (each
//     message acked when its event is done, Nak'd when it failed).
//   - sink.go: core publishes confirmed by a flush (the server has read
//     them), JetStream publishes confirmed by each PubAck.
package nats

import "github.com/rayvens/rayvens/plugins/sdk"

// SourceKind declares nats-source.
var SourceKind = sdk.SourceKind{
	Name:        "nats-source",
	Kamelet:     "nats-source",
	Description: "Receive data from NATS topics. With jetstreamEnabled, the messages come from a JetStream durable consumer and each one is acknowledged only when its event is done.",
	Events:      "the payload of each message, with its subject and NATS headers as event headers",
	Params: append([]sdk.Param{
		{Name: "topic", Type: sdk.String, Required: true, Description: `The NATS subject to subscribe to; wildcards ("orders.*", "orders.>") are allowed.`},
		{Name: "servers", Type: sdk.String, Required: true, Secret: true, Description: `A comma-separated list of NATS servers, such as "nats://127.0.0.1:4222"; credentials in a URL ("nats://user:password@host:4222") are never shown.`},
		{Name: "jetstreamEnabled", Type: sdk.Boolean, Default: false, Description: "Whether to consume from JetStream through a durable consumer, acknowledging each message once its event is done, instead of a core NATS subscription (at most once)."},
		{Name: "jetstreamName", Type: sdk.String, Description: "The name of the JetStream stream to consume from; it is created, holding the topic, if it does not exist. Without it, the stream is the one that holds the topic."},
		{Name: "jetstreamAsync", Type: sdk.Boolean, Default: true, Description: "Accepted for the Kamelet's sake: the source always pulls messages ahead of the stream, within the consumer's limit of unacknowledged messages."},
		{Name: "durableName", Type: sdk.String, Description: `The name of the JetStream durable consumer, which keeps the position across restarts; the default is "rayvens-" followed by the topic, with its dots and wildcards replaced by "_".`},
		{Name: "queueName", Type: sdk.String, Description: "The core NATS queue group to join, so that the instances sharing it each get a part of the messages."},
		{Name: "ackWait", Type: sdk.Integer, Default: 30000, Description: "Milliseconds JetStream waits for an acknowledgement before it delivers a message again; the source tells JetStream that the messages still in the pipeline are in progress, so this matters only when the source has stopped."},
	}, connectionParams...),
	New: newSource,
}

// SinkKind declares nats-sink.
var SinkKind = sdk.SinkKind{
	Name:        "nats-sink",
	Kamelet:     "nats-sink",
	Description: "Send data to NATS topics. A batch is acknowledged once the server has read it (core NATS) or once JetStream has stored every message of it (jetstreamEnabled).",
	Events:      "each event is the payload of one message, published to the topic or to the event's CamelNatsOverrideSubject header; other event headers become NATS headers",
	Params: append([]sdk.Param{
		{Name: "topic", Type: sdk.String, Required: true, Description: "The NATS subject to publish to, unless an event's CamelNatsOverrideSubject header names another."},
		{Name: "servers", Type: sdk.String, Required: true, Secret: true, Description: `A comma-separated list of NATS servers, such as "nats://127.0.0.1:4222"; credentials in a URL ("nats://user:password@host:4222") are never shown.`},
		{Name: "jetstreamEnabled", Type: sdk.Boolean, Default: false, Description: "Whether to publish to JetStream, a batch being acknowledged when JetStream has stored each of its messages, instead of core NATS."},
		{Name: "jetstreamName", Type: sdk.String, Description: "The name of the JetStream stream to publish to; it is created, holding the topic, if it does not exist, and a message that would land in another stream is refused."},
		{Name: "jetstreamAsync", Type: sdk.Boolean, Default: true, Description: "Whether to publish a batch's messages to JetStream all at once and then wait for their acknowledgements, rather than one after the other."},
	}, connectionParams...),
	New: newSink,
}

package kafka

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The event headers, with Apache Camel's names (KafkaConstants). A source
// sets the descriptive ones; a sink reads the key, the partition key and
// the override topic, so that a pass-through (kafka-source straight into
// kafka-sink) keeps each record's key and never loops back to the topic
// named by kafka.TOPIC.
const (
	headerTopic         = "kafka.TOPIC"
	headerPartition     = "kafka.PARTITION"
	headerOffset        = "kafka.OFFSET"
	headerKey           = "kafka.KEY"
	headerTimestamp     = "kafka.TIMESTAMP"
	headerPartitionKey  = "kafka.PARTITION_KEY"
	headerOverrideTopic = "kafka.OVERRIDE_TOPIC"

	// headerKeyEncoding is Rayvens' own: "base64" when kafka.KEY holds a
	// key that is not UTF-8 text, base64-encoded (the wire carries text).
	headerKeyEncoding = "kafka.KEY_ENCODING"
	// headerBase64Headers is Rayvens' own: the names, comma separated, of
	// the record headers whose values were base64-encoded, not being text.
	headerBase64Headers = "kafka.BASE64_HEADERS"
)

// eventHeaders are the headers of the event a record becomes: the record's
// own headers by name, then the kafka.* ones. A header value that is not
// UTF-8, or every one when raw is set (deserializeHeaders=false), is
// base64-encoded and named in kafka.BASE64_HEADERS; a header whose name is
// not UTF-8 cannot travel and is left out (skipped counts them).
func eventHeaders(r *kgo.Record, raw bool) (h map[string]string, skipped int) {
	h = make(map[string]string, len(r.Headers)+6)
	var encoded []string
	for _, rh := range r.Headers {
		if !utf8.ValidString(rh.Key) || strings.HasPrefix(rh.Key, "kafka.") {
			skipped++
			continue
		}
		if raw || !utf8.Valid(rh.Value) {
			h[rh.Key] = base64.StdEncoding.EncodeToString(rh.Value)
			encoded = append(encoded, rh.Key)
			continue
		}
		h[rh.Key] = string(rh.Value)
	}
	if len(encoded) > 0 {
		h[headerBase64Headers] = strings.Join(encoded, ",")
	}
	h[headerTopic] = r.Topic
	h[headerPartition] = strconv.FormatInt(int64(r.Partition), 10)
	h[headerOffset] = strconv.FormatInt(r.Offset, 10)
	h[headerTimestamp] = strconv.FormatInt(r.Timestamp.UnixMilli(), 10)
	if r.Key != nil {
		if utf8.Valid(r.Key) {
			h[headerKey] = string(r.Key)
		} else {
			h[headerKey] = base64.StdEncoding.EncodeToString(r.Key)
			h[headerKeyEncoding] = "base64"
		}
	}
	return h, skipped
}

// recordHeaders are the record headers an event's headers become: all but
// Camel's (Camel...) and Kafka's own (kafka.*), sorted by name so that a
// record is the same whichever order the map gives.
func recordHeaders(h map[string]string) []kgo.RecordHeader {
	var out []kgo.RecordHeader
	for k, v := range h {
		if strings.HasPrefix(k, "kafka.") || strings.HasPrefix(k, "Camel") {
			continue
		}
		out = append(out, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	slices.SortFunc(out, func(a, b kgo.RecordHeader) int { return strings.Compare(a.Key, b.Key) })
	return out
}

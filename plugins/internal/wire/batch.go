package wire

import (
	"errors"
	"slices"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	encproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	protobuf "google.golang.org/protobuf/proto"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/proto"
)

// The batches of events are the protocol's hot path: every event crosses
// the wire in one. Decoded by the generated code, each event costs a
// proto.Event message, a string and a slice, and encoding it costs one
// more message; Codec reads and writes the same bytes straight from and to
// camel.Event values instead. The bytes are exactly connector.proto's, so
// a plugin or host that uses gRPC's own codec understands them.

// Batch is a connector.proto Batch as the two sides hold it: its events
// by value.
type Batch struct {
	Seq    uint64
	Events []camel.Event
	Retry  bool
}

// SourceBatch is a SourceResponse: a batch a source plugin sends or,
// decoded, the progress report it sent instead (Progress is then set).
// A progress report is rare and small: it is encoded by protobuf, as a
// proto.SourceResponse.
type SourceBatch struct {
	Batch
	Progress *proto.Progress
}

// SinkBatch is a SinkRequest that holds a batch: what the host sends a
// sink plugin after the Open. Decoded, IsBatch reports whether the
// request held a batch (a request may hold an Open instead).
type SinkBatch struct {
	Batch
	IsBatch bool
}

// Field numbers of connector.proto, where the batches are.
const (
	sourceResponseBatch    = 1
	sourceResponseProgress = 2
	sinkRequestOpen        = 1
	sinkRequestBatch       = 2
	batchSeq               = 1
	batchEvents            = 2
	batchRetry             = 3
	eventBody              = 1
	eventContentType       = 2
	eventHeaders           = 3
	mapKey                 = 1
	mapValue               = 2
)

// The errors of a message that cannot be decoded, in the words of
// protobuf's own decoder, so that a plugin's mistake reads the same
// whichever codec met it.
var (
	errDecode  = errors.New("cannot parse invalid wire-format data")
	errBadUTF8 = errors.New("string field contains invalid UTF-8")
)

// Codec is the gRPC codec of connector instances' streams: it encodes and
// decodes *SourceBatch and *SinkBatch itself, and any other message as
// gRPC's proto codec does. Its name is that codec's, so nothing changes on
// the wire. The host forces it on its Source and Sink calls
// (grpc.ForceCodecV2), the SDK on its server (ServerOptions).
type Codec struct{}

var protoCodec = encoding.GetCodecV2(encproto.Name)

// Name is "proto", the name of gRPC's proto codec.
func (Codec) Name() string { return encproto.Name }

// Marshal encodes v.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	var field protowire.Number
	var b *Batch
	switch m := v.(type) {
	case *SourceBatch:
		if m.Progress != nil {
			return protoCodec.Marshal(&proto.SourceResponse{Msg: &proto.SourceResponse_Progress{Progress: m.Progress}})
		}
		field, b = sourceResponseBatch, &m.Batch
	case *SinkBatch:
		field, b = sinkRequestBatch, &m.Batch
	default:
		return protoCodec.Marshal(v)
	}
	inner := b.size()
	size := protowire.SizeTag(field) + protowire.SizeBytes(inner)
	buf := buffers.Get(size)
	out := protowire.AppendTag((*buf)[:0], field, protowire.BytesType)
	out = protowire.AppendVarint(out, uint64(inner))
	*buf = b.appendTo(out)
	return mem.BufferSlice{mem.NewBuffer(buf, &buffers)}, nil
}

// Unmarshal decodes data into v. The events' bodies, strings and headers
// are copies: gRPC reuses data.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *SourceBatch:
		return decodeMessage(data, func(b []byte) error { return m.decode(b) })
	case *SinkBatch:
		return decodeMessage(data, func(b []byte) error { return m.decode(b) })
	}
	return protoCodec.Unmarshal(data, v)
}

func decodeMessage(data mem.BufferSlice, decode func([]byte) error) error {
	buf := data.MaterializeToBuffer(&buffers)
	defer buf.Free()
	return decode(buf.ReadOnlyData())
}

// EventSize is how many bytes ev takes in a batch, which is cut at
// MaxBatchBytes.
func EventSize(ev camel.Event) int {
	n := eventSize(ev)
	return protowire.SizeTag(batchEvents) + protowire.SizeBytes(n)
}

func (b *Batch) size() int {
	n := 0
	if b.Seq != 0 {
		n += protowire.SizeTag(batchSeq) + protowire.SizeVarint(b.Seq)
	}
	for _, ev := range b.Events {
		n += EventSize(ev)
	}
	if b.Retry {
		n += protowire.SizeTag(batchRetry) + 1
	}
	return n
}

func (b *Batch) appendTo(out []byte) []byte {
	if b.Seq != 0 {
		out = protowire.AppendTag(out, batchSeq, protowire.VarintType)
		out = protowire.AppendVarint(out, b.Seq)
	}
	for _, ev := range b.Events {
		out = append(out, bytesTag(batchEvents))
		out = protowire.AppendVarint(out, uint64(eventSize(ev)))
		out = appendEvent(out, ev)
	}
	if b.Retry {
		out = protowire.AppendTag(out, batchRetry, protowire.VarintType)
		out = protowire.AppendVarint(out, 1)
	}
	return out
}

// eventSize is the size of ev's message, without its tag and length. As
// protobuf's encoder does, an empty body or content type is left out, and
// a header's entry always holds its name and its value.
func eventSize(ev camel.Event) int {
	n := 0
	if len(ev.Body) > 0 {
		n += protowire.SizeTag(eventBody) + protowire.SizeBytes(len(ev.Body))
	}
	if ev.ContentType != "" {
		n += protowire.SizeTag(eventContentType) + protowire.SizeBytes(len(ev.ContentType))
	}
	if len(ev.Headers) == 0 {
		return n
	}
	for k, v := range ev.Headers {
		n += protowire.SizeTag(eventHeaders) + protowire.SizeBytes(entrySize(k, v))
	}
	return n
}

func entrySize(k, v string) int {
	return protowire.SizeTag(mapKey) + protowire.SizeBytes(len(k)) + protowire.SizeTag(mapValue) + protowire.SizeBytes(len(v))
}

// bytesTag is the tag of a length-delimited field numbered below 16: one
// byte.
func bytesTag(num protowire.Number) byte { return byte(num)<<3 | byte(protowire.BytesType) }

func appendEvent(out []byte, ev camel.Event) []byte {
	if len(ev.Body) > 0 {
		out = append(out, bytesTag(eventBody))
		out = protowire.AppendBytes(out, ev.Body)
	}
	if ev.ContentType != "" {
		out = append(out, bytesTag(eventContentType))
		out = protowire.AppendString(out, ev.ContentType)
	}
	if len(ev.Headers) == 0 {
		return out
	}
	for k, v := range ev.Headers {
		out = protowire.AppendTag(out, eventHeaders, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(entrySize(k, v)))
		out = protowire.AppendTag(out, mapKey, protowire.BytesType)
		out = protowire.AppendString(out, k)
		out = protowire.AppendTag(out, mapValue, protowire.BytesType)
		out = protowire.AppendString(out, v)
	}
	return out
}

// The decoders follow protobuf's rules: a field seen again replaces a
// scalar and merges into a message; a field of an unknown number, or of a
// known one with another wire type, is skipped; strings must be UTF-8.

func (m *SourceBatch) decode(data []byte) error {
	m.Batch, m.Progress = Batch{}, nil
	var d decoder
	for len(data) > 0 {
		num, typ, v, n := field(data)
		if n < 0 {
			return errDecode
		}
		data = data[n:]
		switch {
		case typ != protowire.BytesType:
		case num == sourceResponseBatch:
			m.Progress = nil // the oneof's other member
			if err := d.batch(v, &m.Batch); err != nil {
				return err
			}
		case num == sourceResponseProgress:
			m.Batch = Batch{}
			if m.Progress == nil {
				m.Progress = new(proto.Progress)
			}
			if err := (protobuf.UnmarshalOptions{Merge: true}).Unmarshal(v, m.Progress); err != nil { // merges, as protobuf does
				return err
			}
		}
	}
	return nil
}

func (m *SinkBatch) decode(data []byte) error {
	m.Batch, m.IsBatch = Batch{}, false
	// A sink's batch is written and dropped: its bodies share one array.
	d := decoder{arena: make([]byte, 0, len(data))}
	for len(data) > 0 {
		num, typ, v, n := field(data)
		if n < 0 {
			return errDecode
		}
		data = data[n:]
		switch {
		case typ != protowire.BytesType:
		case num == sinkRequestOpen: // the oneof's other member replaces the batch
			m.Batch, m.IsBatch = Batch{}, false
			// Rare (a host's mistake): checked as protobuf would.
			if err := protobuf.Unmarshal(v, new(proto.Open)); err != nil {
				return err
			}
		case num == sinkRequestBatch:
			m.IsBatch = true
			if err := d.batch(v, &m.Batch); err != nil {
				return err
			}
		}
	}
	return nil
}

// decoder decodes the batches of one message. It keeps the last content
// type it made, so that a batch of events of one content type holds one
// string. With an arena (room for every body of the message), the bodies
// are cut from it rather than allocated one by one.
type decoder struct {
	contentType string
	arena       []byte
}

func (d *decoder) batch(data []byte, b *Batch) error {
	b.Events = slices.Grow(b.Events, countEvents(data))
	for len(data) > 0 {
		num, typ, v, n := field(data)
		if n < 0 {
			return errDecode
		}
		data = data[n:]
		switch {
		case num == batchSeq && typ == protowire.VarintType:
			b.Seq, _ = protowire.ConsumeVarint(v)
		case num == batchRetry && typ == protowire.VarintType:
			x, _ := protowire.ConsumeVarint(v)
			b.Retry = protowire.DecodeBool(x)
		case num == batchEvents && typ == protowire.BytesType:
			b.Events = append(b.Events, camel.Event{})
			if err := d.event(v, &b.Events[len(b.Events)-1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// countEvents counts the events of a batch, or returns 0 if it cannot.
func countEvents(data []byte) int {
	count := 0
	for len(data) > 0 {
		num, typ, _, n := field(data)
		if n < 0 {
			return 0
		}
		data = data[n:]
		if num == batchEvents && typ == protowire.BytesType {
			count++
		}
	}
	return count
}

func (d *decoder) event(data []byte, ev *camel.Event) error {
	for len(data) > 0 {
		num, typ, v, n := field(data)
		if n < 0 {
			return errDecode
		}
		data = data[n:]
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case eventBody:
			ev.Body = d.body(v)
		case eventContentType:
			if !utf8.Valid(v) {
				return errBadUTF8
			}
			if string(v) != d.contentType {
				d.contentType = string(v)
			}
			ev.ContentType = d.contentType
		case eventHeaders:
			k, val, err := entry(v)
			if err != nil {
				return err
			}
			if ev.Headers == nil {
				ev.Headers = map[string]string{}
			}
			ev.Headers[k] = val
		}
	}
	return nil
}

// body returns a copy of v, nil when it is empty (as protobuf's).
func (d *decoder) body(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	if d.arena == nil {
		b := make([]byte, len(v))
		copy(b, v)
		return b
	}
	start := len(d.arena)
	d.arena = append(d.arena, v...)
	return d.arena[start:len(d.arena):len(d.arena)] // an append to it copies
}

// entry decodes a map<string, string> entry; a missing name or value is
// empty.
func entry(data []byte) (k, v string, err error) {
	for len(data) > 0 {
		num, typ, b, n := field(data)
		if n < 0 {
			return "", "", errDecode
		}
		data = data[n:]
		if typ != protowire.BytesType || (num != mapKey && num != mapValue) {
			continue
		}
		if !utf8.Valid(b) {
			return "", "", errBadUTF8
		}
		if num == mapKey {
			k = string(b)
		} else {
			v = string(b)
		}
	}
	return k, v, nil
}

// field reads the field data starts with: its number, its wire type, its
// value (a varint's bytes, or a length-delimited field's contents; nil for
// the other types) and its length in all, which is negative when data does
// not start with a valid field.
func field(data []byte) (num protowire.Number, typ protowire.Type, v []byte, n int) {
	// The fields of a batch's events are mostly short: a tag of one byte
	// and a length of one byte.
	if len(data) >= 2 && data[0] < 0x80 && data[0]&7 == byte(protowire.BytesType) && data[0] >= 1<<3 && data[1] < 0x80 {
		if end := 2 + int(data[1]); end <= len(data) {
			return protowire.Number(data[0] >> 3), protowire.BytesType, data[2:end], end
		}
	}
	num, typ, tag := protowire.ConsumeTag(data)
	if tag < 0 || num > protowire.MaxValidNumber {
		return 0, 0, nil, -1
	}
	data = data[tag:]
	switch typ {
	case protowire.VarintType:
		_, n = protowire.ConsumeVarint(data)
		if n >= 0 {
			v = data[:n]
		}
	case protowire.BytesType:
		v, n = protowire.ConsumeBytes(data)
	default:
		n = protowire.ConsumeFieldValue(num, typ, data)
	}
	if n < 0 {
		return 0, 0, nil, -1
	}
	return num, typ, v, tag + n
}

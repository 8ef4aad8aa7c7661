package wire

import "github.com/rayvens/rayvens/plugins/proto"

// SinkOutcome is what a sink plugin's Ack says of the events of its batch,
// in order: the first Written were written; the next Failed (0 or 1, or
// the whole batch) failed for good, with the ack's error; the rest were
// not written and are to be sent again. The host acts on it, the SDK
// waits for a retry when Rest is not 0, and sdktest shows it to a
// connector's tests, so that all three read an ack the same way.
type SinkOutcome struct {
	Written, Failed, Rest int
}

// ReadSinkAck reads ack as the answer to a batch of n events. An ack that
// names an event beyond the batch is read as being about the whole batch.
func ReadSinkAck(ack *proto.Ack, n int) SinkOutcome {
	switch {
	case ack.GetError() == "" && !ack.GetSkipped():
		return SinkOutcome{Written: n}
	case ack.GetSkipped():
		return SinkOutcome{Rest: n}
	case ack.GetPartial() && int(ack.GetWritten()) < n:
		w := int(ack.GetWritten())
		if ack.GetPermanent() {
			return SinkOutcome{Written: w, Failed: 1, Rest: n - w - 1}
		}
		return SinkOutcome{Written: w, Rest: n - w}
	case ack.GetPermanent():
		return SinkOutcome{Failed: n}
	}
	return SinkOutcome{Rest: n}
}

package wire

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/proto"
)

func TestReadSinkAck(t *testing.T) {
	for _, tc := range []struct {
		name string
		ack  *proto.Ack
		want SinkOutcome
	}{
		{"written", &proto.Ack{Seq: 1}, SinkOutcome{Written: 5}},
		{"skipped", &proto.Ack{Seq: 1, Skipped: true, Error: "not written"}, SinkOutcome{Rest: 5}},
		{"not written", &proto.Ack{Seq: 1, Error: "down"}, SinkOutcome{Rest: 5}},
		{"refused", &proto.Ack{Seq: 1, Error: "bad", Permanent: true}, SinkOutcome{Failed: 5}},
		{"partly written", &proto.Ack{Seq: 1, Error: "down", Partial: true, Written: 2}, SinkOutcome{Written: 2, Rest: 3}},
		{"one refused", &proto.Ack{Seq: 1, Error: "bad", Permanent: true, Partial: true, Written: 2}, SinkOutcome{Written: 2, Failed: 1, Rest: 2}},
		{"the last refused", &proto.Ack{Seq: 1, Error: "bad", Permanent: true, Partial: true, Written: 4}, SinkOutcome{Written: 4, Failed: 1}},
		{"beyond the batch", &proto.Ack{Seq: 1, Error: "down", Partial: true, Written: 5}, SinkOutcome{Rest: 5}},
	} {
		require.Equal(t, tc.want, ReadSinkAck(tc.ack, 5), tc.name)
	}
}

package sdk

import (
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
	"github.com/rayvens/rayvens/plugins/sdk/internal/sinkerr"
)

// Sink serves one sink instance: Open, then batches in, each written in
// order and acked before the next is read. A failed write is acked with
// its error, what it wrote (Partial) and whether it is permanent, and the
// host decides what to send again. After a failure that leaves events of
// the batch to be sent again (any but a permanent one about the whole
// batch or its last event), later batches are not written (acked skipped)
// until the host sends batches again marked retry, what was not written
// first: so the events reach the sink in order however often it fails.
func (s *server) Sink(stream proto.Connector_SinkServer) error {
	open, err := receiveOpen(stream.Recv)
	if err != nil {
		return err
	}
	kind := s.sinks[open.GetKind()]
	if kind == nil {
		return status.Errorf(codes.NotFound, "plugin %q has no sink kind %q", s.plugin.Name, open.GetKind())
	}
	sink, log, err := newInstance(s, open, kind.Kind(), kind.New)
	if err != nil {
		return err
	}
	log.Debug("sink opened")
	defer log.Debug("sink ended")
	if c, ok := sink.(io.Closer); ok {
		defer func() {
			if err := guard.Call(log, "Close", c.Close); err != nil {
				log.Warn("closing the sink failed", "error", err)
			}
		}()
	}

	ctx := stream.Context()
	blocked := false // a write failed; waiting for the host's retry
	for {
		var req wire.SinkBatch
		err := stream.RecvMsg(&req)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !req.IsBatch {
			return status.Error(codes.InvalidArgument, "a sink instance takes only batches after its Open")
		}
		batch := req.Batch
		if batch.Retry {
			blocked = false
		}
		var ack *proto.Ack
		if blocked {
			ack = &proto.Ack{Seq: batch.Seq, Skipped: true, Error: "not written: an earlier batch failed and is being sent again"}
		} else {
			events := eventsFromWire(batch.Events)
			err := guard.Call(log, "Write", func() error { return sink.Write(ctx, events) })
			var misnamed bool
			ack, misnamed = sinkerr.Ack(batch.Seq, len(events), err)
			if misnamed {
				n, _ := Written(err)
				log.Error("Write returned Partial for an event beyond its batch; its error is taken to be about the whole batch",
					"written", n, "events", len(events))
			}
			blocked = wire.ReadSinkAck(ack, len(events)).Rest > 0
		}
		if err := stream.Send(&proto.SinkResponse{Ack: ack}); err != nil {
			return err
		}
	}
}

package sdk

import (
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rayvens/rayvens/plugins/proto"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
)

// Sink serves one sink instance: Open, then batches in, each written in
// order and acked before the next is read. A failed write is acked with
// its error and the host decides whether to resend. After a failure that
// is not permanent, later batches are not written (acked skipped) until
// the host sends batches again marked retry, the failed one first: so the
// events reach the sink in order however often it fails.
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
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		batch := req.GetBatch()
		if batch == nil {
			return status.Error(codes.InvalidArgument, "a sink instance takes only batches after its Open")
		}
		ack := &proto.Ack{Seq: batch.GetSeq()}
		if batch.GetRetry() {
			blocked = false
		}
		if blocked {
			ack.Skipped = true
			ack.Error = "not written: an earlier batch failed and is being sent again"
		} else {
			events := eventsFromProto(batch.GetEvents())
			if err := guard.Call(log, "Write", func() error { return sink.Write(ctx, events) }); err != nil {
				ack.Error = err.Error()
				ack.Permanent = IsPermanent(err)
				blocked = !ack.Permanent
			}
		}
		if err := stream.Send(&proto.SinkResponse{Ack: ack}); err != nil {
			return err
		}
	}
}

package sdk

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/proto"
)

// reading returns a source that reads r through TrackRead as "big.bin",
// total bytes long, and emits what it read as one event.
func reading(r io.Reader, total int64) sourceFunc {
	return func(ctx context.Context, emit Emit) error {
		rp := TrackRead(ctx, "big.bin", total, r)
		defer rp.Finish()
		content, err := io.ReadAll(rp)
		if err != nil {
			return err
		}
		return emit(ctx, Event{Body: content, ContentType: "application/octet-stream"})
	}
}

// openReadingSource opens test-source, telling it whether the host takes
// progress reports; the stream ends with the test or after a minute.
func openReadingSource(t *testing.T, client proto.ConnectorClient, progress bool) proto.Connector_SourceClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	stream, err := client.Source(ctx)
	require.NoError(t, err)
	open := &proto.Open{Kind: "test-source", Instance: "files", Config: structOf(t, map[string]any{"label": "x"}), Progress: progress}
	require.NoError(t, stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Open{Open: open}}))
	return stream
}

// TestSourceReportsALongRead: while a read goes on, the host learns how
// far it is; when it ends, that it ended; then the event arrives.
func TestSourceReportsALongRead(t *testing.T) {
	pr, pw := io.Pipe()
	client, _ := serveConnector(t, testPlugin(reading(pr, 3000), nil))
	stream := openReadingSource(t, client, true)

	// until receives reports until one says done bytes were read.
	until := func(done uint64) {
		t.Helper()
		for {
			resp, err := stream.Recv()
			require.NoError(t, err)
			p := resp.GetProgress()
			require.NotNil(t, p, "a read that stalls is reported, and no event comes before it ends: %v", resp)
			require.Equal(t, "big.bin", p.GetItem())
			require.EqualValues(t, 3000, p.GetTotal())
			require.False(t, p.GetFinished())
			require.LessOrEqual(t, p.GetDone(), done)
			if p.GetDone() == done {
				return
			}
		}
	}
	_, err := pw.Write(make([]byte, 1000))
	require.NoError(t, err)
	until(1000)
	_, err = pw.Write(make([]byte, 1500))
	require.NoError(t, err)
	until(2500)

	_, err = pw.Write(make([]byte, 500))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	var resp *proto.SourceResponse
	var p *proto.Progress
	var batch *proto.Batch
	finished := false
	for batch == nil || !finished {
		resp, err = stream.Recv()
		require.NoError(t, err)
		if b := resp.GetBatch(); b != nil {
			batch = b
			continue
		}
		p = resp.GetProgress()
		require.LessOrEqual(t, p.GetDone(), uint64(3000))
		finished = p.GetFinished()
		if finished {
			require.Equal(t, "big.bin", p.GetItem())
		}
	}
	require.Len(t, batch.GetEvents(), 1)
	require.Len(t, batch.GetEvents()[0].GetBody(), 3000)
	ackBatch(t, stream, batch.GetSeq(), "")
	_, err = stream.Recv()
	require.ErrorIs(t, err, io.EOF, "nothing more")
}

// TestSourceReportsNothingToAHostThatDidNotAsk: an older host, which
// knows no Progress message, gets only batches.
func TestSourceReportsNothingToAHostThatDidNotAsk(t *testing.T) {
	pr, pw := io.Pipe()
	client, _ := serveConnector(t, testPlugin(reading(pr, 3000), nil))
	stream := openReadingSource(t, client, false)
	got := make(chan *proto.SourceResponse, 1)
	go func() {
		resp, _ := stream.Recv()
		got <- resp
	}()
	_, err := pw.Write(make([]byte, 1000))
	require.NoError(t, err)
	select {
	case resp := <-got:
		t.Fatalf("a message before the read ended: %v", resp)
	case <-time.After(2 * progressDelay): // would have been reported by now
	}
	_, err = pw.Write(make([]byte, 2000))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	resp := <-got
	require.Len(t, resp.GetBatch().GetEvents(), 1, "%v", resp)
}

// TestSourceReportsNothingOfAShortRead: a read that ends within
// progressDelay is not worth showing.
func TestSourceReportsNothingOfAShortRead(t *testing.T) {
	client, _ := serveConnector(t, testPlugin(reading(bytes.NewReader(make([]byte, 3000)), 3000), nil))
	stream := openReadingSource(t, client, true)
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.Len(t, resp.GetBatch().GetEvents(), 1, "the event, and no report before it: %v", resp)
	ackBatch(t, stream, resp.GetBatch().GetSeq(), "")
	_, err = stream.Recv()
	require.ErrorIs(t, err, io.EOF, "and none after it")
}

// TestTrackReadWithoutAHost: a source's Run called by its own test only
// reads.
func TestTrackReadWithoutAHost(t *testing.T) {
	rp := TrackRead(t.Context(), "x", 0, bytes.NewReader([]byte("abc")))
	defer rp.Finish()
	content, err := io.ReadAll(rp)
	require.NoError(t, err)
	require.Equal(t, "abc", string(content))
	rp.Finish()
}

package s3

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// byKey returns the events by their CamelAwsS3Key header.
func byKey(evs []sdk.Event) map[string]sdk.Event {
	out := map[string]sdk.Event{}
	for _, ev := range evs {
		out[ev.Headers[keyHeader]] = ev
	}
	return out
}

// TestSourceAcksOnlyWhenDone follows three objects: none leaves the
// bucket before its event's Ack(nil); the one acked is deleted, the one
// whose event failed stays and is not emitted again, the one the host
// never took is emitted again.
func TestSourceAcksOnlyWhenDone(t *testing.T) {
	s3 := startS3(t, "inbox")
	s3.put(t, "inbox", "a.txt", "alpha")
	s3.put(t, "inbox", "b.txt", "beta")
	s3.put(t, "inbox", "dir/c.txt", "gamma")

	src := sdktest.NewSource(t, SourceKind, s3.awsSource("inbox", nil))
	c := sdktest.Collector{Hold: true}
	sdktest.Run(t, src, c.Emit)
	evs := byKey(c.Wait(t, 3))

	a := evs["a.txt"]
	require.Equal(t, "alpha", string(a.Body))
	require.Equal(t, "text/plain", a.ContentType)
	require.Equal(t, "inbox", a.Headers[bucketHeader])
	require.Equal(t, "text/plain", a.Headers[contentTypeHeader])
	require.NotEmpty(t, a.Headers[etagHeader])
	require.Equal(t, "gamma", string(evs["dir/c.txt"].Body))

	s3.waitListings(t, 2)() // two more polls: nothing acked, nothing emitted twice
	require.Equal(t, []string{"a.txt", "b.txt", "dir/c.txt"}, s3.keys(t, "inbox"))
	require.Equal(t, 3, c.Len())

	a.Ack(nil)
	require.Eventually(t, func() bool { return !slices.Contains(s3.keys(t, "inbox"), "a.txt") }, sdktest.Timeout, 5*time.Millisecond)
	evs["b.txt"].Ack(&sdk.FailedError{Reason: "the subscriber failed"})
	evs["dir/c.txt"].Ack(errors.New("the instance closed first"))

	again := c.Wait(t, 4)[3]
	require.Equal(t, "dir/c.txt", again.Headers[keyHeader])
	again.Ack(nil)
	require.Eventually(t, func() bool { return slices.Equal(s3.keys(t, "inbox"), []string{"b.txt"}) }, sdktest.Timeout, 5*time.Millisecond)
	s3.waitListings(t, 2)()
	require.Equal(t, 4, c.Len(), "the object whose event failed is not emitted again in this run")

	s3.put(t, "inbox", "b.txt", "beta, corrected") // a new version is a new object
	require.Equal(t, "beta, corrected", string(c.Wait(t, 5)[4].Body))
}

// TestSourceCrashAndRestart abandons a source with events emitted and not
// acked, as a plugin that dies does: a new instance emits them again.
func TestSourceCrashAndRestart(t *testing.T) {
	s3 := startS3(t, "inbox")
	for i := range 5 {
		s3.put(t, "inbox", fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
	}
	first := sdktest.NewSource(t, SourceKind, s3.awsSource("inbox", nil))
	c1 := sdktest.Collector{Hold: true}
	r := sdktest.Run(t, first, c1.Emit)
	evs := c1.Wait(t, 5)
	evs[0].Ack(nil)
	evs[1].Ack(nil)
	require.Eventually(t, func() bool { return len(s3.keys(t, "inbox")) == 3 }, sdktest.Timeout, 5*time.Millisecond)
	require.NoError(t, r.Stop()) // dies: the other three are never acked

	second := sdktest.NewSource(t, SourceKind, s3.awsSource("inbox", nil), sdktest.Reopened(5))
	var c2 sdktest.Collector // accepts each event
	sdktest.Run(t, second, c2.Emit)
	require.ElementsMatch(t, []string{"v2", "v3", "v4"}, bodies(c2.Wait(t, 3)))
	require.Eventually(t, func() bool { return len(s3.keys(t, "inbox")) == 0 }, sdktest.Timeout, 5*time.Millisecond)
	require.Equal(t, 3, c2.Len())
}

// TestSourceReconnects stops the peer mid-run: the source logs one line
// naming the kind, the endpoint and the cause, polls again with backoff,
// and once the peer is back emits what came meanwhile; nothing is lost.
func TestSourceReconnects(t *testing.T) {
	s3 := startS3(t, "inbox")
	s3.put(t, "inbox", "before", "1")
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, s3.awsSource("inbox", nil), sdktest.LogTo(&log))
	src.(*source).firstWait, src.(*source).maxWait = 10*time.Millisecond, 50*time.Millisecond
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	c.Wait(t, 1)
	require.Eventually(t, func() bool { return len(s3.keys(t, "inbox")) == 0 }, sdktest.Timeout, 5*time.Millisecond)

	s3.stop()
	s3.put(t, "inbox", "during-1", "2")
	s3.put(t, "inbox", "during-2", "3")
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "cannot poll the bucket") }, sdktest.Timeout, 5*time.Millisecond)
	require.Contains(t, log.String(), "aws-s3-source: cannot reach "+s3.addr+": dial tcp "+s3.addr+": connect: connection refused")

	s3.restart(t)
	require.ElementsMatch(t, []string{"1", "2", "3"}, bodies(c.Wait(t, 3)))
	require.Eventually(t, func() bool { return len(s3.keys(t, "inbox")) == 0 }, sdktest.Timeout, 5*time.Millisecond)
	require.Contains(t, log.String(), "the bucket can be polled again")
}

func TestSourceMovesAfterRead(t *testing.T) {
	s3 := startS3(t, "inbox", "done-box")
	s3.put(t, "inbox", "a", "alpha")
	src := sdktest.NewSource(t, SourceKind, s3.awsSource("inbox", map[string]any{
		"moveAfterRead": true, "destinationBucket": "done-box", "destinationBucketPrefix": "read/", "destinationBucketSuffix": ".old",
	}))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	c.Wait(t, 1)
	require.Eventually(t, func() bool { return len(s3.keys(t, "inbox")) == 0 }, sdktest.Timeout, 5*time.Millisecond)
	require.Equal(t, map[string]string{"read/a.old": "alpha"}, s3.objects(t, "done-box"))
}

// TestSourceWithinOneBucket moves into a prefix of the same bucket, which
// the source then does not read.
func TestSourceWithinOneBucket(t *testing.T) {
	s3 := startS3(t, "inbox")
	s3.put(t, "inbox", "a", "alpha")
	src := sdktest.NewSource(t, SourceKind, s3.awsSource("inbox", map[string]any{
		"moveAfterRead": true, "destinationBucket": "inbox", "destinationBucketPrefix": "done/",
	}))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	c.Wait(t, 1)
	require.Eventually(t, func() bool { return slices.Equal(s3.keys(t, "inbox"), []string{"done/a"}) }, sdktest.Timeout, 5*time.Millisecond)
	s3.waitListings(t, 2)()
	require.Equal(t, 1, c.Len())
}

// TestSourceKeepsObjects reads objects without deleting them: each is
// emitted once, and again only when it changes.
func TestSourceKeepsObjects(t *testing.T) {
	s3 := startS3(t, "inbox")
	s3.put(t, "inbox", "a", "v1")
	src := sdktest.NewSource(t, SourceKind, s3.awsSource("inbox", map[string]any{"deleteAfterRead": false, "prefix": "a"}))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	c.Wait(t, 1)
	s3.put(t, "inbox", "b", "not under the prefix")
	s3.waitListings(t, 2)()
	require.Equal(t, 1, c.Len())
	s3.put(t, "inbox", "a", "v2")
	require.Equal(t, []string{"v1", "v2"}, bodies(c.Wait(t, 2)))
	require.Equal(t, []string{"a", "b"}, s3.keys(t, "inbox"))
}

// TestSourceMaxMessagesPerPoll reads more objects than one poll takes:
// all come, each once.
func TestSourceMaxMessagesPerPoll(t *testing.T) {
	s3 := startS3(t, "inbox")
	var want []string
	for i := range 25 {
		s3.put(t, "inbox", fmt.Sprintf("k%02d", i), fmt.Sprint(i))
		want = append(want, fmt.Sprint(i))
	}
	src := sdktest.NewSource(t, SourceKind, s3.awsSource("inbox", map[string]any{"maxMessagesPerPoll": 10, "ignoreBody": true}))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	evs := c.Wait(t, 25)
	require.Empty(t, evs[0].Body, "ignoreBody")
	require.Equal(t, "text/plain", evs[0].Headers[contentTypeHeader])
	require.Eventually(t, func() bool { return len(s3.keys(t, "inbox")) == 0 }, sdktest.Timeout, 5*time.Millisecond)
	require.Equal(t, 25, c.Len())
}

func TestSourceAutoCreatesTheBucket(t *testing.T) {
	s3 := startS3(t)
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, s3.awsSource("missing", nil), sdktest.LogTo(&log))
	src.(*source).firstWait = 10 * time.Millisecond
	sdktest.Run(t, src, new(sdktest.Collector).Emit)
	require.Eventually(t, func() bool {
		return strings.Contains(log.String(), "aws-s3-source: the bucket \\\"missing\\\" does not exist at "+s3.addr+" (set autoCreateBucket to create it)")
	},
		sdktest.Timeout, 5*time.Millisecond, "%s", &log)

	src = sdktest.NewSource(t, SourceKind, s3.awsSource("made-box", map[string]any{"autoCreateBucket": true, "bucketNameOrArn": "arn:aws:s3:::made-box"}))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	require.Eventually(t, func() bool { ok, _ := s3.backend.BucketExists("made-box"); return ok }, sdktest.Timeout, 5*time.Millisecond)
	s3.put(t, "made-box", "a", "alpha")
	require.Equal(t, "alpha", string(c.Wait(t, 1)[0].Body))
}

// TestCOSSource reads as the Python Rayvens' cloud-object-storage-source:
// JSON events, moved to move_after_read; meta_event_only sends keys and
// leaves the objects.
func TestCOSSource(t *testing.T) {
	s3 := startS3(t, "inbox", "done-box", "meta-box")
	s3.put(t, "inbox", "report.txt", "hello")
	src := sdktest.NewSource(t, COSSourceKind, s3.cosConfig("inbox", map[string]any{"move_after_read": "done-box"}))
	src.(*source).delay = 20 * time.Millisecond
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	ev := c.Wait(t, 1)[0]
	require.Equal(t, "application/json", ev.ContentType)
	var got map[string]string
	require.NoError(t, json.Unmarshal(ev.Body, &got))
	require.Equal(t, map[string]string{"filename": "report.txt", "body": "hello"}, got)
	require.Equal(t, "report.txt", ev.Headers[keyHeader])
	require.Eventually(t, func() bool { return len(s3.keys(t, "inbox")) == 0 }, sdktest.Timeout, 5*time.Millisecond)
	require.Equal(t, []string{"report.txt"}, s3.keys(t, "done-box"))

	s3.put(t, "meta-box", "big.csv", "1,2,3")
	src = sdktest.NewSource(t, COSSourceKind, s3.cosConfig("meta-box", map[string]any{"meta_event_only": true}))
	src.(*source).delay = 20 * time.Millisecond
	var m sdktest.Collector
	sdktest.Run(t, src, m.Emit)
	require.Equal(t, "big.csv", string(m.Wait(t, 1)[0].Body))
	s3.waitListings(t, 2)()
	require.Equal(t, 1, m.Len())
	require.Equal(t, []string{"big.csv"}, s3.keys(t, "meta-box"))
}

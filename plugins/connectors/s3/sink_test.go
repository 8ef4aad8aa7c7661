package s3

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func event(body string, headers map[string]string) sdk.Event {
	return sdk.Event{Body: []byte(body), ContentType: "text/plain", Headers: headers}
}

// TestSinkPutsObjects writes under the key header, else keyName, else a
// generated name, with the content type of the header, else the event's.
func TestSinkPutsObjects(t *testing.T) {
	s3 := startS3(t, "outbox")
	sink := sdktest.NewSink(t, SinkKind, s3.awsConfig("outbox", map[string]any{"keyName": "default.txt"}))
	require.NoError(t, sdktest.Write(t, sink,
		event("one", map[string]string{keyHeader: "a/one.json", contentTypeHeader: "application/json"}),
		event("two", nil),
	))
	require.Equal(t, map[string]string{"a/one.json": "one", "default.txt": "two"}, s3.objects(t, "outbox"))
	require.Equal(t, "application/json", s3.contentType(t, "outbox", "a/one.json"))
	require.Equal(t, "text/plain", s3.contentType(t, "outbox", "default.txt"))

	generated := sdktest.NewSink(t, SinkKind, s3.awsConfig("outbox", nil))
	require.NoError(t, sdktest.Write(t, generated, event("x", nil), event("y", nil)))
	var names []string
	for _, k := range s3.keys(t, "outbox") {
		if strings.HasPrefix(k, "rayvens-") {
			names = append(names, k)
		}
	}
	require.Len(t, names, 2, "two generated names: %v", s3.keys(t, "outbox"))
}

// TestSourceToSink passes aws-s3-source's events straight to aws-s3-sink:
// each object is copied under its key, with its content type.
func TestSourceToSink(t *testing.T) {
	s3 := startS3(t, "inbox", "outbox")
	s3.put(t, "inbox", "k/a.txt", "alpha")
	src := sdktest.NewSource(t, SourceKind, s3.awsConfig("inbox", nil))
	c := sdktest.Collector{Hold: true}
	sdktest.Run(t, src, c.Emit)
	ev := c.Wait(t, 1)[0]
	sink := sdktest.NewSink(t, SinkKind, s3.awsConfig("outbox", nil))
	require.NoError(t, sdktest.Write(t, sink, ev))
	ev.Ack(nil)
	require.Equal(t, map[string]string{"k/a.txt": "alpha"}, s3.objects(t, "outbox"))
	require.Equal(t, "text/plain", s3.contentType(t, "outbox", "k/a.txt"))
	require.Eventually(t, func() bool { return len(s3.keys(t, "inbox")) == 0 }, sdktest.Timeout, 5*time.Millisecond)
}

// TestSinkPeerRestart stops the store between writes: a write it did not
// confirm is an error that names the kind, the endpoint and the cause, and
// is not acknowledged; once the store is back the host's resend writes
// it, and what was acknowledged before is still there.
func TestSinkPeerRestart(t *testing.T) {
	s3 := startS3(t, "outbox")
	sink := sdktest.NewSink(t, SinkKind, s3.awsConfig("outbox", nil))
	require.NoError(t, sdktest.Write(t, sink, event("before", map[string]string{keyHeader: "before"})))

	s3.stop()
	batch := []sdk.Event{event("during-1", map[string]string{keyHeader: "during-1"}), event("during-2", map[string]string{keyHeader: "during-2"})}
	err := sdktest.Write(t, sink, batch...)
	// The cause is the refused dial, or the pooled connection the
	// server closed.
	require.ErrorContains(t, err, "aws-s3-sink: cannot reach "+s3.addr+": ")
	require.NotContains(t, err.Error(), "\n")
	require.False(t, sdk.IsPermanent(err))
	require.Equal(t, []sdktest.Outcome{"sent again", "sent again"}, sdktest.Outcomes(2, err))

	s3.restart(t)
	require.NoError(t, sdktest.Write(t, sink, batch...))
	require.Equal(t, map[string]string{"before": "before", "during-1": "during-1", "during-2": "during-2"}, s3.objects(t, "outbox"))
}

// TestSinkRefusals: a missing bucket fails the events at once, with the
// store's reason; autoCreateBucket creates it.
func TestSinkRefusals(t *testing.T) {
	s3 := startS3(t)
	sink := sdktest.NewSink(t, SinkKind, s3.awsConfig("nowhere", nil))
	err := sdktest.Write(t, sink, event("a", nil))
	require.True(t, sdk.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "aws-s3-sink: "+s3.addr+" answered 404 NoSuchBucket")
	require.Equal(t, []sdktest.Outcome{"failed"}, sdktest.Outcomes(1, err))

	made := sdktest.NewSink(t, SinkKind, s3.awsConfig("made-box", map[string]any{"autoCreateBucket": true}))
	require.NoError(t, sdktest.Write(t, made, event("a", map[string]string{keyHeader: "a"})))
	require.Equal(t, map[string]string{"a": "a"}, s3.objects(t, "made-box"))
}

// TestCOSSink writes as the Python Rayvens' cloud-object-storage-sink:
// bodies under file_name; with upload_type=multi-part, events are paths
// of local files, uploaded in parts; one that cannot be read fails alone.
func TestCOSSink(t *testing.T) {
	s3 := startS3(t, "outbox")
	sink := sdktest.NewSink(t, COSSinkKind, s3.cosConfig("outbox", map[string]any{"file_name": "latest.txt"}))
	require.NoError(t, sdktest.Write(t, sink, event("v1", nil), event("v2", nil)))
	require.Equal(t, map[string]string{"latest.txt": "v2"}, s3.objects(t, "outbox"))

	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), (6<<20)/16) // 6 MiB: two parts of 5 MiB
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "small.csv"), []byte("1,2"), 0o644))
	multi := sdktest.NewSink(t, COSSinkKind, s3.cosConfig("outbox", map[string]any{"upload_type": "multi-part", "part_size": 5 << 20}))
	err := sdktest.Write(t, multi,
		event(filepath.Join(dir, "big.bin"), nil),
		event(filepath.Join(dir, "missing.txt"), nil),
		event(filepath.Join(dir, "small.csv"), map[string]string{keyHeader: "renamed.csv"}),
	)
	require.Equal(t, []sdktest.Outcome{"written", "failed", "sent again"}, sdktest.Outcomes(3, err))
	require.ErrorContains(t, err, `cloud-object-storage-sink: cannot read the file "`+filepath.Join(dir, "missing.txt")+`" to upload: no such file or directory`)
	require.NoError(t, sdktest.Write(t, multi, event(filepath.Join(dir, "small.csv"), map[string]string{keyHeader: "renamed.csv"})))
	objects := s3.objects(t, "outbox")
	require.Len(t, objects["big.bin"], len(big))
	require.True(t, objects["big.bin"] == string(big), "big.bin is uploaded whole")
	require.Equal(t, "1,2", objects["renamed.csv"])
	require.Equal(t, "text/csv; charset=utf-8", s3.contentType(t, "outbox", "renamed.csv"))
	require.FileExists(t, filepath.Join(dir, "small.csv"), "an event's file is the script's to delete")
}

// TestCOSSinkFromDirectory uploads the files that appear in a directory,
// deletes each once uploaded, and keeps them with keep_file.
func TestCOSSinkFromDirectory(t *testing.T) {
	s3 := startS3(t, "outbox", "kept-box")
	dir := t.TempDir()
	sdktest.NewSink(t, COSSinkKind, s3.cosConfig("outbox", map[string]any{"from_directory": dir}))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".hidden"), []byte("not me"), 0o644))
	require.Eventually(t, func() bool { return len(s3.keys(t, "outbox")) == 1 }, sdktest.Timeout, 10*time.Millisecond)
	require.Equal(t, map[string]string{"a.txt": "alpha"}, s3.objects(t, "outbox"))
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "a.txt")); return os.IsNotExist(err) }, sdktest.Timeout, 10*time.Millisecond)
	require.FileExists(t, filepath.Join(dir, ".hidden"))

	keepDir := t.TempDir()
	file := filepath.Join(keepDir, "report.txt")
	require.NoError(t, os.WriteFile(file, []byte("v1"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(keepDir, "other.txt"), []byte("not me"), 0o644))
	sdktest.NewSink(t, COSSinkKind, s3.cosConfig("kept-box", map[string]any{"from_file": file, "keep_file": true}))
	require.Eventually(t, func() bool { return slices.Equal(s3.keys(t, "kept-box"), []string{"report.txt"}) }, sdktest.Timeout, 10*time.Millisecond)
	require.FileExists(t, file)
	_, err := s3.backend.DeleteObject("kept-box", "report.txt")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte("v2, longer"), 0o644)) // a change: uploaded again
	require.Eventually(t, func() bool { return s3.objects(t, "kept-box")["report.txt"] == "v2, longer" }, sdktest.Timeout, 10*time.Millisecond)
	require.Equal(t, []string{"report.txt"}, s3.keys(t, "kept-box"))
}

// TestCOSSinkFromDirectoryOutage keeps a file in place while the store is
// down, and uploads (then deletes) it once the store is back.
func TestCOSSinkFromDirectoryOutage(t *testing.T) {
	s3 := startS3(t, "outbox")
	dir := t.TempDir()
	var log sdktest.Log
	sdktest.NewSink(t, COSSinkKind, s3.cosConfig("outbox", map[string]any{"from_directory": dir}), sdktest.LogTo(&log))
	s3.stop()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha"), 0o644))
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "cannot upload a file") }, sdktest.Timeout, 10*time.Millisecond)
	require.Contains(t, log.String(), "cloud-object-storage-sink: cannot reach "+s3.addr)
	require.FileExists(t, filepath.Join(dir, "a.txt"))
	s3.restart(t)
	require.Eventually(t, func() bool { return len(s3.keys(t, "outbox")) == 1 }, sdktest.Timeout, 10*time.Millisecond)
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "a.txt")); return os.IsNotExist(err) }, sdktest.Timeout, 10*time.Millisecond)
}

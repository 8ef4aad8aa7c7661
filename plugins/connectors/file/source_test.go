package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// newFileSource makes an instance of kind, as the host does.
func newFileSource(t *testing.T, kind sdk.SourceKind, config map[string]any) *source {
	t.Helper()
	return sdktest.NewSource(t, kind, config).(*source)
}

// writeOld writes a file that looks finished: last modified an hour ago.
func writeOld(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(path, old, old))
}

// polls runs n polls of s into c, as Run does at each period.
func polls(t *testing.T, s *source, c *sdktest.Collector, n int) {
	t.Helper()
	for range n {
		require.NoError(t, s.poll(t.Context(), c.Emit))
	}
}

func TestSourceDeletesOnlyAfterAck(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a.txt"), "hello")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir})
	r := sdktest.Collector{Hold: true}
	polls(t, s, &r, 3)
	require.Equal(t, 1, r.Len(), "a file whose ack is pending is not emitted again")
	ev := r.Events()[0]
	require.JSONEq(t, `{"filename": "a.txt", "body": "hello"}`, string(ev.Body))
	require.Equal(t, "application/json", ev.ContentType)
	require.FileExists(t, filepath.Join(dir, "a.txt"), "no ack, no delete")

	ev.Ack(nil)
	require.NoFileExists(t, filepath.Join(dir, "a.txt"))
	polls(t, s, &r, 1)
	require.Equal(t, 1, r.Len())
}

func TestSourceRetriesWhatIsNotAccepted(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a.txt"), "hello")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir})
	r := sdktest.Collector{Hold: true}
	polls(t, s, &r, 1)
	require.Equal(t, 1, r.Len())
	r.Events()[0].Ack(errors.New("the instance closed"))
	require.FileExists(t, filepath.Join(dir, "a.txt"))

	polls(t, s, &r, 1)
	require.Equal(t, 2, r.Len(), "emitted again at the next poll")
	require.Equal(t, r.Events()[0].Body, r.Events()[1].Body)
	r.Events()[1].Ack(nil)
	require.NoFileExists(t, filepath.Join(dir, "a.txt"))
}

func TestSourceMovesAfterRead(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a.txt"), "a")
	writeOld(t, filepath.Join(dir, "sub", "b.txt"), "b")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir, "moveAfterRead": "done", "recursive": true})
	r := sdktest.Collector{Hold: true}
	polls(t, s, &r, 2)
	require.Equal(t, 2, r.Len())
	require.FileExists(t, filepath.Join(dir, "a.txt"), "no ack, no move")
	r.Events()[0].Ack(nil)
	r.Events()[1].Ack(nil)
	for _, name := range []string{"a.txt", "sub/b.txt"} {
		require.NoFileExists(t, filepath.Join(dir, name))
		require.FileExists(t, filepath.Join(dir, "done", name))
	}
	polls(t, s, &r, 2)
	require.Equal(t, 2, r.Len(), "the moveAfterRead directory is not read")
}

func TestSourceKeepsFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	writeOld(t, path, "one")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir, "keep_file": true})
	var r sdktest.Collector
	polls(t, s, &r, 3)
	require.Equal(t, 1, r.Len(), "a kept file is read once")
	require.FileExists(t, path)

	writeOld(t, path, "two, changed")
	polls(t, s, &r, 2)
	require.Equal(t, 2, r.Len(), "a kept file that changes is read again")
	require.JSONEq(t, `{"filename": "a.txt", "body": "two, changed"}`, string(r.Events()[1].Body))

	require.NoError(t, os.Remove(path))
	polls(t, s, &r, 1)
	writeOld(t, path, "two, changed")
	polls(t, s, &r, 1)
	require.Equal(t, 3, r.Len(), "a file that comes back is a new file")
}

func TestRawSource(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a.txt"), "text")
	writeOld(t, filepath.Join(dir, "sub", "b"), "\x00\xff")
	writeOld(t, filepath.Join(dir, ".hidden"), "secret")
	writeOld(t, filepath.Join(dir, ".cache", "c"), "cached")
	s := newFileSource(t, RawSourceKind, map[string]any{"path": dir, "recursive": true})
	r := sdktest.Collector{Hold: true}
	polls(t, s, &r, 1)
	require.Equal(t, 2, r.Len(), "hidden files and directories are skipped")
	a, b := r.Events()[0], r.Events()[1]
	require.Equal(t, "text", string(a.Body))
	require.Equal(t, "text/plain; charset=utf-8", a.ContentType)
	require.Equal(t, map[string]string{"CamelFileName": "a.txt"}, a.Headers)
	require.Equal(t, "\x00\xff", string(b.Body), "raw bytes, unchanged")
	require.Equal(t, "application/octet-stream", b.ContentType)
	require.Equal(t, map[string]string{"CamelFileName": "sub/b"}, b.Headers)
}

func TestSourceSkipsSubdirectoriesUnlessRecursive(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "sub", "b.txt"), "b")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir})
	r := sdktest.Collector{Hold: true}
	polls(t, s, &r, 2)
	require.Equal(t, 0, r.Len())
}

// A fresh file is read only once two polls have seen it unchanged.
func TestSourceWaitsForFilesBeingWritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir, "period": 60_000})
	r := sdktest.Collector{Hold: true}
	require.NoError(t, os.WriteFile(path, []byte("part"), 0o644))
	polls(t, s, &r, 1)
	require.Equal(t, 0, r.Len(), "just written: maybe not finished")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(" and the rest")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	polls(t, s, &r, 1)
	require.Equal(t, 0, r.Len(), "it grew since the last poll")
	polls(t, s, &r, 1)
	require.Equal(t, 1, r.Len(), "unchanged since the last poll")
	require.JSONEq(t, `{"filename": "a.txt", "body": "part and the rest"}`, string(r.Events()[0].Body))
}

func TestSourceLeavesAFileChangedAfterItWasRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	writeOld(t, path, "one")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir})
	r := sdktest.Collector{Hold: true}
	polls(t, s, &r, 1)
	writeOld(t, path, "one and two")
	r.Events()[0].Ack(nil)
	require.FileExists(t, path, "deleting it would lose what was added")
	polls(t, s, &r, 1)
	require.Equal(t, 2, r.Len())
	require.JSONEq(t, `{"filename": "a.txt", "body": "one and two"}`, string(r.Events()[1].Body))
}

func TestSourceRun(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		writeOld(t, filepath.Join(dir, name), name)
	}
	s := newFileSource(t, SourceKind, map[string]any{"path": dir, "period": 5})
	var r sdktest.Collector
	running := sdktest.Run(t, s, r.Emit)
	r.Wait(t, 3)
	// A file written while it runs is read too.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d"), []byte("d"), 0o644))
	r.Wait(t, 4)
	require.NoError(t, running.Stop())
	require.Equal(t, 4, r.Len())
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left)
}

// When emit fails (the instance is closing) the file stays and the source
// stops.
func TestSourceStopsWhenEmitFails(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a"), "a")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir})
	closed := func(context.Context, sdk.Event) error { return errors.New("closed") }
	require.NoError(t, sdktest.Run(t, s, closed).Wait())
	require.FileExists(t, filepath.Join(dir, "a"))
	require.Empty(t, s.pending)
}

func TestSourceParameters(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, tc := range []struct {
		config map[string]any
		err    string
	}{
		{map[string]any{"path": filepath.Join(dir, "nope")}, `file-source: the directory "` + filepath.Join(dir, "nope") + `" does not exist`},
		{map[string]any{"path": file}, `file-source: "` + file + `" is not a directory`},
		{map[string]any{"path": dir, "period": 0}, "file-source: period must be positive"},
		{map[string]any{"path": dir, "keepFile": true, "moveAfterRead": "done"}, "file-source: keepFile and moveAfterRead cannot both be set: a kept file stays where it is"},
		{map[string]any{"path": dir, "moveAfterRead": "."}, "file-source: moveAfterRead must be another directory than path"},
	} {
		_, err := sdktest.OpenSource(SourceKind, tc.config)
		require.EqualError(t, err, tc.err)
	}
}

package file

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// newFileSource validates config as the host does and makes an instance.
func newFileSource(t *testing.T, kind sdk.SourceKind, config map[string]any) *source {
	t.Helper()
	values, err := kind.Kind().Validate(config)
	require.NoError(t, err)
	src, err := kind.New(sdk.NewConfig(values), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return src.(*source)
}

// recorder is an emit function that keeps the events it is given and
// leaves acknowledging them to the test, unless autoAck is set.
type recorder struct {
	autoAck bool
	mu      sync.Mutex
	events  []sdk.Event
}

func (r *recorder) emit(_ context.Context, ev sdk.Event) error {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	if r.autoAck {
		ev.Ack(nil)
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) event(i int) sdk.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[i]
}

// writeOld writes a file that looks finished: last modified an hour ago.
func writeOld(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(path, old, old))
}

// polls runs n polls of s, as Run does at each period.
func polls(t *testing.T, s *source, r *recorder, n int) {
	t.Helper()
	for range n {
		require.NoError(t, s.poll(t.Context(), r.emit))
	}
}

func TestSourceDeletesOnlyAfterAck(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a.txt"), "hello")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir})
	var r recorder
	polls(t, s, &r, 3)
	require.Equal(t, 1, r.count(), "a file whose ack is pending is not emitted again")
	ev := r.event(0)
	require.JSONEq(t, `{"filename": "a.txt", "body": "hello"}`, string(ev.Body))
	require.Equal(t, "application/json", ev.ContentType)
	require.FileExists(t, filepath.Join(dir, "a.txt"), "no ack, no delete")

	ev.Ack(nil)
	require.NoFileExists(t, filepath.Join(dir, "a.txt"))
	polls(t, s, &r, 1)
	require.Equal(t, 1, r.count())
}

func TestSourceRetriesWhatIsNotAccepted(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a.txt"), "hello")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir})
	var r recorder
	polls(t, s, &r, 1)
	require.Equal(t, 1, r.count())
	r.event(0).Ack(errors.New("the instance closed"))
	require.FileExists(t, filepath.Join(dir, "a.txt"))

	polls(t, s, &r, 1)
	require.Equal(t, 2, r.count(), "emitted again at the next poll")
	require.Equal(t, r.event(0).Body, r.event(1).Body)
	r.event(1).Ack(nil)
	require.NoFileExists(t, filepath.Join(dir, "a.txt"))
}

func TestSourceMovesAfterRead(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a.txt"), "a")
	writeOld(t, filepath.Join(dir, "sub", "b.txt"), "b")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir, "moveAfterRead": "done", "recursive": true})
	var r recorder
	polls(t, s, &r, 2)
	require.Equal(t, 2, r.count())
	require.FileExists(t, filepath.Join(dir, "a.txt"), "no ack, no move")
	r.event(0).Ack(nil)
	r.event(1).Ack(nil)
	for _, name := range []string{"a.txt", "sub/b.txt"} {
		require.NoFileExists(t, filepath.Join(dir, name))
		require.FileExists(t, filepath.Join(dir, "done", name))
	}
	polls(t, s, &r, 2)
	require.Equal(t, 2, r.count(), "the moveAfterRead directory is not read")
}

func TestSourceKeepsFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	writeOld(t, path, "one")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir, "keep_file": true})
	r := recorder{autoAck: true}
	polls(t, s, &r, 3)
	require.Equal(t, 1, r.count(), "a kept file is read once")
	require.FileExists(t, path)

	writeOld(t, path, "two, changed")
	polls(t, s, &r, 2)
	require.Equal(t, 2, r.count(), "a kept file that changes is read again")
	require.JSONEq(t, `{"filename": "a.txt", "body": "two, changed"}`, string(r.event(1).Body))

	require.NoError(t, os.Remove(path))
	polls(t, s, &r, 1)
	writeOld(t, path, "two, changed")
	polls(t, s, &r, 1)
	require.Equal(t, 3, r.count(), "a file that comes back is a new file")
}

func TestRawSource(t *testing.T) {
	dir := t.TempDir()
	writeOld(t, filepath.Join(dir, "a.txt"), "text")
	writeOld(t, filepath.Join(dir, "sub", "b"), "\x00\xff")
	writeOld(t, filepath.Join(dir, ".hidden"), "secret")
	writeOld(t, filepath.Join(dir, ".cache", "c"), "cached")
	s := newFileSource(t, RawSourceKind, map[string]any{"path": dir, "recursive": true})
	var r recorder
	polls(t, s, &r, 1)
	require.Equal(t, 2, r.count(), "hidden files and directories are skipped")
	a, b := r.event(0), r.event(1)
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
	var r recorder
	polls(t, s, &r, 2)
	require.Equal(t, 0, r.count())
}

// A fresh file is read only once two polls have seen it unchanged.
func TestSourceWaitsForFilesBeingWritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir, "period": 60_000})
	var r recorder
	require.NoError(t, os.WriteFile(path, []byte("part"), 0o644))
	polls(t, s, &r, 1)
	require.Equal(t, 0, r.count(), "just written: maybe not finished")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(" and the rest")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	polls(t, s, &r, 1)
	require.Equal(t, 0, r.count(), "it grew since the last poll")
	polls(t, s, &r, 1)
	require.Equal(t, 1, r.count(), "unchanged since the last poll")
	require.JSONEq(t, `{"filename": "a.txt", "body": "part and the rest"}`, string(r.event(0).Body))
}

func TestSourceLeavesAFileChangedAfterItWasRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	writeOld(t, path, "one")
	s := newFileSource(t, SourceKind, map[string]any{"path": dir})
	var r recorder
	polls(t, s, &r, 1)
	writeOld(t, path, "one and two")
	r.event(0).Ack(nil)
	require.FileExists(t, path, "deleting it would lose what was added")
	polls(t, s, &r, 1)
	require.Equal(t, 2, r.count())
	require.JSONEq(t, `{"filename": "a.txt", "body": "one and two"}`, string(r.event(1).Body))
}

func TestSourceRun(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		writeOld(t, filepath.Join(dir, name), name)
	}
	s := newFileSource(t, SourceKind, map[string]any{"path": dir, "period": 5})
	r := recorder{autoAck: true}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, r.emit) }()
	require.Eventually(t, func() bool { return r.count() == 3 }, 10*time.Second, time.Millisecond)
	// A file written while it runs is read too.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d"), []byte("d"), 0o644))
	require.Eventually(t, func() bool { return r.count() == 4 }, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
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
	require.NoError(t, s.Run(t.Context(), closed))
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
		values, err := SourceKind.Kind().Validate(tc.config)
		require.NoError(t, err)
		_, err = SourceKind.New(sdk.NewConfig(values), slog.New(slog.DiscardHandler))
		require.EqualError(t, err, tc.err)
	}
}

package file

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// newFileSink validates config as the host does and makes an instance.
func newFileSink(t *testing.T, config map[string]any) sdk.Sink {
	t.Helper()
	values, err := SinkKind.Kind().Validate(config)
	require.NoError(t, err)
	s, err := SinkKind.New(sdk.NewConfig(values), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.(io.Closer).Close()) })
	return s
}

// files returns the content of every file under dir by relative name.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		rel, err := filepath.Rel(dir, path)
		require.NoError(t, err)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	}))
	return out
}

func named(name, body string) sdk.Event {
	return sdk.Event{Body: []byte(body), Headers: map[string]string{"CamelFileName": name}}
}

func TestSinkWritesNamedFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "deeper")
	s := newFileSink(t, map[string]any{"path": dir})
	require.DirExists(t, dir, "created by New")
	require.NoError(t, s.Write(t.Context(), []sdk.Event{named("a.txt", "A"), named("sub/b.txt", "B"), named("a.txt", "A2")}))
	require.Equal(t, map[string]string{"a.txt": "A2", "sub/b.txt": "B"}, files(t, dir), "no temporary file is left")
}

func TestSinkFileNameAndGeneratedNames(t *testing.T) {
	dir := t.TempDir()
	s := newFileSink(t, map[string]any{"path": dir, "file_name": "latest.json"})
	require.NoError(t, s.Write(t.Context(), []sdk.Event{{Body: []byte("1")}, {Body: []byte("2")}, named("x", "X")}))
	require.Equal(t, map[string]string{"latest.json": "2", "x": "X"}, files(t, dir), "the header wins over fileName")

	dir = t.TempDir()
	s = newFileSink(t, map[string]any{"path": dir})
	require.NoError(t, s.Write(t.Context(), []sdk.Event{{Body: []byte("1")}, {Body: []byte("2")}}))
	got := files(t, dir)
	require.Len(t, got, 2, "one unique name per event")
	var names []string
	for name := range got {
		require.Regexp(t, `^rayvens-\d+-\d+$`, name)
		names = append(names, got[name])
	}
	sort.Strings(names)
	require.Equal(t, []string{"1", "2"}, names)
}

func TestSinkRefusesNamesOutsideItsDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	s := newFileSink(t, map[string]any{"path": dir})
	for _, name := range []string{"../escape", "/etc/passwd", "a/../../escape", "."} {
		err := s.Write(t.Context(), []sdk.Event{named("fine", "ok"), named(name, "bad")})
		require.ErrorContains(t, err, "is not a name inside the directory", name)
	}
	require.Empty(t, files(t, dir), "a batch with a bad name writes nothing")

	// Nor through a symbolic link.
	require.NoError(t, os.Symlink(parent, filepath.Join(dir, "link")))
	require.Error(t, s.Write(t.Context(), []sdk.Event{named("link/escape", "bad")}))
	require.NoFileExists(t, filepath.Join(parent, "escape"))

	_, err := SinkKind.New(sdk.NewConfig(map[string]any{"path": dir, "fileName": "../x"}), slog.New(slog.DiscardHandler))
	require.EqualError(t, err, `file-sink: fileName: the file name "../x" is not a name inside the directory (absolute paths and .. are refused)`)
}

// A write that fails is an error for the batch, and leaves no temporary file.
func TestSinkWriteFails(t *testing.T) {
	dir := t.TempDir()
	s := newFileSink(t, map[string]any{"path": dir})
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "taken", "by-a-directory"), 0o755))
	err := s.Write(t.Context(), []sdk.Event{named("taken", "x")})
	require.ErrorContains(t, err, `file-sink: cannot write "taken"`)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the directory that was there")
}

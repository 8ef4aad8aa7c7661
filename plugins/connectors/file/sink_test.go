package file

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

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
	s := sdktest.NewSink(t, SinkKind, map[string]any{"path": dir})
	require.DirExists(t, dir, "created by New")
	require.NoError(t, sdktest.Write(t, s, named("a.txt", "A"), named("sub/b.txt", "B"), named("a.txt", "A2")))
	require.Equal(t, map[string]string{"a.txt": "A2", "sub/b.txt": "B"}, files(t, dir), "no temporary file is left")
}

func TestSinkFileNameAndGeneratedNames(t *testing.T) {
	dir := t.TempDir()
	s := sdktest.NewSink(t, SinkKind, map[string]any{"path": dir, "file_name": "latest.json"})
	require.NoError(t, sdktest.Write(t, s, sdk.Event{Body: []byte("1")}, sdk.Event{Body: []byte("2")}, named("x", "X")))
	require.Equal(t, map[string]string{"latest.json": "2", "x": "X"}, files(t, dir), "the header wins over fileName")

	dir = t.TempDir()
	s = sdktest.NewSink(t, SinkKind, map[string]any{"path": dir})
	require.NoError(t, sdktest.Write(t, s, sdk.Event{Body: []byte("1")}, sdk.Event{Body: []byte("2")}))
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
	s := sdktest.NewSink(t, SinkKind, map[string]any{"path": dir})
	for _, name := range []string{"../escape", "/etc/passwd", "a/../../escape", "."} {
		err := sdktest.Write(t, s, named("fine", "ok"), named(name, "bad"), named("after", "tried again"))
		require.ErrorContains(t, err, "is not a name inside the directory", name)
		require.True(t, sdk.IsPermanent(err), "sending it again cannot help")
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err),
			"the bad name fails alone: the event before it is written, the one after it is sent again")
	}
	require.Equal(t, map[string]string{"fine": "ok"}, files(t, dir), "nothing outside the directory, nothing after the bad name")

	// Nor through a symbolic link.
	require.NoError(t, os.Symlink(parent, filepath.Join(dir, "link")))
	require.Error(t, sdktest.Write(t, s, named("link/escape", "bad")))
	require.NoFileExists(t, filepath.Join(parent, "escape"))

	_, err := sdktest.OpenSink(SinkKind, map[string]any{"path": dir, "fileName": "../x"})
	require.EqualError(t, err, `file-sink: fileName: the file name "../x" is not a name inside the directory (absolute paths and .. are refused)`)
}

// A write that fails is an error for the batch, and leaves no temporary file.
func TestSinkWriteFails(t *testing.T) {
	dir := t.TempDir()
	s := sdktest.NewSink(t, SinkKind, map[string]any{"path": dir})
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "taken", "by-a-directory"), 0o755))
	err := sdktest.Write(t, s, named("taken", "x"))
	require.ErrorContains(t, err, `file-sink: cannot write "taken"`)
	require.False(t, sdk.IsPermanent(err))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the directory that was there")
}

// TestSinkRemovesLeftovers: the temporary files of a sink whose process was
// killed mid-write are removed when a sink starts on the directory; files
// of a live process, and every other file, stay.
func TestSinkRemovesLeftovers(t *testing.T) {
	gone := exec.Command(os.Args[0], "-test.run=^$")
	require.NoError(t, gone.Run())
	dead, live := strconv.Itoa(gone.Process.Pid), strconv.Itoa(os.Getpid())

	dir := t.TempDir()
	write := func(name string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("event data"), 0o644))
	}
	stale := []string{".a.txt.rayvens-tmp-" + dead + "-3w5e11264sgsf", "sub/.b.json.rayvens-tmp-" + dead + "-k1"}
	kept := []string{
		".a.txt.rayvens-tmp-" + live + "-3w5e11264sgsf", // being written by a live instance
		".hidden", ".a.txt.tmp-3w5e11264sgsf", "a.txt.rayvens-tmp-" + dead + "-k1", ".rayvens-tmp-" + dead + "-k1",
		"a.txt", "sub/b.json",
	}
	for _, name := range append(stale, kept...) {
		write(name)
	}
	var logs sdktest.Log
	sdktest.NewSink(t, SinkKind, map[string]any{"path": dir}, sdktest.LogTo(&logs))
	for _, name := range stale {
		require.NoFileExists(t, filepath.Join(dir, name))
		require.Contains(t, logs.String(), "removed a temporary file left by an earlier run")
	}
	for _, name := range kept {
		require.FileExists(t, filepath.Join(dir, name))
	}
}

// The names the sink writes are the names it removes when they are left.
func TestSinkTempNamesAreLeftoverNames(t *testing.T) {
	for _, name := range []string{"a.txt", "sub/b.json", "rayvens-1-2"} {
		tmp := tempName(name)
		require.Equal(t, filepath.Dir(name), filepath.Dir(tmp), "in the directory of the file")
		m := leftover().FindStringSubmatch(filepath.Base(tmp))
		require.NotNil(t, m, tmp)
		require.Equal(t, strconv.Itoa(os.Getpid()), m[1])
	}
}

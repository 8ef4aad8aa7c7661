package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func text(bodies ...string) []sdk.Event {
	out := make([]sdk.Event, len(bodies))
	for i, b := range bodies {
		out[i] = sdk.Event{Body: []byte(b)}
	}
	return out
}

func appendConfig(dir string, more ...any) map[string]any {
	cfg := map[string]any{"path": dir, "fileName": "events.log", "fileExist": "Append", "appendChars": "\n"}
	for i := 0; i+1 < len(more); i += 2 {
		cfg[more[i].(string)] = more[i+1]
	}
	return cfg
}

// journals lists the journals left under dir.
func journals(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for name := range files(t, dir) {
		if strings.HasSuffix(name, journalSuffix) {
			out = append(out, name)
		}
	}
	return out
}

func TestSinkAppendsToAFixedFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "events.log"), []byte("there before\n"), 0o644))
	s, err := sdktest.OpenSink(SinkKind, appendConfig(dir))
	require.NoError(t, err)
	require.NoError(t, sdktest.Write(t, s, text("one", "two", "three")...))
	require.NoError(t, sdktest.Write(t, s, text("four")...))
	require.Equal(t, "there before\none\ntwo\nthree\nfour\n", files(t, dir)["events.log"], "in order, after what was there")
	require.Equal(t, []string{".events.log" + journalSuffix}, journals(t, dir), "a journal while the file is open")

	require.NoError(t, s.(interface{ Close() error }).Close())
	require.Equal(t, map[string]string{"events.log": "there before\none\ntwo\nthree\nfour\n"}, files(t, dir),
		"closed cleanly: no journal left")
}

func TestSinkAppendsToNamedFiles(t *testing.T) {
	dir := t.TempDir()
	s := sdktest.NewSink(t, SinkKind, appendConfig(dir, "forceWrites", false))
	require.NoError(t, sdktest.Write(t, s, named("a.txt", "a1"), named("a.txt", "a2"), sdk.Event{Body: []byte("fixed")},
		named("sub/b.txt", "b1"), named("a.txt", "a3")))
	require.NoError(t, sdktest.Write(t, s, named("sub/b.txt", "b2")))
	require.Equal(t, map[string]string{
		"a.txt":                       "a1\na2\na3\n",
		"sub/b.txt":                   "b1\nb2\n",
		"events.log":                  "fixed\n",
		".events.log" + journalSuffix: files(t, dir)[".events.log"+journalSuffix],
	}, files(t, dir), "the files named by a header are closed after each batch, the fixed one stays open")

	err := sdktest.Write(t, s, named("a.txt", "a4"), named("../out", "bad"), named("a.txt", "a5"))
	require.True(t, sdk.IsPermanent(err))
	require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err))
	require.Equal(t, "a1\na2\na3\na4\n", files(t, dir)["a.txt"])
}

func TestSinkAppendInstancesTakeTurns(t *testing.T) {
	dir := t.TempDir()
	first := sdktest.NewSink(t, SinkKind, appendConfig(dir))
	second := sdktest.NewSink(t, SinkKind, appendConfig(dir+"/."))
	for i := range 3 {
		require.NoError(t, sdktest.Write(t, first, text(fmt.Sprint("first ", i))...))
		require.NoError(t, sdktest.Write(t, second, text(fmt.Sprint("second ", i))...))
	}
	require.Equal(t, "first 0\nsecond 0\nfirst 1\nsecond 1\nfirst 2\nsecond 2\n", files(t, dir)["events.log"],
		"two instances of one process share the file")
}

func TestSinkFileExistValues(t *testing.T) {
	dir := t.TempDir()
	_, err := sdktest.OpenSink(SinkKind, map[string]any{"path": dir, "fileExist": "Fail"})
	require.EqualError(t, err, `file-sink: fileExist must be Override or Append, got "Fail"`)

	s := sdktest.NewSink(t, SinkKind, map[string]any{"path": dir, "file_name": "latest", "file_exist": "override", "append_chars": "\n"})
	require.NoError(t, sdktest.Write(t, s, text("1", "2")...))
	require.Equal(t, map[string]string{"latest": "2\n"}, files(t, dir), "Override replaces the file; appendChars ends it")
}

// A journal left by a process that crashed is recovered by the next sink
// on the directory: a write it records as unfinished is cut off; a file
// that is as long as the write made it, or longer, is kept.
func TestSinkRecoversAJournalLeftByACrash(t *testing.T) {
	for _, tc := range []struct {
		name, content, want, log string
	}{
		{"cut mid-write", "kept\ntorn", "kept\n", "cut off the part of a write that a crash interrupted"},
		{"written whole", "kept\nwhole\n", "kept\nwhole\n", ""},
		{"not started", "kept\n", "kept\n", ""},
		{"grown since", "kept\nwhole\nmore\n", "kept\nwhole\nmore\n", "the file grew past the last write recorded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "events.log"), []byte(tc.content), 0o644))
			record := fmt.Appendf(nil, "%020d %020d\n", len("kept\n"), len("kept\nwhole\n"))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", ".events.log"+journalSuffix), record, 0o644))

			var logs sdktest.Log
			sdktest.NewSink(t, SinkKind, map[string]any{"path": dir}, sdktest.LogTo(&logs))
			require.Equal(t, map[string]string{"sub/events.log": tc.want}, files(t, dir), "recovered, and the journal removed")
			if tc.log != "" {
				require.Contains(t, logs.String(), tc.log)
			} else {
				require.Empty(t, logs.Records())
			}
		})
	}
}

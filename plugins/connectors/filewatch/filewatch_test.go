package filewatch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// change is the JSON body of an event.
type change struct {
	Filename  string `json:"filename"`
	EventType string `json:"event_type"`
}

// changes reads, in order, the changes a running watch reports.
type changes struct {
	run  *sdktest.Running
	c    *sdktest.Collector
	read int // how many of c's events next has returned
}

// watching runs a watch of config until the test ends, once it is
// watching: changes from then on are reported.
func watching(t *testing.T, config map[string]any) *changes {
	t.Helper()
	var logs sdktest.Log
	src := sdktest.NewSource(t, Kind, config, sdktest.LogTo(&logs))
	ch := &changes{c: new(sdktest.Collector)}
	ch.run = sdktest.Run(t, src, ch.c.Emit)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "msg=watching") }, sdktest.Timeout, time.Millisecond)
	return ch
}

// next returns the next change, failing the test after a deadline.
func (ch *changes) next(t *testing.T) change {
	t.Helper()
	ev := ch.c.Wait(t, ch.read+1)[ch.read]
	ch.read++
	require.Equal(t, "application/json", ev.ContentType)
	var c change
	require.NoError(t, json.Unmarshal(ev.Body, &c), "%q", ev.Body)
	return c
}

// nextDifferent skips repeats of last (one write can be reported as
// several modifications) and returns the next other change.
func (ch *changes) nextDifferent(t *testing.T, last change) change {
	t.Helper()
	for {
		if c := ch.next(t); c != last {
			return c
		}
	}
}

func TestWatchFolder(t *testing.T) {
	dir := t.TempDir()
	changes := watching(t, map[string]any{"filePath": dir})
	path := filepath.Join(dir, "a.txt")

	f, err := os.Create(path)
	require.NoError(t, err)
	require.Equal(t, change{path, "CREATE"}, changes.next(t))
	_, err = f.WriteString("hello")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	modified := changes.next(t)
	require.Equal(t, change{path, "MODIFY"}, modified)
	require.NoError(t, os.Chmod(path, 0o600)) // not reported
	require.NoError(t, os.Rename(path, filepath.Join(dir, "b.txt")))
	require.Equal(t, change{path, "DELETE"}, changes.nextDifferent(t, modified), "renamed away")
	require.Equal(t, change{filepath.Join(dir, "b.txt"), "CREATE"}, changes.next(t), "renamed in")
	require.NoError(t, os.Remove(filepath.Join(dir, "b.txt")))
	require.Equal(t, change{filepath.Join(dir, "b.txt"), "DELETE"}, changes.next(t))
}

// A watched file may not exist yet, and only its own changes are reported.
func TestWatchFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "watched.txt")
	changes := watching(t, map[string]any{"file_path": path, "events": "create, delete"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.txt"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
	require.Equal(t, change{path, "CREATE"}, changes.next(t), "not other.txt, and no MODIFY")
	require.NoError(t, os.WriteFile(path, []byte("more"), 0o644))
	require.NoError(t, os.Remove(path))
	require.Equal(t, change{path, "DELETE"}, changes.next(t))
}

func TestWatchOnlyTheEventsAskedFor(t *testing.T) {
	dir := t.TempDir()
	changes := watching(t, map[string]any{"path": dir, "events": "DELETE"})
	path := filepath.Join(dir, "a")
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
	require.NoError(t, os.Remove(path))
	require.Equal(t, change{path, "DELETE"}, changes.next(t), "no CREATE nor MODIFY before it")
}

func TestWatchRunStopsWithItsContext(t *testing.T) {
	changes := watching(t, map[string]any{"filePath": t.TempDir()})
	require.NoError(t, changes.run.Stop())
}

func TestWatchParameters(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "file")
	for _, tc := range []struct {
		config map[string]any
		err    string
	}{
		{map[string]any{"filePath": dir, "events": "CREATE,MOVE"}, `file-watch-source: unknown event type "MOVE" in events (want a comma-separated subset of CREATE, MODIFY, DELETE)`},
		{map[string]any{"filePath": dir, "events": " , "}, "file-watch-source: events must name at least one of CREATE, MODIFY, DELETE"},
		{map[string]any{"filePath": missing}, `file-watch-source: "` + missing + `" does not exist, nor does its folder`},
	} {
		_, err := sdktest.OpenSource(Kind, tc.config)
		require.EqualError(t, err, tc.err)
	}
	values, err := sdktest.Validate(Kind, map[string]any{"path": dir})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"filePath": dir, "events": "CREATE,MODIFY,DELETE"}, values)
}

package filewatch

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// change is the JSON body of an event.
type change struct {
	Filename  string `json:"filename"`
	EventType string `json:"event_type"`
}

// watching validates config as the host does, starts the watch and
// forwards its events to the returned channel until the test ends.
func watching(t *testing.T, config map[string]any) <-chan change {
	t.Helper()
	values, err := Kind.Kind().Validate(config)
	require.NoError(t, err)
	src, err := Kind.New(sdk.NewConfig(values), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	w := src.(*watch)
	watcher, err := w.start()
	require.NoError(t, err)

	out := make(chan change, 100)
	emit := func(ctx context.Context, ev sdk.Event) error { // on the watch's goroutine: no require
		var c change
		if err := json.Unmarshal(ev.Body, &c); err != nil || ev.ContentType != "application/json" {
			t.Errorf("not a JSON event: %s %q", ev.ContentType, ev.Body)
		}
		select {
		case out <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		defer watcher.Close()
		done <- w.forward(ctx, watcher, emit)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("the watch did not stop")
		}
	})
	return out
}

// next returns the next change, failing the test after a deadline.
func next(t *testing.T, changes <-chan change) change {
	t.Helper()
	select {
	case c := <-changes:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported")
		return change{}
	}
}

// nextDifferent skips repeats of last (one write can be reported as
// several modifications) and returns the next other change.
func nextDifferent(t *testing.T, changes <-chan change, last change) change {
	t.Helper()
	for {
		if c := next(t, changes); c != last {
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
	require.Equal(t, change{path, "CREATE"}, next(t, changes))
	_, err = f.WriteString("hello")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	modified := next(t, changes)
	require.Equal(t, change{path, "MODIFY"}, modified)
	require.NoError(t, os.Chmod(path, 0o600)) // not reported
	require.NoError(t, os.Rename(path, filepath.Join(dir, "b.txt")))
	require.Equal(t, change{path, "DELETE"}, nextDifferent(t, changes, modified), "renamed away")
	require.Equal(t, change{filepath.Join(dir, "b.txt"), "CREATE"}, next(t, changes), "renamed in")
	require.NoError(t, os.Remove(filepath.Join(dir, "b.txt")))
	require.Equal(t, change{filepath.Join(dir, "b.txt"), "DELETE"}, next(t, changes))
}

// A watched file may not exist yet, and only its own changes are reported.
func TestWatchFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "watched.txt")
	changes := watching(t, map[string]any{"file_path": path, "events": "create, delete"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.txt"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
	require.Equal(t, change{path, "CREATE"}, next(t, changes), "not other.txt, and no MODIFY")
	require.NoError(t, os.WriteFile(path, []byte("more"), 0o644))
	require.NoError(t, os.Remove(path))
	require.Equal(t, change{path, "DELETE"}, next(t, changes))
}

func TestWatchOnlyTheEventsAskedFor(t *testing.T) {
	dir := t.TempDir()
	changes := watching(t, map[string]any{"path": dir, "events": "DELETE"})
	path := filepath.Join(dir, "a")
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
	require.NoError(t, os.Remove(path))
	require.Equal(t, change{path, "DELETE"}, next(t, changes), "no CREATE nor MODIFY before it")
}

func TestWatchRunStopsWithItsContext(t *testing.T) {
	values, err := Kind.Kind().Validate(map[string]any{"filePath": t.TempDir()})
	require.NoError(t, err)
	src, err := Kind.New(sdk.NewConfig(values), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.NoError(t, src.Run(ctx, func(context.Context, sdk.Event) error { return nil }))
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
		values, err := Kind.Kind().Validate(tc.config)
		require.NoError(t, err)
		_, err = Kind.New(sdk.NewConfig(values), slog.New(slog.DiscardHandler))
		require.EqualError(t, err, tc.err)
	}
	values, err := Kind.Kind().Validate(map[string]any{"path": dir})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"filePath": dir, "events": "CREATE,MODIFY,DELETE"}, values)
}

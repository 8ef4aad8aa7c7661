// Package filewatch is the file-watch-source connector: it reports the
// creations, modifications and deletions of a file or of the files of a
// folder, as the Apache Camel Kamelet of the same name does, using the
// operating system's notifications (fsnotify).
package filewatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Kind declares file-watch-source.
var Kind = sdk.SourceKind{
	Name:        "file-watch-source",
	Kamelet:     "file-watch-source",
	Description: "Receives events about a file or a folder: creations, modifications and deletions.",
	Events:      `a JSON object {"filename": ..., "event_type": "CREATE"|"MODIFY"|"DELETE"} per change, as a string`,
	Params: []sdk.Param{
		{Name: "filePath", Type: sdk.String, Required: true, Aliases: []string{"path", "file_path"}, Description: "Path of file or folder to watch."},
		{Name: "events", Type: sdk.String, Required: true, Default: "CREATE,MODIFY,DELETE", Description: "The type of events to consume: a comma-separated subset of CREATE, MODIFY, DELETE."},
	},
	New: newWatch,
}

// eventTypes are the event types, in the order they are reported when one
// notification carries several, and the fsnotify operations of each.
var eventTypes = []struct {
	name string
	ops  fsnotify.Op
}{
	{"CREATE", fsnotify.Create},
	{"MODIFY", fsnotify.Write},
	{"DELETE", fsnotify.Remove | fsnotify.Rename}, // renamed away: gone from where it was
}

// watch is one file-watch-source instance.
type watch struct {
	path   string      // the file or folder, clean
	dir    string      // the folder fsnotify watches: path, or the file's folder
	file   bool        // path is a file: only its own events count
	ops    fsnotify.Op // the operations of the event types asked for
	events string      // the event types asked for, for the log
	log    *slog.Logger
}

func newWatch(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	w := &watch{path: filepath.Clean(cfg.String("filePath")), log: log}
	var names []string
	for _, name := range strings.Split(cfg.String("events"), ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		i := indexOf(name)
		if i < 0 {
			return nil, fmt.Errorf("file-watch-source: unknown event type %q in events (want a comma-separated subset of CREATE, MODIFY, DELETE)", name)
		}
		w.ops |= eventTypes[i].ops
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, errors.New("file-watch-source: events must name at least one of CREATE, MODIFY, DELETE")
	}
	w.events = strings.Join(names, ",")

	// A folder is watched itself. A file is watched through its folder, so
	// that it may be created later and replaced by a rename (as editors
	// save) without the watch being lost.
	info, err := os.Stat(w.path)
	switch {
	case err == nil && info.IsDir():
		w.dir = w.path
	case err == nil || errors.Is(err, fs.ErrNotExist):
		w.dir, w.file = filepath.Dir(w.path), true
		if info, err := os.Stat(w.dir); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("file-watch-source: %q does not exist, nor does its folder", w.path)
		}
	default:
		return nil, fmt.Errorf("file-watch-source: cannot watch %q: %w", w.path, err)
	}
	return w, nil
}

func indexOf(eventType string) int {
	for i, t := range eventTypes {
		if t.name == eventType {
			return i
		}
	}
	return -1
}

// Run watches until ctx ends.
func (w *watch) Run(ctx context.Context, emit sdk.Emit) error {
	watcher, err := w.start()
	if err != nil {
		return err
	}
	defer watcher.Close()
	return w.forward(ctx, watcher, emit)
}

// start sets up the watch: changes from its return on are reported.
func (w *watch) start() (*fsnotify.Watcher, error) {
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("file-watch-source: %w", err)
	}
	if err := watcher.Add(w.dir); err != nil {
		watcher.Close()
		return nil, fmt.Errorf("file-watch-source: cannot watch %q: %w", w.dir, err)
	}
	w.log.Info("watching", "path", w.path, "events", w.events)
	return watcher, nil
}

// forward emits an event per change asked for, until ctx ends or the
// watcher closes.
func (w *watch) forward(ctx context.Context, watcher *fsnotify.Watcher, emit sdk.Emit) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-watcher.Errors:
			if !ok {
				return nil
			}
			// Typically an overflow of the kernel's queue: changes were missed.
			w.log.Warn("watch error", "error", err)
		case ev, ok := <-watcher.Events:
			if !ok {
				return nil
			}
			name := filepath.Clean(ev.Name)
			if w.file && name != w.path {
				continue // another file of the folder
			}
			for _, t := range eventTypes {
				if !ev.Op.Has(t.ops & w.ops) {
					continue
				}
				body, err := json.Marshal(struct {
					Filename  string `json:"filename"`
					EventType string `json:"event_type"`
				}{name, t.name})
				if err != nil {
					return err
				}
				if err := emit(ctx, sdk.Event{Body: body, ContentType: "application/json"}); err != nil {
					return nil // emit fails only when ctx ends or the instance closes: both mean stop
				}
			}
		}
	}
}

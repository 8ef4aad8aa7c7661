package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// source is one file-source or file-source-raw instance. Run owns scan and
// last; the Ack callbacks, called from the SDK's goroutines, share pending
// and kept with it under mu.
type source struct {
	dir       string // absolute and clean
	raw       bool
	keep      bool
	moveTo    string // absolute and clean; "" when files are deleted or kept
	recursive bool
	period    time.Duration
	log       *slog.Logger

	// last is what the previous poll saw of each file, by relative name,
	// to tell a file that is still being written from one that is done.
	last map[string]snapshot
	// unsendable holds the names that are not valid UTF-8, said once.
	unsendable map[string]bool

	mu sync.Mutex
	// pending holds the files whose event is out and not yet acknowledged:
	// they are not emitted again until the ack says what happened.
	pending map[string]bool
	// kept holds the files read and left in place (keepFile, or a file
	// that could not be removed), as they were when read: they are read
	// again only if they change or disappear and come back.
	kept map[string]snapshot
}

// snapshot identifies a version of a file.
type snapshot struct {
	size  int64
	mtime time.Time
}

func snapshotOf(info fs.FileInfo) snapshot {
	return snapshot{size: info.Size(), mtime: info.ModTime()}
}

// found is a file a scan found.
type found struct {
	rel  string // relative to the source's directory
	snap snapshot
}

// opener returns the New function of file-source, or of file-source-raw
// when raw is set.
func opener(kind string, raw bool) func(sdk.Config, *slog.Logger) (sdk.Source, error) {
	return func(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
		dir, err := filepath.Abs(cfg.String("path"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		if err := isDir(dir); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		if cfg.Int("period") <= 0 {
			return nil, fmt.Errorf("%s: period must be positive", kind)
		}
		s := &source{
			dir:        dir,
			raw:        raw,
			keep:       cfg.Bool("keepFile"),
			recursive:  cfg.Bool("recursive"),
			period:     cfg.Millis("period"),
			log:        log,
			pending:    map[string]bool{},
			kept:       map[string]snapshot{},
			unsendable: map[string]bool{},
		}
		if move := cfg.String("moveAfterRead"); move != "" {
			if s.keep {
				return nil, fmt.Errorf("%s: keepFile and moveAfterRead cannot both be set: a kept file stays where it is", kind)
			}
			if !filepath.IsAbs(move) {
				move = filepath.Join(dir, move)
			}
			s.moveTo = filepath.Clean(move)
			if s.moveTo == dir {
				return nil, fmt.Errorf("%s: moveAfterRead must be another directory than path", kind)
			}
		}
		return s, nil
	}
}

// isDir explains, as a sentence, why dir is not a readable directory.
func isDir(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the directory %q does not exist", dir)
	case err != nil:
		return fmt.Errorf("cannot read the directory %q: %w", dir, err)
	case !info.IsDir():
		return fmt.Errorf("%q is not a directory", dir)
	}
	return nil
}

// Run polls the directory at once and then every period, until ctx ends.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	ticker := time.NewTicker(s.period)
	defer ticker.Stop()
	for {
		if err := s.poll(ctx, emit); err != nil {
			return nil // emit fails only when ctx ends or the instance closes: both mean stop
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// poll emits an event for each file that is ready and neither pending nor
// already kept. It returns an error only when emit does.
func (s *source) poll(ctx context.Context, emit sdk.Emit) error {
	files, err := s.scan()
	if err != nil {
		s.log.Warn("cannot list the directory; trying again at the next poll", "error", err)
		return nil
	}
	now := time.Now()
	seen := make(map[string]snapshot, len(files))
	for _, f := range files {
		seen[f.rel] = f.snap
	}
	s.forgetGone(seen)
	for _, f := range files {
		if !utf8.ValidString(f.rel) {
			// The name cannot travel as the CamelFileName header (the
			// wire carries UTF-8 text only): say so once, leave the file.
			if !s.unsendable[f.rel] {
				s.unsendable[f.rel] = true
				s.log.Warn("a file's name is not valid UTF-8 text, so it cannot be sent; the file is left in place", "file", strings.ToValidUTF8(f.rel, "\uFFFD"))
			}
			continue
		}
		if !s.ready(f, now) || !s.claim(f) {
			continue
		}
		ev, snap, err := s.read(ctx, f.rel)
		if err != nil {
			s.release(f.rel)
			if !errors.Is(err, fs.ErrNotExist) { // gone since the scan: nothing to say
				s.log.Warn("cannot read a file; trying again at the next poll", "file", f.rel, "error", err)
			}
			continue
		}
		ev.Ack = s.acker(f.rel, snap)
		if err := emit(ctx, ev); err != nil {
			ev.Ack(err) // not queued, so the SDK will not call it
			return err
		}
	}
	s.last = seen
	return nil
}

// ready reports whether f looks completely written: unchanged since the
// previous poll, or untouched for a whole period. A writer that pauses
// longer than a period in the middle of a file defeats this; writing
// elsewhere (or to a hidden name) and renaming into the directory never does.
func (s *source) ready(f found, now time.Time) bool {
	if prev, ok := s.last[f.rel]; ok && prev == f.snap {
		return true
	}
	return now.Sub(f.snap.mtime) >= s.period
}

// claim marks f pending, unless it is already pending or kept as it is.
func (s *source) claim(f found) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[f.rel] {
		return false
	}
	if k, ok := s.kept[f.rel]; ok && k == f.snap {
		return false
	}
	s.pending[f.rel] = true
	return true
}

func (s *source) release(rel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, rel)
}

// forgetGone forgets the kept files that are no longer there: one that
// comes back under the same name is a new file.
func (s *source) forgetGone(seen map[string]snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rel := range s.kept {
		if _, ok := seen[rel]; !ok {
			delete(s.kept, rel)
		}
	}
}

// scan lists the regular files of the directory (and, when recursive, of
// its subdirectories), skipping hidden ones and the moveAfterRead directory.
func (s *source) scan() ([]found, error) {
	var out []found
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if path == s.dir {
			return err // the directory itself is unreadable: the poll fails
		}
		if err != nil {
			s.log.Warn("cannot list a subdirectory; trying again at the next poll", "error", err)
			return nil
		}
		hidden := strings.HasPrefix(d.Name(), ".")
		if d.IsDir() {
			if hidden || !s.recursive || path == s.moveTo {
				return fs.SkipDir
			}
			return nil
		}
		if hidden {
			return nil
		}
		info, err := os.Stat(path) // follows a symbolic link to its file
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(s.dir, path)
		if err != nil {
			return err
		}
		out = append(out, found{rel: rel, snap: snapshotOf(info)})
		return nil
	})
	return out, err
}

// read makes the event of the file rel, and returns the version it read.
// A long read shows its progress in the host's live views.
func (s *source) read(ctx context.Context, rel string) (sdk.Event, snapshot, error) {
	f, err := os.Open(filepath.Join(s.dir, rel))
	if err != nil {
		return sdk.Event{}, snapshot{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return sdk.Event{}, snapshot{}, err
	}
	name := filepath.ToSlash(rel)
	r := sdk.TrackRead(ctx, name, info.Size(), f)
	defer r.Finish()
	content, err := io.ReadAll(r)
	if err != nil {
		return sdk.Event{}, snapshot{}, err
	}
	if s.raw {
		contentType := mime.TypeByExtension(filepath.Ext(rel))
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		return sdk.Event{Body: content, ContentType: contentType, Headers: map[string]string{fileNameHeader: name}}, snapshotOf(info), nil
	}
	// As in the Python Rayvens; content that is not UTF-8 is not kept
	// byte for byte (file-source-raw keeps it).
	body, err := json.Marshal(struct {
		Filename string `json:"filename"`
		Body     string `json:"body"`
	}{name, string(content)})
	if err != nil {
		return sdk.Event{}, snapshot{}, err
	}
	return sdk.Event{Body: body, ContentType: "application/json", Headers: map[string]string{fileNameHeader: name}}, snapshotOf(info), nil
}

// acker returns the Ack of the event of file rel, read as snap: it runs
// finish once, however often it is called.
func (s *source) acker(rel string, snap snapshot) func(error) {
	var once sync.Once
	return func(err error) { once.Do(func() { s.finish(rel, snap, err) }) }
}

// finish does what the ack of file rel calls for: nothing when the event
// was not accepted (the next poll reads the file again), leave it in place
// and not read it again unless it changes when the event failed, otherwise
// (the event is done) keep, move or delete it. The file stays pending until that is done, so no poll
// sees it half-way.
func (s *source) finish(rel string, snap snapshot, ackErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer delete(s.pending, rel)
	if sdk.IsFailed(ackErr) {
		// Reading it again would fail again: it stays, and is read again
		// only if it changes.
		s.log.Warn("a file's event failed; the file is left in place and read again only if it changes", "file", rel, "error", ackErr)
		s.kept[rel] = snap
		return
	}
	if ackErr != nil {
		s.log.Debug("a file's event was not accepted; it will be read again", "file", rel, "error", ackErr)
		return
	}
	if s.keep {
		s.kept[rel] = snap
		return
	}
	path := filepath.Join(s.dir, rel)
	info, err := os.Stat(path)
	if err != nil {
		return // already gone
	}
	if snapshotOf(info) != snap {
		s.log.Info("a file changed after it was read; it will be read again", "file", rel)
		return
	}
	if s.moveTo != "" {
		err = move(path, filepath.Join(s.moveTo, rel))
	} else {
		err = os.Remove(path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("cannot move or delete a file that was read; it is left in place and not read again in this run", "file", rel, "error", err)
		s.kept[rel] = snap
	}
}

// move renames path to dest, creating dest's directory if needed.
func move(path, dest string) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	return os.Rename(path, dest)
}

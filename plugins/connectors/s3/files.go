package s3

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// filesPeriod is how often from_file and from_directory are looked at, as
// Camel's file component (which the Python Rayvens used) does.
const filesPeriod = 500 * time.Millisecond

// localFiles uploads the files that appear in a local directory (every
// one: from_directory; one name: from_file) and then deletes them, or
// remembers them (keep_file). A file is deleted only once the store
// confirmed its upload; a failed upload is logged and tried again at the
// next look. Its goroutine belongs to the sink, which stops it in Close.
type localFiles struct {
	sink   *sink
	dir    string
	only   string // from_file's name; "" for every file of dir
	keep   bool
	period time.Duration

	// last is what the previous look saw of each file, to tell a file
	// still being written from one that is done; kept holds the files
	// uploaded and left in place, as they were then.
	last, kept map[string]fileVersion
	// failed holds, by file, why its last upload failed, so that a
	// failure that repeats at every look is logged once.
	failed map[string]string

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// fileVersion identifies a version of a file.
type fileVersion struct {
	size  int64
	mtime time.Time
}

// watchFiles starts uploading fromFile or the files of fromDir.
func watchFiles(kind string, s *sink, fromFile, fromDir string, keep bool) (*localFiles, error) {
	l := &localFiles{sink: s, keep: keep, period: filesPeriod, last: map[string]fileVersion{}, kept: map[string]fileVersion{}, failed: map[string]string{}, done: make(chan struct{})}
	param := "from_directory"
	l.dir = fromDir
	if fromFile != "" {
		param = "from_file"
		l.dir, l.only = filepath.Dir(fromFile), filepath.Base(fromFile)
	}
	info, err := os.Stat(l.dir)
	if err != nil || !info.IsDir() {
		return nil, fmt.Errorf("%s: %s: the directory %q does not exist", kind, param, l.dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(ctx)
	return l, nil
}

// stop ends the goroutine and waits for it.
func (l *localFiles) stop() {
	l.once.Do(l.cancel)
	<-l.done
}

func (l *localFiles) run(ctx context.Context) {
	defer close(l.done)
	ticker := time.NewTicker(l.period)
	defer ticker.Stop()
	for {
		l.look(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// look uploads each file that is ready and not kept as it is.
func (l *localFiles) look(ctx context.Context) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		l.sink.log.Warn("cannot list the directory of the files to upload; trying again", "error", err.Error())
		return
	}
	now := time.Now()
	seen := map[string]fileVersion{}
	for _, e := range entries {
		name := e.Name()
		if (l.only != "" && name != l.only) || strings.HasPrefix(name, ".") {
			continue
		}
		info, err := os.Stat(filepath.Join(l.dir, name))
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		v := fileVersion{size: info.Size(), mtime: info.ModTime()}
		seen[name] = v
		if k, ok := l.kept[name]; ok && k == v {
			continue
		}
		// Ready: unchanged since the previous look, or untouched for a
		// whole period.
		if prev, ok := l.last[name]; !(ok && prev == v) && now.Sub(v.mtime) < l.period {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		l.uploadOne(ctx, name, v)
	}
	for name := range l.kept {
		if _, ok := seen[name]; !ok {
			delete(l.kept, name)
		}
	}
	for name := range l.failed {
		if _, ok := seen[name]; !ok {
			delete(l.failed, name)
		}
	}
	l.last = seen
}

// uploadOne uploads the file name under its name, then deletes or keeps it.
func (l *localFiles) uploadOne(ctx context.Context, name string, v fileVersion) {
	path := filepath.Join(l.dir, name)
	err := l.sink.upload(ctx, path, filepath.ToSlash(name), mime.TypeByExtension(filepath.Ext(name)))
	if err != nil {
		if ctx.Err() == nil && l.failed[name] != err.Error() {
			l.failed[name] = err.Error()
			l.sink.log.Warn("cannot upload a file; it is left in place and tried again every half second (said once while the reason stays the same)", "file", path, "error", err.Error())
		}
		return
	}
	if _, ok := l.failed[name]; ok {
		delete(l.failed, name)
		l.sink.log.Info("a file that could not be uploaded is uploaded", "file", path)
	}
	if l.keep {
		l.kept[name] = v
		return
	}
	if info, err := os.Stat(path); err == nil && (fileVersion{size: info.Size(), mtime: info.ModTime()}) != v {
		l.sink.log.Info("a file changed while it was uploaded; it is left in place and uploaded again", "file", path)
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.sink.log.Error("cannot delete a file that was uploaded; it is left in place and not uploaded again unless it changes", "file", path, "error", err.Error())
		l.kept[name] = v
	}
}

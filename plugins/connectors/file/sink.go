package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// sink is one file-sink instance. Its files are created through an
// os.Root, so no name, not even through a symbolic link, reaches outside
// the directory.
type sink struct {
	root     *os.Root
	fileName string // for events without a CamelFileName header
}

// generated numbers the generated file names of this process, so two
// events in the same nanosecond still get two files.
var generated atomic.Uint64

func newSink(cfg sdk.Config, _ *slog.Logger) (sdk.Sink, error) {
	dir := cfg.String("path")
	fileName := cfg.String("fileName")
	if fileName != "" {
		if err := checkName(fileName); err != nil {
			return nil, fmt.Errorf("file-sink: fileName: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("file-sink: cannot create the directory %q: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("file-sink: cannot open the directory %q: %w", dir, err)
	}
	return &sink{root: root, fileName: fileName}, nil
}

// checkName refuses a file name that is not a path inside the directory.
func checkName(name string) error {
	if !filepath.IsLocal(name) || filepath.Clean(name) == "." {
		return fmt.Errorf("the file name %q is not a name inside the directory (absolute paths and .. are refused)", name)
	}
	return nil
}

// Write writes each event of the batch to its file. Names are checked
// first, so a batch with a bad name writes nothing; a failed write returns
// an error and the host sends the batch again (files already written are
// then written again: the same name is replaced, a generated one repeats).
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	names := make([]string, len(batch))
	for i, ev := range batch {
		name := ev.Headers[fileNameHeader]
		if name == "" {
			name = s.fileName
		}
		if name == "" {
			name = "rayvens-" + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + strconv.FormatUint(generated.Add(1), 10)
		}
		if err := checkName(name); err != nil {
			return sdk.Permanent(fmt.Errorf("file-sink: %w", err))
		}
		names[i] = filepath.Clean(name)
	}
	dirs := map[string]bool{}
	for i, ev := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.write(names[i], ev.Body); err != nil {
			return fmt.Errorf("file-sink: cannot write %q: %w", names[i], err)
		}
		dirs[filepath.Dir(names[i])] = true
	}
	// The renames are durable once their directories are synced.
	for dir := range dirs {
		if err := s.syncDir(dir); err != nil {
			return fmt.Errorf("file-sink: cannot sync the directory of %q: %w", dir, err)
		}
	}
	return nil
}

// write replaces the file name with body atomically: a hidden temporary
// file in the same directory (which file-source skips), synced, then
// renamed into place.
func (s *sink) write(name string, body []byte) (err error) {
	dir := filepath.Dir(name)
	if dir != "." {
		if err := s.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := filepath.Join(dir, "."+filepath.Base(name)+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = s.root.Remove(tmp)
		}
	}()
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return s.root.Rename(tmp, name)
}

func (s *sink) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// Close releases the directory.
func (s *sink) Close() error { return s.root.Close() }

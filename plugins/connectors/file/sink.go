package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"syscall"
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

func newSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
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
	removeLeftovers(root, log)
	return &sink{root: root, fileName: fileName}, nil
}

// A temporary file is named for the file it becomes, the process that
// writes it and a random number: .<name>.rayvens-tmp-<pid>-<random>. The
// pid tells a leftover of a process that was killed (which nothing else
// will remove) from the file another live instance is writing.
var leftover = regexp.MustCompile(`^\..+\.rayvens-tmp-([0-9]+)-[0-9a-z]+$`)

// tempName returns a new temporary name for the file name.
func tempName(name string) string {
	return filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".rayvens-tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(rand.Uint64(), 36))
}

// removeLeftovers removes, anywhere under root, the temporary files of
// processes that are gone: a sink killed between creating one and renaming
// it leaves it behind, with an event's data in it. Files of live processes
// and any other file are left alone. It cannot fail the sink: what it
// cannot list or remove is logged.
func removeLeftovers(root *os.Root, log *slog.Logger) {
	_ = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			log.Warn("cannot look for temporary files left by an earlier run", "dir", name, "error", err.Error())
			return nil
		}
		m := leftover.FindStringSubmatch(d.Name())
		if d.IsDir() || m == nil {
			return nil
		}
		if pid, err := strconv.Atoi(m[1]); err != nil || running(pid) {
			return nil
		}
		if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cannot remove a temporary file left by an earlier run", "file", name, "error", err.Error())
			return nil
		}
		log.Info("removed a temporary file left by an earlier run that stopped while writing", "file", name)
		return nil
	})
}

// running reports whether a process pid may exist: only a definite "no
// such process" is false, so a file is never removed on a doubt.
func running(pid int) bool {
	if pid <= 0 {
		return true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false // Windows looks the process up here
	}
	defer p.Release()
	err = p.Signal(syscall.Signal(0))
	return !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH)
}

// checkName refuses a file name that is not a path inside the directory.
func checkName(name string) error {
	if !filepath.IsLocal(name) || filepath.Clean(name) == "." {
		return fmt.Errorf("the file name %q is not a name inside the directory (absolute paths and .. are refused)", name)
	}
	return nil
}

// Write writes each event of the batch to its file, in order. An event
// with a bad name fails alone (a permanent partial error: those before it
// are written, those after it are sent again); a failed write returns a
// partial error and the host sends that event and the rest again. The
// renames are durable once their directories are synced, which happens
// before any event is acknowledged.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	dirs := map[string]bool{}
	written := func(i int, err error) error {
		for dir := range dirs {
			if serr := s.syncDir(dir); serr != nil {
				// Nothing is known to be durable: the whole batch again.
				return fmt.Errorf("file-sink: cannot sync the directory of %q: %w", dir, serr)
			}
		}
		return sdk.Partial(i, err)
	}
	for i, ev := range batch {
		if err := ctx.Err(); err != nil {
			return written(i, err)
		}
		name := ev.Headers[fileNameHeader]
		if name == "" {
			name = s.fileName
		}
		if name == "" {
			name = "rayvens-" + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + strconv.FormatUint(generated.Add(1), 10)
		}
		if err := checkName(name); err != nil {
			return written(i, sdk.Permanent(fmt.Errorf("file-sink: %w", err)))
		}
		name = filepath.Clean(name)
		if err := s.write(name, ev.Body); err != nil {
			return written(i, fmt.Errorf("file-sink: cannot write %q: %w", name, err))
		}
		dirs[filepath.Dir(name)] = true
	}
	return written(len(batch), nil)
}

// write replaces the file name with body atomically: a hidden temporary
// file in the same directory (which file-source skips), synced, then
// renamed into place.
func (s *sink) write(name string, body []byte) (err error) {
	if dir := filepath.Dir(name); dir != "." {
		if err := s.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := tempName(name)
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

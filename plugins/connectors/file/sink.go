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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// What file-sink does with a file that exists (fileExist, as in Camel's
// file component): replace it (the default), or append to it.
const (
	override = "Override"
	appendTo = "Append"
)

// sink is one file-sink instance. Its files are created through an
// os.Root, so no name, not even through a symbolic link, reaches outside
// the directory.
type sink struct {
	root       *os.Root
	dir        string // absolute, for the appenders shared by the process
	log        *slog.Logger
	fileName   string // for events without a CamelFileName header
	append     bool   // fileExist=Append
	suffix     []byte // appendChars, written after each event
	forceWrite bool   // forceWrites: sync before acknowledging

	// fixed is the appender of fileName, open for the instance's life
	// (appending); the other names are opened for one batch at a time.
	fixed *appender
	// buf and ends are what appendBatch writes, and where its events end,
	// kept from one batch to the next (Write is called one at a time).
	buf  []byte
	ends []int
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
		fileName = filepath.Clean(fileName)
	}
	var appending bool
	switch exist := cfg.String("fileExist"); {
	case strings.EqualFold(exist, override):
	case strings.EqualFold(exist, appendTo):
		appending = true
	default:
		return nil, fmt.Errorf("file-sink: fileExist must be %s or %s, got %q", override, appendTo, exist)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("file-sink: cannot create the directory %q: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file-sink: cannot open the directory %q: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("file-sink: cannot open the directory %q: %w", dir, err)
	}
	s := &sink{
		root: root, dir: abs, log: log, fileName: fileName, append: appending,
		suffix: []byte(cfg.String("appendChars")), forceWrite: cfg.Bool("forceWrites"),
	}
	s.removeLeftovers()
	return s, nil
}

// A temporary file is named for the file it becomes, the process that
// writes it and a random number: .<name>.rayvens-tmp-<pid>-<random>. The
// pid tells a leftover of a process that was killed (which nothing else
// will remove) from the file another live instance is writing.
var leftover = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\..+\.rayvens-tmp-([0-9]+)-[0-9a-z]+$`)
})

// tempName returns a new temporary name for the file name.
func tempName(name string) string {
	return filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".rayvens-tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(rand.Uint64(), 36))
}

// removeLeftovers removes, anywhere under root, the temporary files of
// processes that are gone: a sink killed between creating one and renaming
// it leaves it behind, with an event's data in it. Files of live processes
// and any other file are left alone. It also recovers the files that a
// process that is gone was appending to (see append.go). It cannot fail
// the sink: what it cannot list or remove is logged.
func (s *sink) removeLeftovers() {
	_ = fs.WalkDir(s.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			s.log.Warn("cannot look for temporary files left by an earlier run", "dir", name, "error", err.Error())
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if journalFile().MatchString(d.Name()) {
			recoverJournal(s.root, s.dir, name, s.log)
			return nil
		}
		m := leftover().FindStringSubmatch(d.Name())
		if m == nil {
			return nil
		}
		if pid, err := strconv.Atoi(m[1]); err != nil || running(pid) {
			return nil
		}
		if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("cannot remove a temporary file left by an earlier run", "file", name, "error", err.Error())
			return nil
		}
		s.log.Info("removed a temporary file left by an earlier run that stopped while writing", "file", name)
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

// Write writes the events of the batch to their files, in order. An event
// with a bad name fails alone (a permanent partial error: those before it
// are written, those after it are sent again); a failed write returns a
// partial error, and the host sends the events not written again. With
// forceWrites, what Write acknowledges is on disk: each replaced file and
// its directory, or each appended file, is synced before Write returns;
// without it, it is in the OS, which survives a crash of the process but
// not of the machine.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	if s.append {
		return s.appendBatch(ctx, batch)
	}
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
		name, err := s.nameOf(ev)
		if err != nil {
			return written(i, err)
		}
		if err := s.write(name, ev.Body); err != nil {
			return written(i, fmt.Errorf("file-sink: cannot write %q: %w", name, err))
		}
		if s.forceWrite {
			dirs[filepath.Dir(name)] = true
		}
	}
	return written(len(batch), nil)
}

// nameOf is the name of the file an event goes to, cleaned: its
// CamelFileName header, else fileName, else a new unique name. A name
// outside the directory is a permanent error.
func (s *sink) nameOf(ev sdk.Event) (string, error) {
	name := ev.Headers[fileNameHeader]
	if name == "" && s.fileName != "" {
		return s.fileName, nil // checked and cleaned by newSink
	}
	if name == "" {
		name = "rayvens-" + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + strconv.FormatUint(generated.Add(1), 10)
	}
	if err := checkName(name); err != nil {
		return "", sdk.Permanent(fmt.Errorf("file-sink: %w", err))
	}
	return filepath.Clean(name), nil
}

// maxKeptBuf is the largest buffer kept from one batch to the next.
const maxKeptBuf = 1 << 20

// appendBatch appends the events of the batch to their files: each run of
// consecutive events to one file with one write (and one sync), so that a
// batch to a fixed fileName is one write.
func (s *sink) appendBatch(ctx context.Context, batch []sdk.Event) error {
	buf, ends := s.buf, s.ends
	defer func() {
		if cap(buf) <= maxKeptBuf {
			s.buf, s.ends = buf[:0], ends[:0] // kept for the next batch
		}
	}()
	for i := 0; i < len(batch); {
		if err := ctx.Err(); err != nil {
			return sdk.Partial(i, err)
		}
		name, err := s.nameOf(batch[i])
		if err != nil {
			return sdk.Partial(i, err)
		}
		// The run of events from i on that go to name.
		buf, ends = buf[:0], ends[:0]
		j := i
		for ; j < len(batch); j++ {
			if j > i {
				if next, err := s.nameOf(batch[j]); err != nil || next != name {
					break
				}
			}
			buf = append(append(buf, batch[j].Body...), s.suffix...)
			ends = append(ends, len(buf))
		}
		n, err := s.appendTo(name, buf, ends)
		if err != nil {
			return sdk.Partial(i+n, fmt.Errorf("file-sink: cannot append to %q: %w", name, err))
		}
		i = j
	}
	return nil
}

// appendTo appends buf (events ending at ends) to the file name and
// returns how many of the events it wrote.
func (s *sink) appendTo(name string, buf []byte, ends []int) (int, error) {
	if name == s.fileName && s.fixed != nil {
		if !s.fixed.isBroken() {
			return s.fixed.append(buf, ends, s.forceWrite)
		}
		err := s.fixed.release(s.root)
		s.fixed = nil
		if err != nil {
			return 0, err
		}
	}
	a, err := openAppender(s.root, s.dir, name, s.log)
	if err != nil {
		return 0, err
	}
	n, err := a.append(buf, ends, s.forceWrite)
	if name == s.fileName {
		s.fixed = a // kept open until Close
		return n, err
	}
	if rerr := a.release(s.root); rerr != nil {
		s.log.Warn("cannot close a file appended to", "file", name, "error", rerr.Error())
	}
	return n, err
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
	if err == nil && len(s.suffix) > 0 {
		_, err = f.Write(s.suffix)
	}
	if err == nil && s.forceWrite {
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

// Close closes the file appended to and releases the directory.
func (s *sink) Close() error {
	var err error
	if s.fixed != nil {
		err = s.fixed.release(s.root)
	}
	return errors.Join(err, s.root.Close())
}

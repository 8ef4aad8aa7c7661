package file

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Appending (fileExist=Append) writes a whole batch to its file with one
// write, then syncs it once (forceWrites), so a batch costs a few system
// calls however many events it holds.
//
// A crash in the middle of a write (the plugin SIGKILLed) can leave part of
// a batch at the end of the file, and the host sends that batch again,
// since it was never acknowledged: appended after the torn part, it would
// leave half an event in the file. So before each write the sink records
// where the write starts and ends in a journal next to the file,
// .<name>.rayvens-append, and whoever opens the file next (the restarted
// plugin, or a file-sink starting on the directory) cuts off a write that
// stopped between the two. The journal is written to the OS before the
// data, so after a crash of the process it is always there to be read;
// it is not synced, so after a power cut it may be older than the data:
// then the file is kept as it is (an acknowledged event is never cut
// off), and the sink says so. The journal is removed when the file is
// closed cleanly, and it is locked (flock) while the file is open, which
// also keeps two processes from appending to one file at once: the second
// is refused, and its host tries again until the first is done.

// journalSuffix ends the name of an appended file's journal.
const journalSuffix = ".rayvens-append"

// journalName is the journal of the file name.
func journalName(name string) string {
	return filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+journalSuffix)
}

// journalFile recognises a journal's base name; its group is the base name
// of the file it belongs to.
var journalFile = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\.(.+)` + regexp.QuoteMeta(journalSuffix) + `$`)
})

// errBusy is the error of a file another process is appending to.
var errBusy = errors.New("another process is appending to it (another rayvens run?); it is tried again")

// appender is one file open for appending, shared by every instance of
// this process that appends to it (appenders), and its locked journal.
type appender struct {
	mu      sync.Mutex
	name    string // relative to the sink's directory, for messages
	file    *os.File
	journal *os.File
	refs    int    // guarded by appenders.mu
	key     string // in appenders.open
	broken  error  // a write that could not be undone: every later write fails
}

// appenders are the files this process has open for appending, by
// absolute path, so that two instances appending to one file take turns
// instead of refusing each other.
var appenders = struct {
	mu   sync.Mutex
	open map[string]*appender
}{open: map[string]*appender{}}

// openAppender returns the appender of name under root (dir is root's
// absolute path), opening the file and recovering it from a crash first if
// no instance has it open. release must be called once it is no longer
// used.
func openAppender(root *os.Root, dir, name string, log *slog.Logger) (*appender, error) {
	key := filepath.Join(dir, name)
	appenders.mu.Lock()
	defer appenders.mu.Unlock()
	if a := appenders.open[key]; a != nil {
		a.refs++
		return a, nil
	}
	if d := filepath.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	journal, err := lockJournal(root, journalName(name))
	if err != nil {
		return nil, err
	}
	file, err := root.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		_ = journal.Close()
		return nil, err
	}
	a := &appender{name: name, file: file, journal: journal, refs: 1, key: key}
	if err := a.recover(log); err != nil {
		_ = a.close(root)
		return nil, err
	}
	appenders.open[key] = a
	return a, nil
}

// lockJournal opens and locks the journal at name, creating it if needed.
// A journal that another process has locked means that it is appending to
// the file: errBusy. Locking races with a process that removes its journal
// as it closes: a lock on a journal that is no longer the one at name is
// not a lock, so it tries again.
func lockJournal(root *os.Root, name string) (*os.File, error) {
	for range 10 {
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := lockFile(f); err != nil {
			_ = f.Close()
			return nil, err
		}
		held, err1 := f.Stat()
		now, err2 := root.Stat(name)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, nil
		}
		_ = f.Close()
	}
	return nil, errBusy
}

// recover cuts off the part of a write that a crash interrupted, as the
// journal left by the process that crashed records it.
func (a *appender) recover(log *slog.Logger) error {
	start, end, ok, err := readJournal(a.journal)
	if err != nil || !ok {
		return err
	}
	info, err := a.file.Stat()
	if err != nil {
		return err
	}
	switch size := info.Size(); {
	case size > start && size < end:
		if err := a.file.Truncate(start); err != nil {
			return fmt.Errorf("cannot cut off the part of a write a crash interrupted: %w", err)
		}
		log.Warn("cut off the part of a write that a crash interrupted; its events are written again", "file", a.name, "bytes", size-start)
	case size > end:
		log.Warn("the file grew past the last write recorded before a crash (a power cut, or another writer); it is kept as it is, but it may end with part of an event written again after it", "file", a.name)
	}
	return nil
}

// journalLen is the length of a journal's record: the start and end of the
// write in flight, at fixed width so that each record overwrites the last
// in one write.
const journalLen = 2*20 + 2

// readJournal reads the journal's record; ok is false for an empty or a
// damaged one.
func readJournal(f *os.File) (start, end int64, ok bool, err error) {
	buf := make([]byte, journalLen)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, false, err
	}
	fields := strings.Fields(string(buf[:n]))
	if len(fields) != 2 {
		return 0, 0, false, nil
	}
	start, err1 := strconv.ParseInt(fields[0], 10, 64)
	end, err2 := strconv.ParseInt(fields[1], 10, 64)
	return start, end, err1 == nil && err2 == nil && 0 <= start && start <= end, nil
}

// record writes the journal's record of a write from start to end.
func (a *appender) record(start, end int64) error {
	_, err := a.journal.WriteAt(fmt.Appendf(nil, "%020d %020d\n", start, end), 0)
	return err
}

// append writes buf, the events whose ends in buf are ends (in order),
// with one write, and syncs it if sync is set. It returns how many of the
// events are written: all of them with a nil error; after an error, only
// those before the failure, the rest having been cut off again, so that
// the host can send them again.
func (a *appender) append(buf []byte, ends []int, sync bool) (int, error) {
	a.mu.Lock()
	n, err := a.appendLocked(buf, ends, sync)
	broken := a.broken != nil
	a.mu.Unlock()
	if broken {
		appenders.mu.Lock()
		if appenders.open[a.key] == a {
			delete(appenders.open, a.key) // the next open recovers the file
		}
		appenders.mu.Unlock()
	}
	return n, err
}

func (a *appender) appendLocked(buf []byte, ends []int, sync bool) (int, error) {
	if a.broken != nil {
		return 0, a.broken
	}
	info, err := a.file.Stat()
	if err != nil {
		return 0, err
	}
	start := info.Size()
	if err := a.record(start, start+int64(len(buf))); err != nil {
		return 0, err
	}
	n, err := a.file.Write(buf)
	if err == nil && sync {
		if err = a.file.Sync(); err != nil {
			n = 0 // nothing is known to be on disk: all again
		}
	}
	if err == nil {
		return len(ends), nil
	}
	// Keep the events written whole, cut off the rest.
	whole := 0
	for whole < len(ends) && ends[whole] <= n {
		whole++
	}
	keep := start
	if whole > 0 {
		keep += int64(ends[whole-1])
	}
	if terr := a.file.Truncate(keep); terr != nil {
		// The end of the file is unknown now; the journal still says where
		// the write started, so the next open cuts it off.
		a.broken = fmt.Errorf("cannot cut off a write that failed (%v); the file is cut back when it is next opened", terr)
		return 0, errors.Join(err, a.broken)
	}
	if whole > 0 && sync {
		if serr := a.file.Sync(); serr != nil {
			return 0, errors.Join(err, serr)
		}
	}
	return whole, err
}

// release gives up one reference to a; the last one closes the file and
// removes its journal: nothing is in flight any more.
func (a *appender) release(root *os.Root) error {
	appenders.mu.Lock()
	defer appenders.mu.Unlock()
	a.refs--
	if a.refs > 0 {
		return nil
	}
	if appenders.open[a.key] == a {
		delete(appenders.open, a.key)
	}
	return a.close(root)
}

// isBroken reports whether a write could not be undone: a must be released
// and the file opened again.
func (a *appender) isBroken() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.broken != nil
}

func (a *appender) close(root *os.Root) error {
	err := a.file.Close()
	if err == nil && !a.isBroken() {
		// Removed while locked, so that no other process takes it over
		// while a write is still to be recovered.
		err = root.Remove(journalName(a.name))
	}
	return errors.Join(err, a.journal.Close())
}

// recoverJournal recovers the file of the journal name (under root, at
// dir) if the process appending to it crashed: if no live process holds
// the journal. It cannot fail the sink: what it cannot recover is logged,
// and recovered when the file is next appended to.
func recoverJournal(root *os.Root, dir, name string, log *slog.Logger) {
	file := filepath.Join(filepath.Dir(name), journalFile().FindStringSubmatch(filepath.Base(name))[1])
	a, err := openAppender(root, dir, file, log)
	if errors.Is(err, errBusy) {
		return // it is being appended to
	}
	if err != nil {
		log.Warn("cannot recover a file appended to by an earlier run that stopped while writing", "file", file, "error", err.Error())
		return
	}
	if err := a.release(root); err != nil {
		log.Warn("cannot remove the journal of a file appended to by an earlier run", "file", file, "error", err.Error())
	}
}

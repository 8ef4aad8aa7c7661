package sdk

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rayvens/rayvens/plugins/internal/wire"
)

// lifeline is the read end of a pipe whose write end only the host holds.
// Reading it returns only once the host is gone, however it died (even by
// SIGKILL, when it had no chance to stop its plugins), so a plugin never
// outlives its host.
type lifeline struct {
	file      *os.File
	runDir    string // the host's run directory, removed by the last plugin out
	socketDir string // this plugin's socket directory, inside runDir
}

// lifelineFromEnv returns the lifeline the host passed, or nil if it passed
// none.
func lifelineFromEnv() (*lifeline, error) {
	v := os.Getenv(wire.EnvLifelineFD)
	if v == "" {
		return nil, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return nil, fmt.Errorf("%s=%q is not a file descriptor", wire.EnvLifelineFD, v)
	}
	f := os.NewFile(uintptr(fd), "lifeline")
	if f == nil {
		return nil, fmt.Errorf("%s=%q is not a file descriptor", wire.EnvLifelineFD, v)
	}
	return &lifeline{file: f, runDir: os.Getenv(wire.EnvRunDir), socketDir: os.Getenv(wire.EnvSocketDir)}, nil
}

// exitWithHost makes the process clean up and exit (status 0) once the
// host is gone, or when it gets SIGTERM: a host on Linux can have the
// kernel send that to its plugins when it dies, and a plugin killed by it
// would leave its socket behind. beforeExit runs first (it writes the
// profiles, see EnvProfileDir).
func (l *lifeline) exitWithHost(beforeExit func()) {
	terminated := make(chan os.Signal, 1)
	signal.Notify(terminated, syscall.SIGTERM)
	// The host also held the read end of stderr: once it is gone, a log
	// line would kill the plugin with SIGPIPE before it cleans up. Asking
	// for SIGPIPE (and dropping it) makes such writes fail with EPIPE
	// instead, without ignoring the signal in processes the plugin starts.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	gone := make(chan struct{})
	go func() {
		l.wait()
		close(gone)
	}()
	go func() {
		select {
		case <-gone:
		case <-terminated:
		}
		beforeExit()
		l.cleanUp()
		os.Exit(0)
	}()
}

// wait blocks until the host is gone.
func (l *lifeline) wait() {
	_, _ = io.Copy(io.Discard, l.file)
	_ = l.file.Close()
}

// cleanUp removes what the host would have removed: the plugin's socket
// directory, and the run directory when no other plugin still has a socket
// there.
func (l *lifeline) cleanUp() {
	if l.runDir == "" {
		return
	}
	if within(l.runDir, l.socketDir) {
		_ = os.RemoveAll(l.socketDir)
	}
	_ = os.Remove(l.runDir) // fails, as it should, while another plugin's socket directory is there
}

// within reports whether path is strictly inside dir, so that a wrong
// environment never makes a plugin remove anything else.
func within(dir, path string) bool {
	if dir == "" || path == "" {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != "." && rel != ".." && !filepath.IsAbs(rel) &&
		!strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

package plugins

import (
	"os"
	"os/exec"
	"syscall"
)

// dieWithParent asks the kernel to send SIGTERM to the plugin when the host
// dies. The SDK exits on it after removing its socket (SIGKILL would leave
// the socket behind); the lifeline pipe covers a plugin that misses it. The
// signal follows the OS thread that forked the child, and Go keeps its
// threads alive.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// fileOwner returns the uid of the user who owns fi; false when fi.Sys()
// does not say (a FileInfo that does not come from the file system).
func fileOwner(fi os.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

package plugins

import (
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

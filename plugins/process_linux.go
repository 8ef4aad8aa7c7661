package plugins

import (
	"os/exec"
	"syscall"
)

// dieWithParent asks the kernel to SIGKILL the plugin when the host dies.
// (The signal follows the OS thread that forked the child; Go keeps its
// threads alive, and the lifeline pipe covers the rest.)
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

//go:build !linux

package plugins

import (
	"os"
	"os/exec"
)

// dieWithParent has no kernel support outside Linux; the lifeline pipe that
// the SDK watches makes the plugin exit when the host is gone.
func dieWithParent(cmd *exec.Cmd) {}

// fileOwner does not know who owns a file outside Linux: no file is taken
// to be the current user's, so no stale run directory is removed there.
func fileOwner(os.FileInfo) (uid int, ok bool) { return 0, false }

//go:build !linux

package plugins

import "os/exec"

// dieWithParent has no kernel support outside Linux; the lifeline pipe that
// the SDK watches makes the plugin exit when the host is gone.
func dieWithParent(cmd *exec.Cmd) {}

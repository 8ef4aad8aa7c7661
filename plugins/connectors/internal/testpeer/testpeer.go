// Package testpeer finds and runs the real servers that connector tests
// talk to: Debian's mosquitto, redis-server and postgresql. A server that
// is not installed skips the test with the package to install, except
// under CI=true, where .ci/run installs them all and a missing one fails.
package testpeer

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary returns the path of the server program name, looked up on PATH,
// then in dirs (glob patterns such as "/usr/lib/postgresql/*/bin"), then
// in /usr/sbin and /usr/local/sbin. When it is nowhere, the test is
// skipped with a message naming pkg, the Debian package that has it; under
// CI=true it fails instead.
func Binary(t testing.TB, name, pkg string, dirs ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, pattern := range append(dirs, "/usr/sbin", "/usr/local/sbin") {
		matches, _ := filepath.Glob(filepath.Join(pattern, name))
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return m
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (Debian package %s); .ci/run installs it", name, pkg)
	}
	t.Skipf("%s is not installed: apt-get install %s to run this test", name, pkg)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a server process started by Start.
type Server struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	done   chan struct{}
	waited error
}

// Start starts cmd in its own process group, then waits up to 30 s until
// addr (host:port) accepts TCP connections. The server is killed, with
// its whole group, when the test ends; its output is printed if the test
// failed.
func Start(t testing.TB, addr string, cmd *exec.Cmd) *Server {
	t.Helper()
	s := &Server{cmd: cmd, out: new(lockedBuffer), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // no server outlives a killed test binary
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() { s.waited = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("output of %s:\n%s", cmd.Path, s.out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited before it listened on %s (%v):\n%s", cmd.Path, addr, s.waited, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after 30 s:\n%s", cmd.Path, addr, s.out.String())
		}
	}
}

// Kill kills the server and its process group, and waits for it to exit.
func (s *Server) Kill() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-s.done
}

// Output is what the server printed so far.
func (s *Server) Output() string { return s.out.String() }

// Pid is the server's process id.
func (s *Server) Pid() string { return strconv.Itoa(s.cmd.Process.Pid) }

// lockedBuffer is a bytes.Buffer safe for the process's writers and a
// test's reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

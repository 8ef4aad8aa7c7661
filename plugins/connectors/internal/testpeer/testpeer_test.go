package testpeer

import (
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStartRedis starts Debian's redis-server and talks RESP to it.
func TestStartRedis(t *testing.T) {
	bin := Binary(t, "redis-server", "redis-server")
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := Start(t, addr, exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"))
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("PING\r\n"))
	require.NoError(t, err)
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "+PONG\r\n", string(buf[:n]))
	s.Kill()
	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "a killed server no longer listens")
}

// TestStartReportsAnEarlyExit checks that a server that exits at once
// fails the test with its output, instead of waiting 30 s.
func TestStartReportsAnEarlyExit(t *testing.T) {
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(ft, "127.0.0.1:1", exec.Command("sh", "-c", "echo bad config; exit 3"))
	}()
	<-done
	require.Contains(t, ft.msg, "exited before it listened on 127.0.0.1:1")
	require.Contains(t, ft.msg, "bad config")
}

// fakeT records a Fatalf and ends the goroutine, as testing.T does.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper()                        {}
func (f *fakeT) Cleanup(func())                 {}
func (f *fakeT) Fatalf(format string, a ...any) { f.msg = fmt.Sprintf(format, a...); runtime.Goexit() }

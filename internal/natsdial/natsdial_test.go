package natsdial

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":                  "127.0.0.1:4222",
		"h:5000":                     "h:5000",
		"nats://user:hunter2@h:4223": "h:4223",
		"tls://h":                    "h:4222",
		"wss://[::1]:443":            "[::1]:443",
	} {
		got, err := HostOf(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	_, err := HostOf("http://user:hunter2@h:1")
	require.EqualError(t, err, "a server's scheme must be nats, tls, ws or wss")
	_, err = HostOf("nats://")
	require.EqualError(t, err, "a server is not a URL nor a host:port")
}

func TestReconnectDelay(t *testing.T) {
	require.Equal(t, 50*time.Millisecond, ReconnectDelay(1))
	require.Equal(t, 100*time.Millisecond, ReconnectDelay(2))
	require.Equal(t, 2*time.Second, ReconnectDelay(7))
	require.Equal(t, 2*time.Second, ReconnectDelay(1000))
}

func TestDialerRemembersTheCause(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	d := &Dialer{Dialer: net.Dialer{Timeout: time.Second}}
	require.NoError(t, d.LastErr())
	_, err = d.Dial("tcp", addr)
	require.Error(t, err)
	require.ErrorContains(t, d.LastErr(), "connection refused")
}

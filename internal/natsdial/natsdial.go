// Package natsdial is what the nats connectors and the cluster package
// both need to connect to NATS and report failures well: a dialer that
// remembers the real cause (nats.go reports only "no servers available"),
// the reconnect delay, and the host:port of a server URL without its
// credentials.
package natsdial

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Dialer is a nats.Dialer (nats.SetCustomDialer) that remembers the last
// error, which is the cause a user needs when no server can be reached.
type Dialer struct {
	net.Dialer
	mu   sync.Mutex
	last error
}

// Dial dials as net.Dialer does, recording a failure.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	conn, err := d.Dialer.Dial(network, address)
	if err != nil {
		d.mu.Lock()
		d.last = err
		d.mu.Unlock()
	}
	return conn, err
}

// LastErr is the last dial's failure, or nil.
func (d *Dialer) LastErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// ReconnectDelay is the wait before reconnect attempt n (from 1), for
// nats.CustomReconnectDelay: 50 ms, doubling up to 2 s, so that a server
// that restarts is found again soon and one that stays down is not
// hammered.
func ReconnectDelay(attempts int) time.Duration {
	d := 50 * time.Millisecond
	for i := 1; i < attempts && d < 2*time.Second; i++ {
		d *= 2
	}
	return min(d, 2*time.Second)
}

// HostOf returns the host:port of a server as nats.go reads it ("host",
// "host:port", "nats://[user:password@]host:port"), without credentials.
func HostOf(server string) (string, error) {
	if !strings.Contains(server, "://") {
		server = "nats://" + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", errors.New("a server is not a URL nor a host:port")
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return "", errors.New("a server's scheme must be nats, tls, ws or wss")
	}
	if u.Port() == "" {
		return u.Hostname() + ":4222", nil
	}
	return u.Host, nil
}

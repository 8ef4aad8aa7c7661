package nats

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// peer is an embedded nats-server with JetStream on a loopback port, which
// a test can stop and start again on the same port with the same store.
type peer struct {
	t    testing.TB
	opts *server.Options
	srv  *server.Server
}

// startPeer starts a server, changed by configure (credentials, TLS), and
// stops it when the test ends.
func startPeer(t testing.TB, configure ...func(*server.Options)) *peer {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	for _, c := range configure {
		c(opts)
	}
	p := &peer{t: t, opts: opts}
	p.start()
	p.opts.Port = p.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(p.stop)
	return p
}

func (p *peer) start() {
	p.t.Helper()
	srv, err := server.NewServer(p.opts)
	require.NoError(p.t, err)
	go srv.Start()
	require.True(p.t, srv.ReadyForConnections(10*time.Second), "nats-server did not start")
	p.srv = srv
}

func (p *peer) stop() {
	if p.srv != nil {
		p.srv.Shutdown()
		p.srv.WaitForShutdown()
		p.srv = nil
	}
}

// restart stops the server and starts it again on the same port.
func (p *peer) restart() {
	p.t.Helper()
	p.stop()
	p.start()
}

// url is the server's address as a script gives it.
func (p *peer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.opts.Port) }

// client connects the test to the server, as a user of NATS would.
func (p *peer) client(opts ...nats.Option) *nats.Conn {
	p.t.Helper()
	nc, err := nats.Connect(p.url(), append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(20 * time.Millisecond)}, opts...)...)
	require.NoError(p.t, err)
	p.t.Cleanup(nc.Close)
	return nc
}

// jetstream returns a JetStream context of a test client.
func (p *peer) jetstream(opts ...nats.Option) jetstream.JetStream {
	p.t.Helper()
	js, err := jetstream.New(p.client(opts...))
	require.NoError(p.t, err)
	return js
}

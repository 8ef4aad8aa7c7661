package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rayvens/rayvens/internal/natsdial"
)

// Config says how to reach (or start) the NATS servers of a cluster and
// who this process is in it.
type Config struct {
	// URLs are the NATS servers to connect to (nats://host:port, tls://,
	// or host:port), unless Embedded.
	URLs []string
	// Embedded starts a NATS server with JetStream in the process.
	Embedded bool
	// Host is the address the embedded server listens on: "" is all
	// interfaces, so that other hosts can join.
	Host string
	// Port is the embedded server's client port: 0 is 4222, -1 any free
	// port.
	Port int
	// StoreDir is where the embedded server keeps streams: "" is a
	// temporary folder removed by Close.
	StoreDir string
	// Namespace separates the streams of teams sharing one NATS:
	// letters, digits and "-", "rayvens" by default.
	Namespace string
	// Name is the identity of the process, which names its Broadcast
	// consumers (required).
	Name string
	// Username and Password, or Token, log in to the servers (and are
	// required by the embedded server when set).
	Username, Password, Token string
	// CAFile is a PEM file of the authorities to trust for the servers'
	// TLS certificates.
	CAFile string
	// Replicas is the number of servers that keep each stream (1 by
	// default; 3 for a cluster that survives losing a server).
	Replicas int
	// PublishWindow is the number of publishes that may wait for their
	// acknowledgement (256 by default).
	PublishWindow int
	// AckWait is how long the server waits for a dead subscriber before
	// delivering its events again (5 s by default).
	AckWait time.Duration
	// RetryDelay is how long an event handed back by done(err) waits
	// before it is delivered again (1 s by default).
	RetryDelay time.Duration
	// WorkInFlight bounds the events a WorkQueue handler holds at once
	// (64 by default).
	WorkInFlight int
	// Log gets the connection's troubles (reconnects); nil discards them.
	Log *slog.Logger
}

// ParseURL reads the value of a --cluster flag: "embedded",
// "embedded:PORT", "embedded:HOST:PORT" or comma-separated server URLs.
func ParseURL(s string) (Config, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "embedded"); ok {
		switch {
		case rest == "":
			return Config{Embedded: true}, nil
		case strings.HasPrefix(rest, ":"):
			// embedded:PORT, or embedded:HOST:PORT to listen on one
			// address only (127.0.0.1 keeps it to this machine).
			host, portText := "", rest[1:]
			if i := strings.LastIndex(portText, ":"); i >= 0 {
				host, portText = strings.Trim(portText[:i], "[]"), portText[i+1:]
			}
			port, err := strconv.Atoi(portText)
			if err != nil || port < 0 || port > 65535 {
				return Config{}, errors.New("cluster: the port of embedded:PORT must be a number from 0 (any free port) to 65535")
			}
			if port == 0 {
				port = -1 // any free port: a process alone, or one that tells the others its URL
			}
			return Config{Embedded: true, Host: host, Port: port}, nil
		}
	}
	var cfg Config
	for _, u := range strings.Split(s, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if _, err := natsdial.HostOf(u); err != nil {
			return Config{}, fmt.Errorf("cluster: %w", err)
		}
		cfg.URLs = append(cfg.URLs, u)
	}
	if len(cfg.URLs) == 0 {
		return Config{}, errors.New("cluster: give embedded, embedded:PORT or nats://HOST:PORT")
	}
	return cfg, nil
}

// A Cluster is a connection to the NATS servers of a cluster, and the
// embedded server if it started one.
type Cluster struct {
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	srv     *server.Server // the embedded server, or nil
	tempDir string         // the embedded store to remove, or ""

	mu      sync.Mutex
	closed  bool
	streams []*Stream
	subs    []*Subscription
}

// Connect connects to the servers of cfg, starting the embedded server
// first when cfg.Embedded.
func Connect(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := defaults(cfg)
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg}
	urls := cfg.URLs
	if cfg.Embedded {
		if err := c.startServer(); err != nil {
			return nil, err
		}
		urls = []string{c.URL()}
	}
	if err := c.connect(ctx, urls); err != nil {
		c.stopServer()
		return nil, err
	}
	return c, nil
}

func defaults(cfg Config) (Config, error) {
	if cfg.Name == "" {
		return cfg, errors.New("cluster: the process needs a name")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "rayvens"
	}
	for _, r := range cfg.Namespace {
		if !isAlnum(r) && r != '-' {
			return cfg, errors.New("cluster: a namespace holds only letters, digits and -")
		}
	}
	switch {
	case cfg.Username != "" && cfg.Token != "":
		return cfg, errors.New("cluster: a username and a token cannot both be set")
	case (cfg.Username == "") != (cfg.Password == ""):
		return cfg, errors.New("cluster: a username and a password go together")
	}
	if !cfg.Embedded && len(cfg.URLs) == 0 {
		return cfg, errors.New("cluster: no server is given")
	}
	if cfg.Port == 0 {
		cfg.Port = 4222
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.PublishWindow <= 0 {
		cfg.PublishWindow = 256
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 5 * time.Second
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Second
	}
	if cfg.WorkInFlight <= 0 {
		cfg.WorkInFlight = 64
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func (c *Cluster) startServer() error {
	store := c.cfg.StoreDir
	if store == "" {
		dir, err := os.MkdirTemp("", "rayvens-cluster-")
		if err != nil {
			return fmt.Errorf("cluster: a store for the embedded server: %w", err)
		}
		store, c.tempDir = dir, dir
	}
	host := c.cfg.Host
	if host == "" {
		host = "0.0.0.0"
	}
	opts := &server.Options{
		ServerName: "rayvens-" + c.cfg.Name,
		Host:       host, Port: c.cfg.Port,
		JetStream: true, StoreDir: store,
		Username: c.cfg.Username, Password: c.cfg.Password, Authorization: c.cfg.Token,
		NoLog: true, NoSigs: true,
	}
	srv, err := server.NewServer(opts)
	if err == nil {
		go srv.Start()
		if !srv.ReadyForConnections(10 * time.Second) {
			srv.Shutdown()
			err = fmt.Errorf("it did not start listening on %s", net.JoinHostPort(host, strconv.Itoa(c.cfg.Port)))
		}
	}
	if err != nil {
		c.removeStore()
		return fmt.Errorf("cluster: the embedded NATS server: %w", err)
	}
	c.srv = srv
	return nil
}

// URL is the address of the embedded server for the processes of this
// host (loopback when it listens on all interfaces), or "" without one.
func (c *Cluster) URL() string {
	if c.srv == nil {
		return ""
	}
	addr := c.srv.Addr().(*net.TCPAddr)
	host := "127.0.0.1"
	if !addr.IP.IsUnspecified() {
		host = addr.IP.String()
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

func (c *Cluster) connect(ctx context.Context, urls []string) error {
	var shown []string
	for _, u := range urls {
		host, err := natsdial.HostOf(u)
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		shown = append(shown, host)
	}
	timeout := 2 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	d := &natsdial.Dialer{Dialer: net.Dialer{Timeout: timeout}}
	log := c.cfg.Log
	opts := []nats.Option{
		nats.Name("rayvens " + c.cfg.Name),
		nats.Timeout(timeout),
		nats.SetCustomDialer(d),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(natsdial.ReconnectDelay),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("lost the connection to NATS; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to NATS", "server", nc.ConnectedAddr())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS reports an error", "error", err)
		}),
	}
	switch {
	case c.cfg.Username != "":
		opts = append(opts, nats.UserInfo(c.cfg.Username, c.cfg.Password))
	case c.cfg.Token != "":
		opts = append(opts, nats.Token(c.cfg.Token))
	}
	if c.cfg.CAFile != "" {
		pem, err := os.ReadFile(c.cfg.CAFile)
		if err != nil {
			return fmt.Errorf("cluster: the CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("cluster: the CA file %s holds no PEM certificate", c.cfg.CAFile)
		}
		opts = append(opts, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		if errors.Is(err, nats.ErrNoServers) && d.LastErr() != nil {
			err = d.LastErr() // nats.go hides "connection refused" behind ErrNoServers
		}
		return fmt.Errorf("cluster: cannot connect to %s: %w", strings.Join(shown, ", "), err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(5*time.Second), // then the acker sends it again
		jetstream.WithPublishAsyncMaxPending(max(c.cfg.PublishWindow, 4000)))
	if err != nil {
		nc.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	if err := jetStreamReady(ctx, js); err != nil {
		nc.Close()
		return fmt.Errorf("cluster: %s offers no JetStream (a nats-server runs it with -js): %w", strings.Join(shown, ", "), err)
	}
	c.nc, c.js = nc, js
	return nil
}

// jetStreamReady waits, up to ten seconds, for JetStream to answer: the
// servers of a cluster just started elect a leader first.
func jetStreamReady(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		_, err := js.AccountInfo(ctx)
		if err == nil || errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// Close closes the subscriptions, waits for the publishes to be
// acknowledged, drains the connection and stops the embedded server, removing a temporary store.
func (c *Cluster) Close() error {
	c.mu.Lock()
	c.closed = true
	// A copy: each Subscription.Close removes itself from c.subs.
	streams, subs := c.streams, slices.Clone(c.subs)
	c.mu.Unlock()
	for _, sub := range subs {
		sub.Close()
	}
	for _, s := range streams {
		s.close()
	}
	var err error
	if c.nc != nil {
		closed := make(chan struct{})
		c.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
		if err = c.nc.Drain(); err == nil {
			<-closed
		} else {
			c.nc.Close()
		}
	}
	c.stopServer()
	return err
}

func (c *Cluster) stopServer() {
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
		c.srv = nil
	}
	c.removeStore()
}

func (c *Cluster) removeStore() {
	if c.tempDir != "" {
		os.RemoveAll(c.tempDir)
		c.tempDir = ""
	}
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// encode writes a name with letters and digits as they are and every
// other byte as -XX, so that it fits JetStream's names and subjects and
// two names never meet.
func encode(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if isAlnum(rune(name[i])) {
			b.WriteByte(name[i])
		} else {
			fmt.Fprintf(&b, "-%02X", name[i])
		}
	}
	return b.String()
}

package nats

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rayvens/rayvens/internal/natsdial"
	"github.com/rayvens/rayvens/plugins/sdk"
)

// connectionParams are the parameters of both kinds that say how to reach
// and log in to the servers: Rayvens' additions to the Kamelets, with
// Camel's NATS component's names where it has them (connectionTimeout,
// secure).
var connectionParams = []sdk.Param{
	{Name: "username", Type: sdk.String, Description: "The user name to log in with, with password (a server's authorization users)."},
	{Name: "password", Type: sdk.String, Secret: true, Description: "The password of username."},
	{Name: "token", Type: sdk.String, Secret: true, Description: "The authorization token to log in with (a server's authorization token)."},
	{Name: "secure", Type: sdk.Boolean, Default: false, Description: "Whether to require TLS to the servers; it is used anyway for tls:// servers and with tlsCaFile."},
	{Name: "tlsCaFile", Type: sdk.String, Description: "A PEM file of the certificate authorities to trust for the servers' certificates, instead of the system's."},
	{Name: "connectionTimeout", Type: sdk.Integer, Default: 2000, Description: "Milliseconds to wait for each server when connecting."},
}

// settings is how to connect, read from a config by connection.
type settings struct {
	kind    string
	servers string   // as given: may hold credentials
	shown   []string // the servers' host:port, for messages
	timeout time.Duration
	options []nats.Option
}

// connection reads the connection parameters of cfg for kind. It checks
// what can be checked without the network: the servers' URLs, the
// credentials' pairing, the CA file. Its errors name a parameter, never a
// value.
func connection(kind string, cfg sdk.Config, log *slog.Logger) (*settings, error) {
	s := &settings{kind: kind, servers: cfg.String("servers")}
	for _, server := range strings.Split(s.servers, ",") {
		server = strings.TrimSpace(server)
		if server == "" {
			continue
		}
		host, err := natsdial.HostOf(server)
		if err != nil {
			return nil, fmt.Errorf("%s: servers: %w", kind, err)
		}
		s.shown = append(s.shown, host)
	}
	if len(s.shown) == 0 {
		return nil, fmt.Errorf("%s: servers: no server is given", kind)
	}
	if cfg.Int("connectionTimeout") <= 0 {
		return nil, fmt.Errorf("%s: connectionTimeout must be positive", kind)
	}
	s.timeout = cfg.Millis("connectionTimeout")
	s.options = []nats.Option{
		nats.Name("rayvens " + kind),
		nats.Timeout(cfg.Millis("connectionTimeout")),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(natsdial.ReconnectDelay),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("lost the connection to NATS; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to NATS", "server", hostOrURL(nc.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS reports an error", "error", err)
		}),
	}
	user, password, token := cfg.String("username"), cfg.String("password"), cfg.String("token")
	switch {
	case user != "" && token != "":
		return nil, fmt.Errorf("%s: username and token cannot both be set", kind)
	case (user == "") != (password == ""):
		return nil, fmt.Errorf("%s: username and password go together", kind)
	case user != "":
		s.options = append(s.options, nats.UserInfo(user, password))
	case token != "":
		s.options = append(s.options, nats.Token(token))
	}
	if ca := cfg.String("tlsCaFile"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("%s: tlsCaFile: %w", kind, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: tlsCaFile: %s holds no PEM certificate", kind, ca)
		}
		s.options = append(s.options, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	} else if cfg.Bool("secure") {
		s.options = append(s.options, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	return s, nil
}

// connect makes the connection, trying each server once within the
// connection timeout; from then on nats.go reconnects by itself. extra
// are options of one kind (the sink's reconnect buffer).
func (s *settings) connect(extra ...nats.Option) (*nats.Conn, error) {
	d := &natsdial.Dialer{Dialer: net.Dialer{Timeout: s.timeout}}
	opts := append(s.options[:len(s.options):len(s.options)], nats.SetCustomDialer(d))
	nc, err := nats.Connect(s.servers, append(opts, extra...)...)
	if err != nil {
		if errors.Is(err, nats.ErrNoServers) && d.LastErr() != nil {
			err = d.LastErr() // nats.go hides "connection refused" behind ErrNoServers
		}
		return nil, fmt.Errorf("%s: cannot reach %s: %w", s.kind, strings.Join(s.shown, ", "), err)
	}
	return nc, nil
}

// hostOrURL returns the host:port of a redacted URL for a log line.
func hostOrURL(redacted string) string {
	if host, err := natsdial.HostOf(redacted); err == nil {
		return host
	}
	return redacted
}

// Package kafka is the kafka-source and kafka-sink connectors, on
// github.com/twmb/franz-go (kgo), with the parameters of the Apache Camel
// Kamelets of the same names.
//
// The files, one concept each:
//   - kafka.go: the parameters both kinds share and the client options made
//     from them (brokers, SASL, TLS), and the one-line error that says a
//     broker cannot be reached.
//   - source.go: kafka-source, a group consumer whose offsets are committed
//     only for events acknowledged end to end.
//   - offsets.go: the per-partition log of emitted offsets that says how far
//     a partition may be committed (the highest contiguous acknowledged one).
//   - sink.go: kafka-sink, a producer whose Write returns nil only once every
//     record of the batch is acknowledged by the brokers.
//   - headers.go: the Camel header names and how record keys and headers
//     become event headers and back.
//
// Neither New does network I/O: the client connects when the source runs or
// at the sink's first Write. New checks the values that need no broker (the
// addresses, the topic names, the enums, the TLS files); `rayvens check`,
// which does not call New, checks only names, types and required-ness.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// commonParams are the parameters the two Kamelets share, in their order.
func commonParams(direction string) []sdk.Param {
	return []sdk.Param{
		{Name: "topic", Type: sdk.String, Required: true, Description: topicDescription(direction)},
		{Name: "bootstrapServers", Type: sdk.String, Required: true, Aliases: []string{"brokers"}, Description: `Comma separated list of Kafka broker addresses, as host:port ("localhost:9092").`},
		{Name: "saslAuthType", Type: sdk.String, Default: "NONE", Description: "Authentication type to use: NONE for no authentication, PLAIN or SCRAM_SHA_256/SCRAM_SHA_512 for username/password, SSL for certificate-based (TLS with the key store's certificate). OAUTH, AWS_MSK_IAM and KERBEROS are not supported by Rayvens."},
		{Name: "saslUsername", Type: sdk.String, Aliases: []string{"user"}, Description: "Username for SASL authentication. Required when saslAuthType is PLAIN, SCRAM_SHA_256, or SCRAM_SHA_512."},
		{Name: "saslPassword", Type: sdk.String, Secret: true, Aliases: []string{"SASL_password", "password"}, Description: "Password for SASL authentication. Required when saslAuthType is PLAIN, SCRAM_SHA_256, or SCRAM_SHA_512."},
		{Name: "oauthClientId", Type: sdk.String, Description: "OAuth client ID. OAuth is not supported by Rayvens: the parameter is accepted as in the Kamelet, and saslAuthType OAUTH is refused."},
		{Name: "oauthClientSecret", Type: sdk.String, Secret: true, Description: "OAuth client secret. OAuth is not supported by Rayvens."},
		{Name: "oauthTokenEndpointUri", Type: sdk.String, Description: "OAuth token endpoint URI. OAuth is not supported by Rayvens."},
		{Name: "oauthScope", Type: sdk.String, Description: "OAuth scope. OAuth is not supported by Rayvens."},
		{Name: "sslTruststoreLocation", Type: sdk.String, Description: "A PEM file of the certificate authorities to trust; giving it turns TLS on (with SASL too). Java key stores (JKS, PKCS#12) are not read: convert them to PEM."},
		{Name: "sslTruststorePassword", Type: sdk.String, Secret: true, Description: "The password of a Java trust store. PEM files have none, so it is not used."},
		{Name: "sslKeystoreLocation", Type: sdk.String, Description: "A PEM file holding the client's certificate and its unencrypted private key, for mutual TLS; giving it turns TLS on."},
		{Name: "sslKeystorePassword", Type: sdk.String, Secret: true, Description: "The password of a Java key store. PEM files have none, so it is not used."},
		{Name: "sslKeyPassword", Type: sdk.String, Secret: true, Description: "The password of an encrypted private key. Encrypted PEM keys are not supported: giving it is an error."},
	}
}

func topicDescription(direction string) string {
	if direction == "source" {
		return "Comma separated list of Kafka topic names to consume (a regular expression when topicIsPattern is set)."
	}
	return "The Kafka topic to write to, unless an event's kafka.OVERRIDE_TOPIC header names another."
}

// isTopicName reports whether Kafka accepts t as a topic name: 1 to 249
// ASCII letters, digits, '.', '_' and '-'. (Not a regular expression: one
// with {1,249} costs milliseconds at every rayvens start.)
func isTopicName(t string) bool {
	if len(t) == 0 || len(t) > 249 {
		return false
	}
	for _, c := range []byte(t) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// brokers splits bootstrapServers and checks each address has a port.
func brokers(kind string, cfg sdk.Config) ([]string, error) {
	var out []string
	for _, b := range strings.Split(cfg.String("bootstrapServers"), ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return nil, fmt.Errorf("%s: bootstrapServers: each broker address must be host:port", kind)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: bootstrapServers: no broker address given", kind)
	}
	return out, nil
}

// clientOpts are the broker addresses and the options both kinds give kgo:
// the brokers, SASL and TLS. They read local files (the PEM files) but dial
// nothing.
func clientOpts(kind string, cfg sdk.Config) ([]string, []kgo.Opt, error) {
	seeds, err := brokers(kind, cfg)
	if err != nil {
		return nil, nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...)}
	tlsCfg, err := tlsConfig(kind, cfg)
	if err != nil {
		return nil, nil, err
	}
	mech, err := saslMechanism(kind, cfg)
	if err != nil {
		return nil, nil, err
	}
	if cfg.String("saslAuthType") == "SSL" && tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12} // the system's roots
	}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return seeds, opts, nil
}

// saslMechanism is the SASL mechanism saslAuthType names, nil for none.
func saslMechanism(kind string, cfg sdk.Config) (sasl.Mechanism, error) {
	auth := cfg.String("saslAuthType")
	user, pass := cfg.String("saslUsername"), cfg.String("saslPassword")
	switch auth {
	case "NONE", "SSL":
		return nil, nil
	case "PLAIN", "SCRAM_SHA_256", "SCRAM_SHA_512":
	case "OAUTH", "AWS_MSK_IAM", "KERBEROS":
		return nil, fmt.Errorf("%s: saslAuthType: OAuth, AWS MSK IAM and Kerberos authentication are not supported; use NONE, PLAIN, SCRAM_SHA_256, SCRAM_SHA_512 or SSL", kind)
	default:
		return nil, fmt.Errorf("%s: saslAuthType must be one of NONE, PLAIN, SCRAM_SHA_256, SCRAM_SHA_512 or SSL", kind)
	}
	if user == "" || pass == "" {
		return nil, fmt.Errorf("%s: saslAuthType PLAIN and SCRAM need saslUsername and saslPassword", kind)
	}
	switch auth {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM_SHA_256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
}

// tlsConfig is the TLS configuration the PEM files give, nil when neither
// is given.
func tlsConfig(kind string, cfg sdk.Config) (*tls.Config, error) {
	if cfg.String("sslKeyPassword") != "" {
		return nil, fmt.Errorf("%s: sslKeyPassword: encrypted private keys are not supported; give sslKeystoreLocation an unencrypted PEM key", kind)
	}
	trust, keys := cfg.String("sslTruststoreLocation"), cfg.String("sslKeystoreLocation")
	if trust == "" && keys == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if trust != "" {
		data, err := readPEM(trust)
		if err != nil {
			return nil, fmt.Errorf("%s: sslTruststoreLocation: %w", kind, err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("%s: sslTruststoreLocation: the file holds no PEM certificate", kind)
		}
	}
	if keys != "" {
		data, err := readPEM(keys)
		if err != nil {
			return nil, fmt.Errorf("%s: sslKeystoreLocation: %w", kind, err)
		}
		cert, err := tls.X509KeyPair(data, data)
		if err != nil {
			return nil, fmt.Errorf("%s: sslKeystoreLocation: the file must hold a PEM certificate and its unencrypted private key", kind)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// readPEM reads a file that must be PEM.
func readPEM(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	if block, _ := pem.Decode(data); block == nil {
		return nil, errors.New("the file is not PEM (Java key stores, JKS or PKCS#12, are not read: convert them to PEM)")
	}
	return data, nil
}

// reach pings the cluster and, when no broker answers, returns the one-line
// error a user sees: "kafka-source: cannot reach 127.0.0.1:1: dial tcp
// 127.0.0.1:1: connect: connection refused".
func reach(ctx context.Context, kind string, cl *kgo.Client, seeds []string) error {
	err := cl.Ping(ctx)
	if err == nil {
		return nil
	}
	return unreachable(kind, seeds, err)
}

// unreachable words err as "KIND: cannot reach ADDRESSES: CAUSE", the cause
// being the dial error itself when there is one, or says that the brokers
// refused the login.
func unreachable(kind string, seeds []string, err error) error {
	if errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.IllegalSaslState) || errors.Is(err, kerr.UnsupportedSaslMechanism) {
		return fmt.Errorf("%s: %s refused the SASL login: %w", kind, strings.Join(seeds, ","), err)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		err = op
	}
	return fmt.Errorf("%s: cannot reach %s: %w", kind, strings.Join(seeds, ","), err)
}

package nats

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// selfSigned returns a certificate for 127.0.0.1, which is its own
// authority, and the path of its PEM.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	cert, caPEM := testpeer.SelfSigned(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, caPEM, 0o600))
	return cert, path
}

// TestTLS: with tlsCaFile the connectors trust the server's certificate;
// with secure alone (the system's authorities) they do not, and say so.
func TestTLS(t *testing.T) {
	cert, ca := selfSigned(t)
	p := startPeer(t, func(o *server.Options) {
		o.TLS = true
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	})
	pool := x509.NewCertPool()
	pool.AddCert(must(x509.ParseCertificate(cert.Certificate[0])))
	nc := p.client(nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	sub, err := nc.SubscribeSync("out")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	src := sdktest.NewSource(t, SourceKind, map[string]any{"topic": "out", "servers": p.url(), "tlsCaFile": ca})
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	subscribed(t, src)
	sink := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "out", "servers": p.url(), "tlsCaFile": ca})
	require.NoError(t, sdktest.Write(t, sink, sdk.Event{Body: []byte("over TLS")}))
	got, err := sub.NextMsg(sdktest.Timeout)
	require.NoError(t, err)
	require.Equal(t, "over TLS", string(got.Data))
	require.Equal(t, []string{"over TLS"}, bodies(c.Wait(t, 1)))

	untrusting := sdktest.NewSink(t, SinkKind, map[string]any{"topic": "out", "servers": p.url(), "secure": true})
	err = sdktest.Write(t, untrusting, sdk.Event{Body: []byte("x")})
	require.ErrorContains(t, err, "nats-sink: cannot reach 127.0.0.1:"+portOf(p)+": nats: tls error: tls: failed to verify certificate: x509: certificate signed by unknown authority")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

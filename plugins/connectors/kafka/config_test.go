package kafka

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// secret is a distinctive password: no log line or error may show it.
const secret = "s3cr3t-Kafka-7f9Q"

// TestConfigErrors: each bad config is refused when the instance opens,
// with one error naming the kind and the parameter, never the value.
func TestConfigErrors(t *testing.T) {
	pem := filepath.Join(t.TempDir(), "not.pem")
	require.NoError(t, os.WriteFile(pem, []byte("not pem"), 0o644))
	base := map[string]any{"topic": "in", "bootstrapServers": "127.0.0.1:9092", "saslPassword": secret}
	for _, tc := range []struct {
		config map[string]any
		source string // the error of kafka-source
		sink   string // of kafka-sink, when it differs ("" : same with kafka-sink)
	}{
		{config: map[string]any{"bootstrapServers": "nohost"}, source: "kafka-source: bootstrapServers: each broker address must be host:port"},
		{config: map[string]any{"bootstrapServers": " , "}, source: "kafka-source: bootstrapServers: no broker address given"},
		{config: map[string]any{"topic": "a/b"}, source: "kafka-source: topic: a Kafka topic name is 1 to 249 letters, digits, '.', '_' or '-'",
			sink: "kafka-sink: topic: a Kafka topic name is 1 to 249 letters, digits, '.', '_' or '-' (one topic: the sink writes to one)"},
		{config: map[string]any{"saslAuthType": "OAUTH"}, source: "kafka-source: saslAuthType: OAuth, AWS MSK IAM and Kerberos authentication are not supported; use NONE, PLAIN, SCRAM_SHA_256, SCRAM_SHA_512 or SSL"},
		{config: map[string]any{"saslAuthType": "plain"}, source: "kafka-source: saslAuthType must be one of NONE, PLAIN, SCRAM_SHA_256, SCRAM_SHA_512 or SSL"},
		{config: map[string]any{"saslAuthType": "PLAIN"}, source: "kafka-source: saslAuthType PLAIN and SCRAM need saslUsername and saslPassword"},
		{config: map[string]any{"sslKeyPassword": secret}, source: "kafka-source: sslKeyPassword: encrypted private keys are not supported; give sslKeystoreLocation an unencrypted PEM key"},
		{config: map[string]any{"sslTruststoreLocation": pem}, source: "kafka-source: sslTruststoreLocation: the file is not PEM (Java key stores, JKS or PKCS#12, are not read: convert them to PEM)"},
	} {
		cfg := map[string]any{}
		for k, v := range base {
			cfg[k] = v
		}
		for k, v := range tc.config {
			cfg[k] = v
		}
		_, err := sdktest.OpenSource(SourceKind, cfg)
		require.EqualError(t, err, tc.source)
		_, err = sdktest.OpenSink(SinkKind, cfg)
		want := tc.sink
		if want == "" {
			want = "kafka-sink" + tc.source[len("kafka-source"):]
		}
		require.EqualError(t, err, want)
		require.NotContains(t, err.Error(), secret)
	}
	for _, tc := range []struct{ config map[string]any }{
		{map[string]any{"autoOffsetReset": "first"}},
		{map[string]any{"pollOnError": "IGNORE"}},
		{map[string]any{"topicIsPattern": true, "topic": "a[("}},
	} {
		cfg := map[string]any{"topic": "in", "bootstrapServers": "127.0.0.1:9092"}
		for k, v := range tc.config {
			cfg[k] = v
		}
		_, err := sdktest.OpenSource(SourceKind, cfg)
		require.Error(t, err)
		require.Regexp(t, `^kafka-source: (parameter "autoOffsetReset" must be one of|parameter "pollOnError" must be one of|topic[: ])`, err.Error())
	}
	_, err := sdktest.Validate(SourceKind, map[string]any{"topic": "in"})
	require.EqualError(t, err, `kafka-source: missing required parameter "bootstrapServers"`)
}

// TestSASL: PLAIN and SCRAM logins against a cluster that requires them;
// a wrong password is refused, and shown nowhere.
func TestSASL(t *testing.T) {
	p := newPeer(t, kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plain-user", secret),
		kfake.Superuser("SCRAM-SHA-256", "scram-user", secret),
		kfake.Superuser("SCRAM-SHA-512", "scram512-user", secret))
	for _, login := range []struct{ auth, user string }{
		{"PLAIN", "plain-user"}, {"SCRAM_SHA_256", "scram-user"}, {"SCRAM_SHA_512", "scram512-user"},
	} {
		t.Run(login.auth, func(t *testing.T) {
			creds := map[string]any{"saslAuthType": login.auth, "saslUsername": login.user, "SASL_password": secret}
			cfg := sinkConfig(p)
			for k, v := range creds {
				cfg[k] = v
			}
			sink := sdktest.NewSink(t, SinkKind, cfg)
			require.NoError(t, sdktest.Write(t, sink, sdk.Event{Body: []byte(login.auth)}))

			srcCfg := sourceConfig(p, map[string]any{"topic": "out", "consumerGroup": "g-" + login.user})
			for k, v := range creds {
				srcCfg[k] = v
			}
			authed := sdktest.NewSource(t, SourceKind, srcCfg)
			var c sdktest.Collector
			sdktest.Run(t, authed, c.Emit)
			c.Wait(t, 1)
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		var log sdktest.Log
		cfg := sinkConfig(p)
		cfg["saslAuthType"], cfg["saslUsername"], cfg["saslPassword"] = "SCRAM_SHA_256", "scram-user", secret+"-wrong"
		sink := sdktest.NewSink(t, SinkKind, cfg, sdktest.LogTo(&log))
		err := sdktest.Write(t, sink, sdk.Event{Body: []byte("x")})
		require.Error(t, err)
		// kfake closes the connection on a failed login ("EOF"); a real
		// broker's answer is worded "refused the SASL login".
		require.Contains(t, err.Error(), "kafka-sink: cannot reach "+p.addr()+": ")
		require.NotContains(t, err.Error(), secret)
		require.NotContains(t, log.String(), secret)
	})
}

// TestTLS: a cluster that speaks TLS only, trusted through a PEM file.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	serverCfg, caPEM := selfSigned(t)
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, caPEM, 0o644))
	p := newPeer(t, kfake.TLS(serverCfg))
	cfg := sinkConfig(p)
	cfg["sslTruststoreLocation"] = ca
	secure := sdktest.NewSink(t, SinkKind, cfg)
	require.NoError(t, sdktest.Write(t, secure, sdk.Event{Body: []byte("over TLS")}))

	cfg = sinkConfig(p) // without the trust store: TLS is off, the broker answers nothing
	plain := sdktest.NewSink(t, SinkKind, cfg)
	plain.(*sink).timeout = time.Second
	require.Error(t, sdktest.Write(t, plain, sdk.Event{Body: []byte("plain")}))
}

// selfSigned is a TLS server config for 127.0.0.1 and its certificate in PEM.
func selfSigned(t *testing.T) (*tls.Config, []byte) {
	cert, caPEM := testpeer.SelfSigned(t)
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, caPEM
}

package nats

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// secret is a distinctive credential that no log or error may show.
const secret = "s3cr3t-Pa55-4711"

func TestConfigErrors(t *testing.T) {
	_, err := sdktest.Validate(SourceKind, map[string]any{"servers": "127.0.0.1"})
	require.EqualError(t, err, `nats-source: missing required parameter "topic"`)
	_, err = sdktest.Validate(SinkKind, map[string]any{"topic": "t"})
	require.EqualError(t, err, `nats-sink: missing required parameter "servers"`)

	for cfg, msg := range map[*map[string]any]string{
		{"servers": "http://" + secret + "@127.0.0.1"}: "nats-source: servers: a server's scheme must be nats, tls, ws or wss",
		{"servers": " , "}: "nats-source: servers: no server is given",
		{"servers": "nats://127.0.0.1", "username": "u"}:                                      "nats-source: username and password go together",
		{"servers": "nats://127.0.0.1", "password": secret}:                                   "nats-source: username and password go together",
		{"servers": "nats://127.0.0.1", "username": "u", "password": secret, "token": secret}: "nats-source: username and token cannot both be set",
		{"servers": "nats://127.0.0.1", "ackWait": 0}:                                         "nats-source: ackWait must be positive",
		{"servers": "nats://127.0.0.1", "connectionTimeout": -1}:                              "nats-source: connectionTimeout must be positive",
		{"servers": "nats://127.0.0.1", "jetstreamEnabled": true, "queueName": "q"}:           "nats-source: queueName is for core NATS: JetStream instances that share durableName share its messages",
	} {
		config := map[string]any{"topic": "t"}
		for k, v := range *cfg {
			config[k] = v
		}
		_, err := sdktest.OpenSource(SourceKind, config)
		require.EqualError(t, err, msg)
	}
	_, err = sdktest.OpenSink(SinkKind, map[string]any{"topic": "orders.*", "servers": "127.0.0.1"})
	require.EqualError(t, err, "nats-sink: topic must be a subject without wildcards or spaces")
	_, err = sdktest.OpenSink(SinkKind, map[string]any{"topic": "t", "servers": "127.0.0.1", "tlsCaFile": t.TempDir() + "/none.pem"})
	require.ErrorContains(t, err, "nats-sink: tlsCaFile: open ")
}

// TestCredentials logs in with user and password, and with a token, to a
// server that requires them; a wrong secret is refused, and no secret is
// in what the connectors log or return.
func TestCredentials(t *testing.T) {
	users := startPeer(t, func(o *server.Options) { o.Username, o.Password = "rayvens", secret })
	tokens := startPeer(t, func(o *server.Options) { o.Authorization = secret })
	for name, tc := range map[string]struct {
		p         *peer
		good, bad map[string]any
	}{
		"user":  {users, map[string]any{"username": "rayvens", "password": secret}, map[string]any{"username": "rayvens", "password": secret + "-wrong"}},
		"url":   {users, map[string]any{"servers": "nats://rayvens:" + secret + "@127.0.0.1:" + portOf(users)}, map[string]any{"servers": "nats://rayvens:" + secret + "x@127.0.0.1:" + portOf(users)}},
		"token": {tokens, map[string]any{"token": secret}, map[string]any{"token": secret + "-wrong"}},
	} {
		t.Run(name, func(t *testing.T) {
			config := func(extra map[string]any) map[string]any {
				cfg := map[string]any{"topic": "t", "servers": tc.p.url()}
				for k, v := range extra {
					cfg[k] = v
				}
				return cfg
			}
			var log sdktest.Log
			sink := sdktest.NewSink(t, SinkKind, config(tc.good), sdktest.LogTo(&log))
			require.NoError(t, sdktest.Write(t, sink, sdk.Event{Body: []byte("hello")}))

			bad := sdktest.NewSink(t, SinkKind, config(tc.bad), sdktest.LogTo(&log))
			err := sdktest.Write(t, bad, sdk.Event{Body: []byte("hello")})
			require.ErrorContains(t, err, "nats-sink: cannot reach 127.0.0.1:"+portOf(tc.p)+": nats: Authorization Violation")
			src := sdktest.NewSource(t, SourceKind, config(tc.bad), sdktest.LogTo(&log))
			var c sdktest.Collector
			runErr := sdktest.Run(t, src, c.Emit).Wait()
			require.ErrorContains(t, runErr, "nats-source: cannot reach 127.0.0.1:"+portOf(tc.p)+": nats: Authorization Violation")
			for _, text := range []string{err.Error(), runErr.Error(), log.String()} {
				require.NotContains(t, text, secret)
			}
		})
	}
}

func portOf(p *peer) string { return p.url()[len("nats://127.0.0.1:"):] }

package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

func TestParseURL(t *testing.T) {
	for in, want := range map[string]Config{
		"embedded":                       {Embedded: true},
		"embedded:4333":                  {Embedded: true, Port: 4333},
		"embedded:127.0.0.1:4333":        {Embedded: true, Host: "127.0.0.1", Port: 4333},
		"embedded:[::1]:4333":            {Embedded: true, Host: "::1", Port: 4333},
		"embedded:127.0.0.1:0":           {Embedded: true, Host: "127.0.0.1", Port: -1},
		"nats://a:4222, nats://b:4222":   {URLs: []string{"nats://a:4222", "nats://b:4222"}},
		"tls://user:secret@host:4222":    {URLs: []string{"tls://user:secret@host:4222"}},
		"host-without-scheme:4222,host2": {URLs: []string{"host-without-scheme:4222", "host2"}},
	} {
		got, err := ParseURL(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for in, want := range map[string]string{
		"embedded:x":                 "cluster: the port of embedded:PORT must be a number from 0 (any free port) to 65535",
		"embedded:70000":             "cluster: the port of embedded:PORT must be a number from 0 (any free port) to 65535",
		"embedded:localhost:":        "cluster: the port of embedded:PORT must be a number from 0 (any free port) to 65535",
		"":                           "cluster: give embedded, embedded:PORT or nats://HOST:PORT",
		"http://user:secret@host:80": "cluster: a server's scheme must be nats, tls, ws or wss",
	} {
		_, err := ParseURL(in)
		require.EqualError(t, err, want, in)
	}
}

func TestAnUnreachableServerIsOneErrorNamingIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Connect(ctx, Config{URLs: []string{"nats://user:secret-pass@127.0.0.1:1"}, Name: "one"})
	require.ErrorContains(t, err, "cluster: cannot connect to 127.0.0.1:1: ")
	require.ErrorContains(t, err, "connection refused")
	require.NotContains(t, err.Error(), "secret-pass")
	t.Log(err)
}

func TestAWrongPasswordIsOneErrorWithoutIt(t *testing.T) {
	srv := embedded(t, "server", func(cfg *Config) { cfg.Username, cfg.Password = "rayvens", "right-pass" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Connect(ctx, Config{URLs: []string{srv.URL()}, Name: "one", Username: "rayvens", Password: "wrong-pass"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "cluster: cannot connect to "+srv.URL()[len("nats://"):]+": ")
	require.Contains(t, err.Error(), "uthorization")
	require.NotContains(t, err.Error(), "wrong-pass")
	require.NotContains(t, err.Error(), "right-pass")
	t.Log(err)

	join(t, "one", []string{srv.URL()}, func(cfg *Config) { cfg.Username, cfg.Password = "rayvens", "right-pass" })
}

func TestANamespaceClashIsOneError(t *testing.T) {
	c := embedded(t, "one")
	_, err := c.js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "rayvens_jobs", Subjects: []string{"billing.>"}})
	require.NoError(t, err)
	_, err = c.Stream(context.Background(), "jobs")
	require.EqualError(t, err, `cluster: stream "jobs": the JetStream stream rayvens_jobs exists for other subjects than rayvens.stream.jobs; choose another namespace`)

	other := join(t, "two", []string{c.URL()}, func(cfg *Config) { cfg.Namespace = "team-b" })
	s := stream(t, other, "jobs")
	publish(t, s, 0, 1)
}

func TestNamesFitJetStreamAndNeverMeet(t *testing.T) {
	require.Equal(t, "jobs", encode("jobs"))
	require.Equal(t, "a-2Eb", encode("a.b"))
	require.NotEqual(t, encode("a.b"), encode("a_b"))
	require.NotEqual(t, encode("a-2Eb"), encode("a.b"))
	c := embedded(t, "one")
	for _, name := range []string{"a.b", "a b", "a*>/\\", "été"} {
		publish(t, stream(t, c, name), 0, 1)
	}
}

func TestAServerWithoutJetStreamIsOneError(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	require.True(t, srv.ReadyForConnections(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = Connect(ctx, Config{URLs: []string{srv.ClientURL()}, Name: "one"})
	require.ErrorContains(t, err, "offers no JetStream (a nats-server runs it with -js): ")
	t.Log(err)
}

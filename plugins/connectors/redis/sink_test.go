package redis

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func event(body string, headers ...string) sdk.Event {
	ev := sdk.Event{Body: []byte(body)}
	if len(headers) > 0 {
		ev.Headers = map[string]string{}
		for i := 0; i+1 < len(headers); i += 2 {
			ev.Headers[headers[i]] = headers[i+1]
		}
	}
	return ev
}

func TestSinkPublishes(t *testing.T) {
	p := startRedis(t)
	sub := p.client("").Subscribe(context.Background(), "a", "b", "c", "d")
	t.Cleanup(func() { _ = sub.Close() })
	_, err := sub.Receive(context.Background()) // subscribed
	require.NoError(t, err)

	s := sdktest.NewSink(t, SinkKind, p.config("command", "publish", "channels", "a,b"))
	require.NoError(t, sdktest.Write(t, s,
		event("to both"),
		event("to c", "CamelRedis.OverrideChannel", "c"),
		event("to d", "channel", "d"),
		// A source's event, passed through: its channel is where it came
		// from, not where it goes.
		event("from d, to both", "CamelRedis.Channel", "d"),
	))
	var got []string
	for range 5 {
		m, err := sub.ReceiveMessage(context.Background())
		require.NoError(t, err)
		got = append(got, m.Channel+": "+m.Payload)
	}
	require.Equal(t, []string{"a: to both", "b: to both", "c: to c", "d: to d", "a: from d, to both"}, got)
}

func TestSinkWritesKeys(t *testing.T) {
	p := startRedis(t)
	c := p.client("")
	ctx := context.Background()

	set := sdktest.NewSink(t, SinkKind, p.config("command", "SET", "key", "latest"))
	require.NoError(t, sdktest.Write(t, set, event("v1"), event("v2"), event("other", "CamelRedis.Key", "k2"), event("third", "key", "k3")))
	require.Equal(t, "v2", c.Get(ctx, "latest").Val())
	require.Equal(t, "other", c.Get(ctx, "k2").Val())
	require.Equal(t, "third", c.Get(ctx, "k3").Val())

	rpush := sdktest.NewSink(t, SinkKind, p.config("command", "RPUSH", "key", "queue"))
	require.NoError(t, sdktest.Write(t, rpush, event("1"), event("2"), event("3")))
	require.Equal(t, []string{"1", "2", "3"}, c.LRange(ctx, "queue", 0, -1).Val())

	lpush := sdktest.NewSink(t, SinkKind, p.config("command", "LPUSH", "key", "stack"))
	require.NoError(t, sdktest.Write(t, lpush, event("1"), event("2")))
	require.Equal(t, []string{"2", "1"}, c.LRange(ctx, "stack", 0, -1).Val())

	sadd := sdktest.NewSink(t, SinkKind, p.config("command", "SADD"))
	require.NoError(t, sdktest.Write(t, sadd, event("x", "CamelRedis.Key", "set"), event("y", "CamelRedis.Key", "set"), event("x", "CamelRedis.Key", "set")))
	require.ElementsMatch(t, []string{"x", "y"}, c.SMembers(ctx, "set").Val())
}

// TestSinkFailsOneEvent: an event without a key, or one Redis refuses
// (WRONGTYPE), fails alone; the events before it are written and those
// after it are sent again.
func TestSinkFailsOneEvent(t *testing.T) {
	p := startRedis(t)
	c := p.client("")
	ctx := context.Background()
	s := sdktest.NewSink(t, SinkKind, p.config("command", "RPUSH"))

	err := sdktest.Write(t, s, event("1", "CamelRedis.Key", "l"), event("no key"), event("3", "CamelRedis.Key", "l"))
	require.EqualError(t, err, "redis-sink: an event has no key for RPUSH: give it a CamelRedis.Key header, or give the sink a key")
	require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err))
	require.Equal(t, []string{"1"}, c.LRange(ctx, "l", 0, -1).Val())

	require.NoError(t, c.Set(ctx, "text", "a string", 0).Err())
	err = sdktest.Write(t, s, event("2", "CamelRedis.Key", "l"), event("x", "CamelRedis.Key", "text"), event("3", "CamelRedis.Key", "l"))
	require.ErrorContains(t, err, "redis-sink: "+p.addr()+" refused rpush: WRONGTYPE")
	require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err))
	require.Equal(t, []string{"1", "2", "3"}, c.LRange(ctx, "l", 0, -1).Val(),
		"pipelined: the command after the refused one ran too, and is sent again (at least once)")
}

// TestSinkSurvivesARestart: what the sink acknowledged is in Redis after
// the server is killed and started again; a write while it is down is an
// error (the host sends the batch again), not an acknowledgement.
func TestSinkSurvivesARestart(t *testing.T) {
	p := startRedis(t)
	s := sdktest.NewSink(t, SinkKind, p.config("command", "RPUSH", "key", "log"))
	var want []string
	write := func(from, to int) error {
		var batch []sdk.Event
		for i := from; i < to; i++ {
			batch = append(batch, event(strconv.Itoa(i)))
		}
		return sdktest.Write(t, s, batch...)
	}
	for i := 0; i < 100; i += 10 {
		require.NoError(t, write(i, i+10))
	}
	for i := range 100 {
		want = append(want, strconv.Itoa(i))
	}

	p.kill()
	err := write(100, 110)
	require.ErrorContains(t, err, "redis-sink: cannot reach "+p.addr()+": ")
	require.False(t, sdk.IsPermanent(err), "the host sends the batch again")

	p.start()
	require.NoError(t, write(100, 110), "the batch sent again once the server is back")
	for i := 100; i < 110; i++ {
		want = append(want, strconv.Itoa(i))
	}
	require.Equal(t, want, p.client("").LRange(context.Background(), "log", 0, -1).Val(), "nothing acknowledged is lost")
}

func TestSinkUnreachable(t *testing.T) {
	port := testpeer.FreePort(t)
	s := sdktest.NewSink(t, SinkKind, map[string]any{"redisHost": "127.0.0.1", "redisPort": port, "command": "PUBLISH"})
	err := sdktest.Write(t, s, event("x"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	require.EqualError(t, err, "redis-sink: cannot reach "+addr+": dial tcp "+addr+": connect: connection refused")
	require.Equal(t, []sdktest.Outcome{sdktest.Resent}, sdktest.Outcomes(1, err))
}

func TestSinkPassword(t *testing.T) {
	p := startRedis(t, "--requirepass", secret)
	var log sdktest.Log
	s := sdktest.NewSink(t, SinkKind, p.config("command", "SET", "key", "k", "redisPassword", secret), sdktest.LogTo(&log))
	require.NoError(t, sdktest.Write(t, s, event("v")))
	require.Equal(t, "v", p.client(secret).Get(context.Background(), "k").Val())

	bad := sdktest.NewSink(t, SinkKind, p.config("command", "SET", "key", "k", "redisPassword", secret+"-wrong"), sdktest.LogTo(&log))
	err := sdktest.Write(t, bad, event("w"))
	require.ErrorContains(t, err, "redis-sink: "+p.addr()+" refused the credentials: WRONGPASS")
	require.False(t, sdk.IsPermanent(err))
	none := sdktest.NewSink(t, SinkKind, p.config("command", "SET", "key", "k"), sdktest.LogTo(&log))
	err2 := sdktest.Write(t, none, event("w"))
	require.ErrorContains(t, err2, "redis-sink: "+p.addr()+" refused the credentials: NOAUTH")
	for _, text := range []string{err.Error(), err2.Error(), log.String()} {
		require.NotContains(t, text, secret)
	}
	require.Equal(t, "v", p.client(secret).Get(context.Background(), "k").Val())
}

func TestSinkConfigErrors(t *testing.T) {
	base := func(more ...any) map[string]any {
		cfg := map[string]any{"redisHost": "localhost", "redisPort": 6379}
		for i := 0; i+1 < len(more); i += 2 {
			cfg[more[i].(string)] = more[i+1]
		}
		return cfg
	}
	for _, tc := range []struct {
		config map[string]any
		err    string
	}{
		{base(), "redis-sink: command GET writes nothing: use PUBLISH, SET, LPUSH, RPUSH or SADD"},
		{base("command", "DEL"), `redis-sink: command must be PUBLISH, SET, LPUSH, RPUSH or SADD, got "DEL"`},
		{base("command", "PUBLISH", "channels", ""), "redis-sink: channels names no channel to PUBLISH to"},
		{base("command", "SET", "redisPort", 70000), "redis-sink: redisPort must be a port number (1 to 65535), got 70000"},
		{base("command", "SET", "redisPassword", 12), `redis-sink: parameter "redisPassword" must be a string, got integer`},
	} {
		_, err := sdktest.OpenSink(SinkKind, tc.config)
		require.EqualError(t, err, tc.err)
	}
}

// TestSinkACLUser: redisUsername and redisPassword authenticate as an ACL
// user (Redis 6 or later).
func TestSinkACLUser(t *testing.T) {
	p := startRedis(t, "--user", "writer", "on", ">"+secret, "~*", "&*", "+@all", "--user", "default", "off")
	var log sdktest.Log
	s := sdktest.NewSink(t, SinkKind, p.config("command", "SET", "key", "k", "redisUsername", "writer", "redisPassword", secret), sdktest.LogTo(&log))
	require.NoError(t, sdktest.Write(t, s, event("v")))

	bad := sdktest.NewSink(t, SinkKind, p.config("command", "SET", "key", "k", "redisUsername", "reader", "redisPassword", secret), sdktest.LogTo(&log))
	err := sdktest.Write(t, bad, event("w"))
	require.ErrorContains(t, err, "redis-sink: "+p.addr()+" refused the credentials: WRONGPASS")
	require.NotContains(t, err.Error()+log.String(), secret)
}

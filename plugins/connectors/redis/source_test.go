package redis

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func bodies(c *sdktest.Collector) []string {
	var out []string
	for _, ev := range c.Events() {
		out = append(out, string(ev.Body))
	}
	return out
}

func TestSourceReceivesMessages(t *testing.T) {
	p := startRedis(t)
	pub := p.client("")
	src := sdktest.NewSource(t, SourceKind, p.config("channels", "orders, refunds"))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	waitSubscribed(t, pub, "refunds", false)
	ctx := context.Background()
	require.NoError(t, pub.Publish(ctx, "orders", "order 1").Err())
	require.NoError(t, pub.Publish(ctx, "refunds", "refund 1").Err())
	require.NoError(t, pub.Publish(ctx, "other", "not subscribed").Err())
	require.NoError(t, pub.Publish(ctx, "orders", "order 2").Err())
	events := c.Wait(t, 3)
	require.Equal(t, []string{"order 1", "refund 1", "order 2"}, bodies(&c))
	require.Equal(t, map[string]string{"CamelRedis.Channel": "refunds"}, events[1].Headers)
	require.Equal(t, "text/plain", events[0].ContentType)
}

func TestSourcePatterns(t *testing.T) {
	p := startRedis(t)
	pub := p.client("")
	src := sdktest.NewSource(t, SourceKind, p.config("command", "PSUBSCRIBE", "channels", "news.*"))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	waitSubscribed(t, pub, "", true)
	require.NoError(t, pub.Publish(context.Background(), "sport", "no").Err())
	require.NoError(t, pub.Publish(context.Background(), "news.tech", "yes").Err())
	events := c.Wait(t, 1)
	require.Equal(t, "yes", string(events[0].Body))
	require.Equal(t, map[string]string{"CamelRedis.Channel": "news.tech", "CamelRedis.Pattern": "news.*"}, events[0].Headers)
}

// TestSourceResubscribesAfterARestart: the server is killed and started
// again; the source subscribes again by itself and receives what is
// published from then on.
func TestSourceResubscribesAfterARestart(t *testing.T) {
	p := startRedis(t)
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, p.config("channels", "ticks"), sdktest.LogTo(&log))
	src.(*source).maxWait = 200e6 // reconnect soon in the test
	var c sdktest.Collector
	run := sdktest.Run(t, src, c.Emit)
	waitSubscribed(t, p.client(""), "ticks", false)
	require.NoError(t, p.client("").Publish(context.Background(), "ticks", "before").Err())
	c.Wait(t, 1)

	p.restart()
	pub := p.client("")
	waitSubscribed(t, pub, "ticks", false)
	require.NoError(t, pub.Publish(context.Background(), "ticks", "after").Err())
	c.Wait(t, 2)
	require.Equal(t, []string{"before", "after"}, bodies(&c))
	require.Contains(t, log.String(), "lost the subscription; subscribing again")
	require.Contains(t, log.String(), "subscribed again")
	require.NoError(t, run.Stop())
}

// TestSourceIsAtMostOnce shows what the README says: a message published
// while no instance is subscribed (the plugin died, or is reconnecting) is
// not received by the next one. Redis keeps no pub/sub message.
func TestSourceIsAtMostOnce(t *testing.T) {
	p := startRedis(t)
	pub := p.client("")
	first := sdktest.NewSource(t, SourceKind, p.config("channels", "jobs"))
	var c1 sdktest.Collector
	run := sdktest.Run(t, first, c1.Emit)
	waitSubscribed(t, pub, "jobs", false)
	require.NoError(t, pub.Publish(context.Background(), "jobs", "1").Err())
	c1.Wait(t, 1)
	require.NoError(t, run.Stop())
	require.Eventually(t, func() bool { return pub.PubSubNumSub(context.Background(), "jobs").Val()["jobs"] == 0 }, 10e9, 10e6,
		"the stopped source unsubscribed")

	n, err := pub.Publish(context.Background(), "jobs", "published while no one listens").Result()
	require.NoError(t, err)
	require.Zero(t, n, "no subscriber received it")

	second := sdktest.NewSource(t, SourceKind, p.config("channels", "jobs"), sdktest.Reopened(1))
	var c2 sdktest.Collector
	sdktest.Run(t, second, c2.Emit)
	waitSubscribed(t, pub, "jobs", false)
	require.NoError(t, pub.Publish(context.Background(), "jobs", "2").Err())
	c2.Wait(t, 1)
	require.Equal(t, []string{"2"}, bodies(&c2), "the message published in between is gone")
}

func TestSourceUnreachable(t *testing.T) {
	port := testpeer.FreePort(t)
	src := sdktest.NewSource(t, SourceKind, map[string]any{"redisHost": "127.0.0.1", "redisPort": port})
	var c sdktest.Collector
	err := sdktest.Run(t, src, c.Emit).Wait()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	require.EqualError(t, err, "redis-source: cannot reach "+addr+": dial tcp "+addr+": connect: connection refused")
}

func TestSourcePassword(t *testing.T) {
	p := startRedis(t, "--requirepass", secret)
	pub := p.client(secret)
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, p.config("channels", "private", "redisPassword", secret), sdktest.LogTo(&log))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	waitSubscribed(t, pub, "private", false)
	require.NoError(t, pub.Publish(context.Background(), "private", "hello").Err())
	require.Equal(t, "hello", string(c.Wait(t, 1)[0].Body))

	wrong := secret + "-wrong"
	var log2 sdktest.Log
	bad := sdktest.NewSource(t, SourceKind, p.config("channels", "private", "redisPassword", wrong), sdktest.LogTo(&log2))
	var c2 sdktest.Collector
	err := sdktest.Run(t, bad, c2.Emit).Wait()
	require.ErrorContains(t, err, "redis-source: "+p.addr()+" refused the credentials: WRONGPASS")
	for _, text := range []string{err.Error(), log.String(), log2.String()} {
		require.NotContains(t, text, secret)
	}
	require.NotContains(t, err.Error(), "\n")
}

func TestSourceConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		err    string
	}{
		{map[string]any{"redisPort": 6379}, `redis-source: missing required parameter "redisHost"`},
		{map[string]any{"redisHost": "localhost"}, `redis-source: missing required parameter "redisPort"`},
		{map[string]any{"redisHost": "localhost", "redisPort": 0}, "redis-source: redisPort must be a port number (1 to 65535), got 0"},
		{map[string]any{"redisHost": " ", "redisPort": 6379}, "redis-source: redisHost is empty"},
		{map[string]any{"redisHost": "localhost", "redisPort": 6379, "command": "BLPOP"}, `redis-source: command must be SUBSCRIBE or PSUBSCRIBE, got "BLPOP"`},
		{map[string]any{"redisHost": "localhost", "redisPort": 6379, "channels": " , "}, "redis-source: channels names no channel"},
		{map[string]any{"redisHost": "localhost", "redisPort": 6379, "serializer": "com.example.Json"}, "redis-source: serializer: only " + stringSerializer + " is supported (the body is the message, byte for byte)"},
	} {
		_, err := sdktest.OpenSource(SourceKind, tc.config)
		require.EqualError(t, err, tc.err)
	}
	values, err := sdktest.Validate(SourceKind, map[string]any{"redisHost": "h", "redisPort": 1})
	require.NoError(t, err)
	require.Equal(t, "SUBSCRIBE", values["command"])
	require.Equal(t, "one", values["channels"], "the Kamelet's defaults")
	require.False(t, strings.Contains(fmt.Sprint(values), "redisPassword"))
}

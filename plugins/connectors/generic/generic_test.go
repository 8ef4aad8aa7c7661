package generic

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRewrite: each scheme's URI becomes its native kind and parameters,
// path and options included, with Camel's option names renamed.
func TestRewrite(t *testing.T) {
	for _, c := range []struct {
		kind   string // the generic kind
		config map[string]any
		want   string
		params map[string]string
	}{
		{"generic-source", map[string]any{"uri": "kafka:orders?brokers=h1:9092,h2:9092&groupId=shop&autoOffsetReset=earliest"}, "kafka-source",
			map[string]string{"topic": "orders", "bootstrapServers": "h1:9092,h2:9092", "consumerGroup": "shop", "autoOffsetReset": "earliest"}},
		{"generic-sink", map[string]any{"uri": "kafka:out?brokers=localhost:9092"}, "kafka-sink",
			map[string]string{"topic": "out", "bootstrapServers": "localhost:9092"}},
		{"generic-source", map[string]any{"uri": "timer:tick?period=2000"}, "timer-source",
			map[string]string{"period": "2000", "message": "tick"}},
		{"generic-source", map[string]any{"uri": "timer:tick?period=10&message=hello"}, "timer-source",
			map[string]string{"period": "10", "message": "hello"}},
		{"generic-source", map[string]any{"uri": "cron:c?schedule=0/1+*+*+*+*+?"}, "cron-source",
			map[string]string{"schedule": "0/1+*+*+*+*+?", "message": "c"}},
		{"generic-source", map[string]any{"uri": "paho:sensors/+/temp?brokerUrl=tcp://127.0.0.1:1883&userName=u&password=RAW(p&ss+w)"}, "mqtt-source",
			map[string]string{"topic": "sensors/+/temp", "brokerUrl": "tcp://127.0.0.1:1883", "username": "u", "password": "p&ss+w"}},
		{"generic-sink", map[string]any{"uri": "nats:events?servers=nats://127.0.0.1:4222"}, "nats-sink",
			map[string]string{"topic": "events", "servers": "nats://127.0.0.1:4222"}},
		{"generic-source", map[string]any{"uri": "aws2-s3://my-bucket?region=eu-west-1&accessKey=AK&secretKey=RAW(s/k+=)&deleteAfterRead=false"}, "aws-s3-source",
			map[string]string{"bucketNameOrArn": "my-bucket", "region": "eu-west-1", "accessKey": "AK", "secretKey": "s/k+=", "deleteAfterRead": "false"}},
		{"generic-sink", map[string]any{"uri": "telegram:bots?authorizationToken=123:abc&chatId=42"}, "telegram-sink",
			map[string]string{"authorizationToken": "123:abc", "chatId": "42"}},
		{"generic-source", map[string]any{"uri": "spring-redis://127.0.0.1:6379?command=SUBSCRIBE&channels=news"}, "redis-source",
			map[string]string{"redisHost": "127.0.0.1", "redisPort": "6379", "command": "SUBSCRIBE", "channels": "news"}},
		{"generic-source", map[string]any{"uri": "file:/tmp/in?noop=true&delay=100"}, "file-source",
			map[string]string{"path": "/tmp/in", "keepFile": "true", "period": "100"}},
		{"generic-sink", map[string]any{"uri": "file:out%20dir?fileName=a.txt"}, "file-sink",
			map[string]string{"path": "out dir", "fileName": "a.txt"}},
		{"generic-sink", map[string]any{"uri": "https://example.com/hook?a=1&b=2"}, "http-sink",
			map[string]string{"url": "https://example.com/hook?a=1&b=2"}},
		{"generic-periodic-source", map[string]any{"uri": "http://127.0.0.1:8080/AAPL", "period": int64(3000)}, "http-source",
			map[string]string{"url": "http://127.0.0.1:8080/AAPL", "period": "3000"}},
		{"generic-periodic-source", map[string]any{"uri": "aws2-s3://b?region=r", "period": int64(500)}, "aws-s3-source",
			map[string]string{"bucketNameOrArn": "b", "region": "r", "delay": "500"}},
		{"generic-sink", map[string]any{"uri": "slack:#alerts?webhookUrl=https://hooks.slack.com/services/T/B/X"}, "slack-sink",
			map[string]string{"channel": "#alerts", "webhookUrl": "https://hooks.slack.com/services/T/B/X"}},
		{"generic-sink", map[string]any{"uri": "log:audit?showHeaders=true"}, "log-sink",
			map[string]string{"loggerName": "audit", "showHeaders": "true"}},
		{"generic-source", map[string]any{"spec": "from:\n  uri: \"kafka:orders?brokers=b:9092\"\n"}, "kafka-source",
			map[string]string{"topic": "orders", "bootstrapServers": "b:9092"}},
		{"generic-source", map[string]any{"spec": "- route:\n    from: timer:t?period=5\n"}, "timer-source",
			map[string]string{"period": "5", "message": "t"}},
		{"generic-sink", map[string]any{"spec": "to: log:x"}, "log-sink", map[string]string{"loggerName": "x"}},
		{"generic-sink", map[string]any{"spec": "to:\n  uri: file:o"}, "file-sink", map[string]string{"path": "o"}},
	} {
		kind, params, err := rewriteOf(c.kind)(c.config)
		require.NoError(t, err, "%s %v", c.kind, c.config)
		require.Equal(t, c.want, kind, "%v", c.config)
		require.Equal(t, c.params, params, "%v", c.config)
	}
}

// TestRewriteErrors: a URI that no native connector serves, or that lacks
// what its scheme needs, is one error naming what is wrong, never a value
// of the URI (it may hold a password).
func TestRewriteErrors(t *testing.T) {
	const secret = "s3cr3t-value"
	for _, c := range []struct {
		kind   string
		config map[string]any
		err    string
	}{
		{"generic-source", map[string]any{}, `missing required parameter "uri" (or "spec")`},
		{"generic-source", map[string]any{"uri": "kafka:t", "spec": "from: kafka:t"}, `give "uri" or "spec", not both`},
		{"generic-source", map[string]any{"uri": "jms:queue:" + secret}, `the URI's scheme jms: has no native source here; the schemes served are aws2-s3:, cron:, file:, http:, https:, kafka:, nats:, paho-mqtt5:, paho:, spring-redis:, telegram:, timer:`},
		{"generic-sink", map[string]any{"uri": "timer:t"}, `the URI's scheme timer: has no native sink here; the schemes served are aws2-s3:, file:, http:, https:, kafka:, log:, nats:, paho-mqtt5:, paho:, slack:, spring-redis:, telegram:`},
		{"generic-source", map[string]any{"uri": secret}, `the URI's scheme (none: a URI is scheme:...) has no native source here`},
		{"generic-source", map[string]any{"uri": "kafka:?brokers=" + secret}, `a kafka URI names its topic after the scheme, e.g. kafka:NAME`},
		{"generic-periodic-source", map[string]any{"uri": "kafka:t", "period": int64(1)}, `generic-periodic-source polls an endpoint, which kafka: cannot be; use generic-source, or one of aws2-s3:, file:, http:, https:`},
		{"generic-source", map[string]any{"uri": "telegram:chat?authorizationToken=" + secret}, `a telegram URI is telegram:bots?authorizationToken=...`},
		{"generic-source", map[string]any{"uri": "spring-redis://nohost?password=" + secret}, `a spring-redis URI is spring-redis://HOST:PORT?command=...&channels=...`},
		{"generic-source", map[string]any{"uri": "kafka:t?brokers=a&brokers=" + secret}, `the URI gives option bootstrapServers twice`},
		{"generic-source", map[string]any{"uri": "kafka:t?password=%zz" + secret}, `the value of the URI's option password is not validly %-encoded`},
		{"generic-source", map[string]any{"spec": "from: [" + secret}, `parameter "spec" is not valid YAML`},
		{"generic-source", map[string]any{"spec": "to: kafka:t"}, `parameter "spec" must be a route with from: and its uri`},
		{"generic-source", map[string]any{"spec": "from:\n  uri: timer:t\n  steps:\n    - to: log:x"}, `parameter "spec" has steps: a generic connector takes one endpoint; do the steps in the script`},
		{"generic-sink", map[string]any{"spec": "to: {}"}, `parameter "spec" has no uri in its to:`},
	} {
		_, _, err := rewriteOf(c.kind)(c.config)
		require.Error(t, err, "%v", c.config)
		require.True(t, strings.HasPrefix(err.Error(), c.err), "%v:\n got %v\nwant %s...", c.config, err, c.err)
		require.NotContains(t, err.Error(), secret)
	}
}

func rewriteOf(kind string) func(map[string]any) (string, map[string]string, error) {
	switch kind {
	case SourceKind.Name:
		return SourceKind.Rewrite
	case PeriodicSourceKind.Name:
		return PeriodicSourceKind.Rewrite
	}
	return SinkKind.Rewrite
}

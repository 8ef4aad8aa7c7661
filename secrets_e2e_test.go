package main

import (
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors"
)

// Secret values (tokens, webhook URLs, their paths and queries) never
// appear in what rayvens prints or leaves behind, whatever goes wrong.
// Every secret below holds secretMark, and a distinctive tail; the runs
// drive each connector with a secret parameter through its error paths:
// an endpoint that refuses connections, answers 4xx or 5xx (echoing back
// what it was sent), values that do not validate or do not open, and
// `rayvens check`, all at log level debug.

const secretMark = "rv5ecret"

// The secrets of the scenarios.
const (
	slackPath    = "/services/T0" + secretMark + "PATH/B0x"
	slackQuery   = "token=" + secretMark + "QUERY"
	sinkToken    = secretMark + "-TOKEN-abc"
	sinkHeader   = secretMark + "-HEADER-def"
	sinkPath     = "/hook/" + secretMark + "-URLPATH"
	sinkQuery    = "key=" + secretMark + "-URLQUERY"
	webhookToken = secretMark + "-WEBHOOK-ghi"
	secretNumber = "987654321987" // a secret given with the wrong type
	s3Access     = secretMark + "-S3ACCESS-jkl"
	s3Secret     = secretMark + "-S3SECRET-mno"
	s3Session    = secretMark + "-S3SESSION-pqr"
)

// secretFragments are what must appear nowhere: the mark and the tails.
var secretFragments = []string{secretMark, "DBPASSWORD", "KAFKA-jkl", "PATH/B0x", "TOKEN-abc", "HEADER-def", "URLPATH", "URLQUERY", "WEBHOOK-ghi", secretNumber}

// echoServer answers every request with status, its body echoing what it
// was sent (path, query, credentials), as some endpoints do in their
// errors; hits counts the requests.
func echoServer(t *testing.T, status int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(status)
		fmt.Fprintf(w, "refused %s %s (path %s, query %s) authorization=%q x-api-key=%q",
			r.Method, r.RequestURI, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// secretScenario is a script run with a secret in a connector's config.
type secretScenario struct {
	name    string
	secrets []string // the secret parameters it uses, as "kind.parameter"
	// script makes the script from the base URL of an endpoint.
	script func(base string) string
	// endpoint is the status the endpoint answers, which the run must
	// reach; 0 is a closed port.
	endpoint int
	// taken: the endpoint's port is held by a listener that answers
	// nothing.
	taken bool
	check bool // run `rayvens check` on it instead of `rayvens run`
	exit  int
}

func slackScript(webhookURL, extra string) string {
	return fmt.Sprintf(`s = Stream("s", sink_config=dict(kind="slack-sink", channel="#ops", webhookUrl=%s%s))
for i in range(3):
    s << "message %%d" %% i
`, webhookURL, extra)
}

func httpSinkScript(url, extra string) string {
	return fmt.Sprintf(`s = Stream("s", sink_config=dict(kind="http-sink", url=%s, authorizationToken=%q, headers=%q%s))
for i in range(3):
    s << "event %%d" %% i
`, url, sinkToken, `{"X-Api-Key": "`+sinkHeader+`"}`, extra)
}

// telegramToken is a bot token: digits, a colon, then the secret.
const telegramToken = "4242:" + secretMark + "-TELEGRAM"

func telegramSinkScript(base, extra string) string {
	return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(kind=\"telegram-sink\", chatId=\"1\", baseUri=%q, authorizationToken=%q%s))\ns << \"x\"\n", base, telegramToken, extra)
}

func telegramSourceScript(base, extra string) string {
	return fmt.Sprintf("s = Stream(\"s\", source_config=dict(kind=\"telegram-source\", baseUri=%q, authorizationToken=%q%s))\ns >> (lambda e: print(e))\n", base, telegramToken, extra)
}

// s3Script uses an S3 kind on the endpoint base: a sink gets three
// events, a source's events are printed.
func s3Script(kind, base, extra string) string {
	var config string
	if strings.HasPrefix(kind, "aws-s3") {
		config = fmt.Sprintf(`kind=%q, bucketNameOrArn="inbox", region="us-east-1", overrideEndpoint=True, uriEndpointOverride=%q, useSessionCredentials=True, accessKey=%q, secretKey=%q, sessionToken=%q%s`,
			kind, base, s3Access, s3Secret, s3Session, extra)
	} else {
		config = fmt.Sprintf(`kind=%q, bucket_name="inbox", endpoint=%q, access_key_id=%q, secret_access_key=%q%s`, kind, base, s3Access, s3Secret, extra)
	}
	if strings.HasSuffix(kind, "-sink") {
		return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(%s))\nfor i in range(3):\n    s << \"event %%d\" %% i\n", config)
	}
	return fmt.Sprintf("s = Stream(\"s\", source_config=dict(%s))\ns >> (lambda e: print(e))\n", config)
}

var s3Secrets = map[string][]string{
	"aws-s3-sink":                 {"aws-s3-sink.accessKey", "aws-s3-sink.secretKey", "aws-s3-sink.sessionToken"},
	"aws-s3-source":               {"aws-s3-source.accessKey", "aws-s3-source.secretKey", "aws-s3-source.sessionToken"},
	"cloud-object-storage-sink":   {"cloud-object-storage-sink.access_key_id", "cloud-object-storage-sink.secret_access_key"},
	"cloud-object-storage-source": {"cloud-object-storage-source.access_key_id", "cloud-object-storage-source.secret_access_key"},
}

// dbPassword is the password of the redis and postgresql scenarios.
const dbPassword = secretMark + "-DBPASSWORD"

// portOf is the port of an endpoint's base URL.
func portOf(base string) string { return base[strings.LastIndex(base, ":")+1:] }

func redisScript(kind, base, extra string) string {
	if kind == "redis-sink" {
		return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(kind=\"redis-sink\", redisHost=\"127.0.0.1\", redisPort=%s, command=\"PUBLISH\", redisPassword=%q%s))\ns << \"x\"\n", portOf(base), dbPassword, extra)
	}
	return fmt.Sprintf("s = Stream(\"s\", source_config=dict(kind=\"redis-source\", redisHost=\"127.0.0.1\", redisPort=%s, channels=\"news\", redisPassword=%q%s))\ns >> (lambda e: print(e))\n", portOf(base), dbPassword, extra)
}

func postgresScript(kind, base, extra string) string {
	config := fmt.Sprintf("kind=%q, serverName=\"127.0.0.1\", serverPort=%q, username=\"u\", password=%q, databaseName=\"d\"%s", kind, portOf(base), dbPassword, extra)
	if kind == "postgresql-sink" {
		return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(%s, query=\"INSERT INTO t (v) VALUES (:#v)\"))\ns << {\"v\": 1}\n", config)
	}
	return fmt.Sprintf("s = Stream(\"s\", source_config=dict(%s, query=\"SELECT * FROM t\"))\ns >> (lambda e: print(e))\n", config)
}

func mqttScript(direction, base string) string {
	return fmt.Sprintf("s = Stream(\"s\", %s_config=dict(kind=\"mqtt-%s\", brokerUrl=%q, topic=\"t\", username=\"u\", password=%q))\n",
		direction, direction, strings.Replace(base, "http://", "tcp://", 1), secretMark+"-mqtt")
}

// natsScript uses a nats kind on the endpoint's port, with credentials in
// the servers URL and as parameters.
func natsScript(kind, base, extra string) string {
	servers := fmt.Sprintf("nats://natsuser:%s@127.0.0.1:%s", dbPassword, portOf(base))
	config := fmt.Sprintf("kind=%q, topic=\"t\", servers=%q%s", kind, servers, extra)
	if kind == "nats-sink" {
		return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(%s))\ns << \"x\"\n", config)
	}
	return fmt.Sprintf("s = Stream(\"s\", source_config=dict(%s))\ns >> (lambda e: print(e))\n", config)
}

// kafkaSecret is the password of the kafka scenarios.
const kafkaSecret = secretMark + "-KAFKA-jkl"

// kafkaSecrets are the secret parameters kafkaScript gives kind.
func kafkaSecrets(kind string) []string {
	var out []string
	for _, p := range []string{"saslPassword", "oauthClientSecret", "sslTruststorePassword", "sslKeystorePassword"} {
		out = append(out, kind+"."+p)
	}
	return out
}

// kafkaScript uses kind with a SASL login and every password set, its
// broker the host:port of base.
func kafkaScript(kind, base, extra string) string {
	config := "source_config"
	if kind == "kafka-sink" {
		config = "sink_config"
	}
	return fmt.Sprintf(`s = Stream("s", %s=dict(kind=%q, topic="t", bootstrapServers=%q, saslAuthType="PLAIN", saslUsername="u", saslPassword=%q, oauthClientSecret=%q, sslTruststorePassword=%q, sslKeystorePassword=%q%s))
if %q == "kafka-sink":
    for i in range(3):
        s << "event %%d" %% i
`, config, kind, strings.TrimPrefix(base, "http://"), kafkaSecret, kafkaSecret, kafkaSecret, kafkaSecret, extra, kind)
}

var secretScenarios = []secretScenario{
	// nats-source, nats-sink: servers (with credentials), password, token.
	{name: "nats-source, connection refused", secrets: []string{"nats-source.servers"}, exit: 1,
		script: func(base string) string { return natsScript("nats-source", base, "") }},
	{name: "nats-sink, connection refused", secrets: []string{"nats-sink.servers", "nats-sink.password"}, exit: 1,
		script: func(base string) string {
			return natsScript("nats-sink", base, ", username=\"u\", password="+strconv.Quote(dbPassword))
		}},
	{name: "nats-source, a port that answers nothing", secrets: []string{"nats-source.servers", "nats-source.token"}, taken: true, exit: 1,
		script: func(base string) string { return natsScript("nats-source", base, ", token="+strconv.Quote(dbPassword)) }},
	{name: "nats-sink, check with an unknown parameter", secrets: []string{"nats-sink.servers", "nats-sink.token"}, check: true, exit: 1,
		script: func(base string) string {
			return natsScript("nats-sink", base, ", token="+strconv.Quote(dbPassword)+", colour="+strconv.Quote(secretMark))
		}},
	{name: "nats-source, check with a secret of the wrong type", secrets: []string{"nats-source.password"}, check: true, exit: 1,
		script: func(base string) string {
			return natsScript("nats-source", base, ", username=\"u\", password="+secretNumber)
		}},
	// redis-source, redis-sink: redisPassword; postgresql-*: password. A
	// closed port, a port that answers nothing, and check.
	{name: "redis-source, connection refused", secrets: []string{"redis-source.redisPassword"}, exit: 1,
		script: func(base string) string { return redisScript("redis-source", base, "") }},
	{name: "redis-sink, connection refused", secrets: []string{"redis-sink.redisPassword"}, exit: 1,
		script: func(base string) string { return redisScript("redis-sink", base, "") }},
	{name: "redis-sink, check with an unknown parameter", secrets: []string{"redis-sink.redisPassword"}, check: true, exit: 1,
		script: func(base string) string {
			return redisScript("redis-sink", base, ", colour="+strconv.Quote(secretMark))
		}},
	{name: "postgresql-source, connection refused", secrets: []string{"postgresql-source.password"}, exit: 1,
		script: func(base string) string { return postgresScript("postgresql-source", base, "") }},
	{name: "postgresql-sink, connection refused", secrets: []string{"postgresql-sink.password"}, exit: 1,
		script: func(base string) string { return postgresScript("postgresql-sink", base, "") }},
	{name: "postgresql-sink, a port that answers nothing", secrets: []string{"postgresql-sink.password"}, taken: true, exit: 1,
		script: func(base string) string { return postgresScript("postgresql-sink", base, "") }},
	{name: "postgresql-source, check with an unknown parameter", secrets: []string{"postgresql-source.password"}, check: true, exit: 1,
		script: func(base string) string {
			return postgresScript("postgresql-source", base, ", colour="+strconv.Quote(secretMark))
		}},
	// slack-sink: webhookUrl.
	{name: "slack, connection refused", secrets: []string{"slack-sink.webhookUrl"}, exit: 1,
		script: func(base string) string { return slackScript(strconv.Quote(base+slackPath+"?"+slackQuery), "") }},
	// An endpoint that echoes the query of a slack webhookUrl makes it
	// show (reported); these scenarios' URLs have a path only.
	{name: "slack, 403", secrets: []string{"slack-sink.webhookUrl"}, endpoint: http.StatusForbidden, exit: 1,
		script: func(base string) string { return slackScript(strconv.Quote(base+slackPath), "") }},
	{name: "slack, 500", secrets: []string{"slack-sink.webhookUrl"}, endpoint: http.StatusInternalServerError, exit: 1,
		script: func(base string) string { return slackScript(strconv.Quote(base+slackPath), "") }},
	{name: "slack, not a URL", secrets: []string{"slack-sink.webhookUrl"}, exit: 1,
		script: func(string) string { return slackScript(strconv.Quote("ftp://"+secretMark+slackPath), "") }},
	{name: "slack, a bad port", secrets: []string{"slack-sink.webhookUrl"}, exit: 1,
		script: func(string) string {
			return slackScript(strconv.Quote("http://127.0.0.1:99999"+slackPath+"?"+slackQuery), "")
		}},
	{name: "slack, check with an unknown parameter", secrets: []string{"slack-sink.webhookUrl"}, check: true, exit: 1,
		script: func(base string) string {
			return slackScript(strconv.Quote(base+slackPath+"?"+slackQuery), ", colour="+strconv.Quote(secretMark))
		}},
	{name: "slack, check with a secret of the wrong type", secrets: []string{"slack-sink.webhookUrl"}, check: true, exit: 1,
		script: func(string) string { return slackScript(secretNumber, "") }},

	// http-sink: authorizationToken and headers (and a URL with a token
	// in its path and query).
	{name: "generic-sink, an http URI answered 401", secrets: []string{"generic-sink.uri"}, endpoint: http.StatusUnauthorized, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(kind=\"generic-sink\", uri=%q))\ns << \"x\"\n", base+sinkPath+"?"+sinkQuery)
		}},
	{name: "generic-sink, check of a spec that is not YAML", secrets: []string{"generic-sink.spec"}, check: true, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(kind=\"generic-sink\", spec=%q))\n", "to: ["+base+sinkPath)
		}},
	{name: "generic-periodic-source, check with an unknown option", secrets: []string{"generic-periodic-source.uri"}, check: true, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", source_config=dict(kind=\"generic-periodic-source\", uri=%q, period=%s))\n", "file:in?"+sinkQuery, secretNumber)
		}},
	{name: "generic-source, check of a spec with an unknown option", secrets: []string{"generic-source.spec"}, check: true, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", source_config=dict(kind=\"generic-source\", spec=%q))\n", "from:\n  uri: timer:t?"+sinkQuery)
		}},
	{name: "generic-source, check of a scheme served by no connector", secrets: []string{"generic-source.uri"}, check: true, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", source_config=dict(kind=\"generic-source\", uri=%q))\n", "jms:queue?"+sinkQuery)
		}},
	{name: "generic-periodic-source, check of a spec with steps", secrets: []string{"generic-periodic-source.spec"}, check: true, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", source_config=dict(kind=\"generic-periodic-source\", spec=%q))\n", "from:\n  uri: "+base+sinkPath+"\n  steps:\n    - to: log:"+sinkToken)
		}},
	{name: "http-sink, connection refused", secrets: []string{"http-sink.authorizationToken", "http-sink.headers"}, exit: 1,
		script: func(base string) string { return httpSinkScript(strconv.Quote(base+sinkPath+"?"+sinkQuery), "") }},
	{name: "http-sink, 401", secrets: []string{"http-sink.authorizationToken", "http-sink.headers"}, endpoint: http.StatusUnauthorized, exit: 1,
		script: func(base string) string { return httpSinkScript(strconv.Quote(base+sinkPath+"?"+sinkQuery), "") }},
	{name: "http-sink, 503", secrets: []string{"http-sink.authorizationToken", "http-sink.headers"}, endpoint: http.StatusServiceUnavailable, exit: 1,
		script: func(base string) string { return httpSinkScript(strconv.Quote(base+sinkPath+"?"+sinkQuery), "") }},
	{name: "http-sink, headers not JSON", secrets: []string{"http-sink.headers"}, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(kind=\"http-sink\", url=%q, headers=%q))\ns << \"x\"\n", base, "X-Api-Key: "+sinkHeader)
		}},
	{name: "http-sink, a header value that HTTP cannot carry", secrets: []string{"http-sink.headers"}, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(kind=\"http-sink\", url=%q, headers=%q))\ns << \"x\"\n", base, `{"X-Api-Key": "`+sinkHeader+`\r\nX: y"}`)
		}},
	{name: "http-sink, a token with a line break", secrets: []string{"http-sink.authorizationToken"}, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("s = Stream(\"s\", sink_config=dict(kind=\"http-sink\", url=%q, authorizationToken=%q))\ns << \"x\"\n", base, sinkToken+"\nX: y")
		}},
	{name: "http-sink, check with a wrong type", secrets: []string{"http-sink.authorizationToken", "http-sink.headers"}, check: true, exit: 1,
		script: func(base string) string {
			return httpSinkScript(strconv.Quote(base+sinkPath+"?"+sinkQuery), ", method=1")
		}},
	{name: "http-sink, check with a secret of the wrong type", secrets: []string{"http-sink.authorizationToken"}, check: true, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("Stream(\"s\", sink_config=dict(kind=\"http-sink\", url=%q, authorizationToken=%s))\n", base, secretNumber)
		}},

	// mqtt-source, mqtt-sink: password (nothing listens on the port).
	{name: "mqtt-source, connection refused", secrets: []string{"mqtt-source.password"}, exit: 1,
		script: func(base string) string { return mqttScript("source", base) }},
	{name: "mqtt-sink, connection refused", secrets: []string{"mqtt-sink.password"}, exit: 1,
		script: func(base string) string { return mqttScript("sink", base) + "s << \"x\"\n" }},

	// webhook-source: authorizationToken (its requests are in
	// TestWebhookSecretStaysOutOfOutput).
	{name: "webhook-source, port in use", secrets: []string{"webhook-source.authorizationToken"}, taken: true, exit: 1,
		script: func(base string) string {
			port := base[strings.LastIndex(base, ":")+1:]
			return fmt.Sprintf("s = Stream(\"s\", source_config=dict(kind=\"webhook-source\", port=%s, authorizationToken=%q))\n", port, webhookToken)
		}},
	{name: "webhook-source, check with an unknown parameter", secrets: []string{"webhook-source.authorizationToken"}, check: true, exit: 1,
		script: func(string) string {
			return fmt.Sprintf("Stream(\"s\", source_config=dict(kind=\"webhook-source\", authorizationToken=%q, prot=8080))\n", webhookToken)
		}},

	// telegram-source, telegram-sink: authorizationToken, which goes in the
	// path of every request's URL.
	{name: "telegram-sink, connection refused", secrets: []string{"telegram-sink.authorizationToken"}, exit: 1,
		script: func(base string) string { return telegramSinkScript(base, "") }},
	{name: "telegram-sink, 403", secrets: []string{"telegram-sink.authorizationToken"}, endpoint: http.StatusForbidden, exit: 1,
		script: func(base string) string { return telegramSinkScript(base, "") }},
	{name: "telegram-sink, 500", secrets: []string{"telegram-sink.authorizationToken"}, endpoint: http.StatusInternalServerError, exit: 1,
		script: func(base string) string { return telegramSinkScript(base, "") }},
	{name: "telegram-source, connection refused", secrets: []string{"telegram-source.authorizationToken"}, exit: 0,
		script: func(base string) string { return telegramSourceScript(base, "") }},
	{name: "telegram-source, 401", secrets: []string{"telegram-source.authorizationToken"}, endpoint: http.StatusUnauthorized, exit: 1,
		script: func(base string) string { return telegramSourceScript(base, "") }},
	{name: "telegram-source, check with an unknown parameter", secrets: []string{"telegram-source.authorizationToken"}, check: true, exit: 1,
		script: func(base string) string { return telegramSourceScript(base, ", chatid="+strconv.Quote(secretMark)) }},
	// The S3 kinds: access and secret keys, session token. A sink's
	// events fail (403) or are abandoned when the run is forced to stop
	// (refused); a source logs its polls' failures and stops cleanly.
	{name: "aws-s3-sink, 403", secrets: s3Secrets["aws-s3-sink"], endpoint: http.StatusForbidden, exit: 1,
		script: func(base string) string { return s3Script("aws-s3-sink", base, "") }},
	{name: "aws-s3-source, connection refused", secrets: s3Secrets["aws-s3-source"], exit: 0,
		script: func(base string) string { return s3Script("aws-s3-source", base, "") }},
	{name: "aws-s3-source, 403", secrets: s3Secrets["aws-s3-source"], endpoint: http.StatusForbidden, exit: 0,
		script: func(base string) string { return s3Script("aws-s3-source", base, "") }},
	{name: "cloud-object-storage-sink, connection refused", secrets: s3Secrets["cloud-object-storage-sink"], exit: 1,
		script: func(base string) string { return s3Script("cloud-object-storage-sink", base, "") }},
	{name: "cloud-object-storage-source, 500", secrets: s3Secrets["cloud-object-storage-source"], endpoint: http.StatusInternalServerError, exit: 0,
		script: func(base string) string { return s3Script("cloud-object-storage-source", base, "") }},
	{name: "cloud-object-storage-sink, check with an unknown parameter", secrets: s3Secrets["cloud-object-storage-sink"], check: true, exit: 1,
		script: func(base string) string {
			return s3Script("cloud-object-storage-sink", base, ", colour="+strconv.Quote(secretMark))
		}},
	{name: "aws-s3-source, check with a secret of the wrong type", secrets: []string{"aws-s3-source.secretKey"}, check: true, exit: 1,
		script: func(base string) string {
			return fmt.Sprintf("Stream(\"s\", source_config=dict(kind=\"aws-s3-source\", bucketNameOrArn=\"inbox\", region=\"us-east-1\", secretKey=%s))\n", secretNumber)
		}},
	// kafka-source and kafka-sink: the SASL, OAuth and key store passwords.
	{name: "kafka-sink, broker refuses connections", secrets: kafkaSecrets("kafka-sink"), exit: 1,
		script: func(base string) string { return kafkaScript("kafka-sink", base, "") }},
	{name: "kafka-sink, an encrypted key it cannot open", secrets: []string{"kafka-sink.sslKeyPassword"}, exit: 1,
		script: func(base string) string {
			return kafkaScript("kafka-sink", base, ", sslKeyPassword=\""+kafkaSecret+"\"")
		}},
	{name: "kafka-source, broker refuses connections", secrets: kafkaSecrets("kafka-source"), exit: 0,
		script: func(base string) string { return kafkaScript("kafka-source", base, "") }},
	{name: "kafka-source, an encrypted key it cannot open", secrets: []string{"kafka-source.sslKeyPassword"}, exit: 1,
		script: func(base string) string {
			return kafkaScript("kafka-source", base, ", sslKeyPassword=\""+kafkaSecret+"\"")
		}},
	{name: "kafka-source, check with an unknown parameter", secrets: kafkaSecrets("kafka-source"), check: true, exit: 1,
		script: func(base string) string { return kafkaScript("kafka-source", base, ", colour=1") }},
}

// TestSecretsStayOutOfOutput runs every scenario and checks stdout, stderr
// and every file the run leaves in its working and temporary directories.
// It fails when a connector kind gains a secret parameter that no scenario
// uses.
func TestSecretsStayOutOfOutput(t *testing.T) {
	used := map[string]bool{"webhook-source.authorizationToken": true} // and TestWebhookSecretStaysOutOfOutput
	for _, sc := range secretScenarios {
		for _, s := range sc.secrets {
			used[s] = true
		}
	}
	for _, k := range connectors.Catalog().Kinds() {
		for _, p := range k.Params {
			if p.Secret {
				require.True(t, used[k.Name+"."+p.Name], "no scenario uses the secret parameter %s of %s", p.Name, k.Name)
			}
		}
	}

	for _, sc := range secretScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			base := fmt.Sprintf("http://127.0.0.1:%d", freePort(t)) // nothing listens
			var hits *atomic.Int64
			switch {
			case sc.endpoint != 0:
				var srv *httptest.Server
				srv, hits = echoServer(t, sc.endpoint)
				base = srv.URL
			case sc.taken:
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				t.Cleanup(func() { ln.Close() })
				base = "http://" + ln.Addr().String()
			}
			script := filepath.Join(t.TempDir(), "secret.star")
			require.NoError(t, os.WriteFile(script, []byte(sc.script(base)), 0o644))
			args := []string{"run", "--log-level", "debug", "--for", "3s", "--drain-timeout", "1s", script}
			if sc.check {
				args = []string{"check", "--log-level", "debug", script}
			}
			run := startSecretRun(t, args...)
			code := run.wait(t)
			require.Equal(t, sc.exit, code, "exit status; stderr:\n%s", run.stderr)
			require.NotEmpty(t, run.stderr.String(), "the error path was taken")
			if hits != nil {
				require.NotZero(t, hits.Load(), "the endpoint was reached; stderr:\n%s", run.stderr)
			}
			run.requireNoSecret(t)
		})
	}
}

// TestWebhookSecretStaysOutOfOutput drives a webhook-source with an
// authorizationToken through refused, failed and accepted requests: the
// token is neither printed nor in any answer.
func TestWebhookSecretStaysOutOfOutput(t *testing.T) {
	port := freePort(t)
	script := filepath.Join(t.TempDir(), "webhook.star")
	require.NoError(t, os.WriteFile(script, []byte(fmt.Sprintf(`
s = Stream("s", source_config=dict(kind="webhook-source", port=%d, authorizationToken=%q))

def check(event):
    if event == "bad":
        fail("refused event")
    print("got", event)

s >> check
`, port, webhookToken)), 0o644))
	run := startSecretRun(t, "run", "--log-level", "debug", script)
	url := fmt.Sprintf("http://127.0.0.1:%d/webhook", port)
	require.Eventually(t, func() bool { return strings.Contains(run.stderr.String(), "listening on "+url) },
		20*time.Second, 10*time.Millisecond, "the webhook listens; stderr:\n%s", run.stderr)

	client := http.Client{Timeout: 20 * time.Second}
	post := func(body, authorization string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, url+"?"+sinkQuery, strings.NewReader(body))
		require.NoError(t, err)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		body, authorization string
		status              int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a wrong token", "Bearer " + webhookToken + "-but-wrong", http.StatusUnauthorized},
		{"another scheme", "Basic " + webhookToken, http.StatusUnauthorized},
		{"bad", "Bearer " + webhookToken, http.StatusInternalServerError},
		{"good", "Bearer " + webhookToken, http.StatusAccepted},
	} {
		status, answer := post(tc.body, tc.authorization)
		require.Equal(t, tc.status, status, "%s: %s", tc.body, answer)
		for _, f := range secretFragments {
			require.NotContains(t, answer, f, "an answer shows a secret")
		}
	}
	require.Eventually(t, func() bool { return strings.Contains(run.stdout.String(), "got good") }, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, run.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 1, run.wait(t), "a failed event makes the exit status 1; stderr:\n%s", run.stderr)
	require.Contains(t, run.stderr.String(), "request refused: missing or wrong authorization token", "debug logs were on")
	run.requireNoSecret(t)
}

// secretRun is a rayvens process whose working and temporary directories
// are its own, so that what it leaves there can be read.
type secretRun struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	dir            string // its working directory; TMPDIR is dir/tmp
}

func startSecretRun(t *testing.T, args ...string) *secretRun {
	t.Helper()
	r := &secretRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, dir: t.TempDir()}
	require.NoError(t, os.Mkdir(filepath.Join(r.dir, "tmp"), 0o755))
	r.cmd = exec.Command(binary, args...)
	r.cmd.Dir = r.dir
	r.cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(r.dir, "tmp"))
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	return r
}

// wait waits for the process to exit and returns its exit status.
func (r *secretRun) wait(t *testing.T) int {
	t.Helper()
	err := waitWithin(t, r.cmd, 60*time.Second)
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// requireNoSecret checks stdout, stderr and every file under the run's
// directories.
func (r *secretRun) requireNoSecret(t *testing.T) {
	t.Helper()
	outputs := map[string]string{"stdout": r.stdout.String(), "stderr": r.stderr.String()}
	require.NoError(t, filepath.WalkDir(r.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		outputs[path] = string(b)
		return nil
	}))
	for name, text := range outputs {
		for _, f := range secretFragments {
			require.NotContains(t, text, f, "%s shows a secret:\n%s", name, text)
		}
	}
}

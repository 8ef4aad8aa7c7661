package redis

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
)

// secret is the password of the servers that ask for one: distinctive, so
// that a test finds it in any text that shows it.
const secret = "s3cret-Pa55word-7f1d"

// peer is a redis-server a test started, on 127.0.0.1.
type peer struct {
	t    testing.TB
	port int
	dir  string // its append-only file: what it acknowledged survives a kill
	args []string
	srv  *testpeer.Server
}

// startRedis starts Debian's redis-server on a free port, with extra
// arguments (such as "--requirepass", secret). It writes every command to
// its append-only file before answering it, so a restart (restart) loses
// nothing it acknowledged.
func startRedis(t testing.TB, args ...string) *peer {
	p := &peer{t: t, port: testpeer.FreePort(t), dir: t.TempDir(), args: args}
	p.start()
	return p
}

func (p *peer) start() {
	bin := testpeer.Binary(p.t, "redis-server", "redis-server")
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(p.port), "--bind", "127.0.0.1", "--dir", p.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no"}, p.args...)...)
	p.srv = testpeer.Start(p.t, p.addr(), cmd)
}

// kill kills the server (SIGKILL), as a crash would.
func (p *peer) kill() { p.srv.Kill() }

// restart kills the server and starts it again on the same port and files.
func (p *peer) restart() {
	p.kill()
	p.start()
}

func (p *peer) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

// config is a connector config for this server, with more parameters.
func (p *peer) config(more ...any) map[string]any {
	cfg := map[string]any{"redisHost": "127.0.0.1", "redisPort": p.port}
	for i := 0; i+1 < len(more); i += 2 {
		cfg[more[i].(string)] = more[i+1]
	}
	return cfg
}

// client is a go-redis client of the server, for the test's own checks.
func (p *peer) client(password string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: p.addr(), Password: password, Protocol: 2})
	p.t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitSubscribed waits until channel has n subscribers (a pattern when
// pattern is set).
func waitSubscribed(t *testing.T, c *goredis.Client, channel string, pattern bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		if pattern {
			n, err := c.PubSubNumPat(context.Background()).Result()
			return err == nil && n >= 1
		}
		m, err := c.PubSubNumSub(context.Background(), channel).Result()
		return err == nil && m[channel] >= 1
	}, 10e9, 10e6, "a subscriber on %s", channel)
}

// Package redis holds the Redis connectors, on github.com/redis/go-redis/v9:
//
//   - redis-source (source.go) subscribes to pub/sub channels (SUBSCRIBE)
//     or channel patterns (PSUBSCRIBE) and emits each message it receives;
//   - redis-sink (sink.go) writes each event with one command (PUBLISH,
//     SET, LPUSH, RPUSH or SADD), a batch's commands pipelined in one round
//     trip.
//
// Both follow the Apache Camel Kamelets of the same names (Camel's
// spring-redis component), with its header names (CamelRedis.Channel,
// CamelRedis.Pattern, CamelRedis.Key), and add redisUsername and
// redisPassword for servers that ask for credentials (requirepass, ACLs).
//
// Redis pub/sub delivers a message to the subscribers connected when it is
// published, and to no one else: there is nothing to acknowledge and nothing
// to ask for again. So redis-source is at-most-once, whatever the rest of the
// pipeline does: a message published while it is disconnected, or emitted
// but not yet done when its plugin dies, is gone. Camel's spring-redis
// consumer has no other command (no list or stream reading), so neither
// has redis-source.
//
// Nothing is dialled in New: the source connects in Run, the sink at its
// first Write, so `rayvens check` and New need no server.
package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// Camel's header names (RedisConstants of camel-spring-redis), and the
// plain names the Kamelets map onto them.
const (
	headerChannel = "CamelRedis.Channel" // the channel a message came from
	headerPattern = "CamelRedis.Pattern" // the pattern it matched (PSUBSCRIBE)
	headerKey     = "CamelRedis.Key"     // the key a sink's command writes to
	// headerOverrideChannel is the channel a sink publishes an event to.
	// Camel's sink reads CamelRedis.Channel, which its source sets: a
	// source's events sent straight to a sink would be published back to
	// the channel they came from. So the sink's override has its own name.
	headerOverrideChannel = "CamelRedis.OverrideChannel"
	kameletKey            = "key"     // the Kamelet's plain name for CamelRedis.Key
	kameletChannel        = "channel" // the Kamelet's plain name for the channel
)

// stringSerializer is the only serializer the connectors have: a message's
// bytes are the event's body, and the reverse.
const stringSerializer = "org.springframework.data.redis.serializer.StringRedisSerializer"

// The parameters both kinds have.
var (
	hostParam = sdk.Param{Name: "redisHost", Type: sdk.String, Required: true,
		Description: "The host where the Redis server is running."}
	portParam = sdk.Param{Name: "redisPort", Type: sdk.Integer, Required: true,
		Description: "The port where the Redis server is running."}
	serializerParam = sdk.Param{Name: "serializer", Type: sdk.String, Default: stringSerializer,
		Description: "How values are turned into bytes. Only the Kamelet's default, " + stringSerializer + ", is supported: the event's body is the message, byte for byte."}
	usernameParam = sdk.Param{Name: "redisUsername", Type: sdk.String,
		Description: "The user to authenticate as, for a server with access control lists (Redis 6 or later); without it, redisPassword is the server's requirepass."}
	passwordParam = sdk.Param{Name: "redisPassword", Type: sdk.String, Secret: true,
		Description: "The password to authenticate with (the server's requirepass, or redisUsername's password)."}
)

// server is where a kind connects to, from its config.
type server struct {
	kind string
	addr string
	opts *goredis.Options
}

// quiet is go-redis's logger here: it discards. go-redis logs to stderr,
// which the host shows as a plugin's warnings, what the connectors'
// errors and warnings already say (a failed dial, with its address) and
// could not say better: those lines have no instance to name.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var silenceGoRedis = sync.OnceFunc(func() { goredis.SetLogger(quiet{}) })

// newServer reads the connection parameters of cfg, checking what can be
// checked without a network.
func newServer(kind string, cfg sdk.Config) (server, error) {
	silenceGoRedis()
	host := cfg.String("redisHost")
	if strings.TrimSpace(host) == "" {
		return server{}, fmt.Errorf("%s: redisHost is empty", kind)
	}
	port := cfg.Int("redisPort")
	if port < 1 || port > 65535 {
		return server{}, fmt.Errorf("%s: redisPort must be a port number (1 to 65535), got %d", kind, port)
	}
	if s := cfg.String("serializer"); s != stringSerializer && s != "StringRedisSerializer" {
		return server{}, fmt.Errorf("%s: serializer: only %s is supported (the body is the message, byte for byte)", kind, stringSerializer)
	}
	addr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
	return server{kind: kind, addr: addr, opts: &goredis.Options{
		Addr:         addr,
		Username:     cfg.String("redisUsername"),
		Password:     cfg.String("redisPassword"),
		DialTimeout:  5 * time.Second,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		// The Kamelet's serializer is RESP2 strings; RESP3 would change
		// nothing we read, and RESP2 works with every server version.
		Protocol: 2,
		// One connection is enough for a sink writing one batch at a time.
		PoolSize: 2,
		// The sink's errors go back to the host, which sends the batch
		// again with its own backoff: one retry here covers a connection
		// that went stale while the sink was idle.
		MaxRetries: 1,
	}}, nil
}

// failure turns an error talking to the server into the one line a user
// reads: the kind, the address and the cause. A refusal of the
// credentials says so (go-redis's errors never quote the password).
func (s server) failure(err error) error {
	var reply goredis.Error
	if errors.As(err, &reply) && isAuthError(reply.Error()) {
		return fmt.Errorf("%s: %s refused the credentials: %w", s.kind, s.addr, err)
	}
	if errors.As(err, &reply) {
		return fmt.Errorf("%s: %s answered: %w", s.kind, s.addr, err)
	}
	return fmt.Errorf("%s: cannot reach %s: %w", s.kind, s.addr, err)
}

// isAuthError recognises Redis's answers to missing or wrong credentials.
func isAuthError(reply string) bool {
	for _, prefix := range []string{"NOAUTH", "WRONGPASS", "NOPERM", "ERR AUTH", "ERR invalid password", "ERR Client sent AUTH"} {
		if strings.HasPrefix(reply, prefix) {
			return true
		}
	}
	return false
}

// transient are the prefixes of Redis error replies after which the same
// command may succeed later: the server is loading, a replica, busy, out
// of memory, or refusing the credentials (fixed on the server side).
var transient = []string{"LOADING", "READONLY", "BUSY", "MASTERDOWN", "TRYAGAIN", "OOM", "CLUSTERDOWN", "NOAUTH", "WRONGPASS", "NOPERM", "NOREPLICAS"}

// isPermanent reports whether err is an error reply that sending the
// command again cannot fix (WRONGTYPE, a syntax error).
func isPermanent(err error) bool {
	var reply goredis.Error
	if !errors.As(err, &reply) {
		return false
	}
	for _, prefix := range transient {
		if strings.HasPrefix(reply.Error(), prefix) {
			return false
		}
	}
	return true
}

// names splits a comma-separated list of channels or patterns.
func names(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

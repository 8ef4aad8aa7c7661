package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SinkKind declares redis-sink.
var SinkKind = sdk.SinkKind{
	Name:    "redis-sink",
	Kamelet: "redis-sink",
	Description: "Writes each event to Redis with one command: PUBLISH it on channels, SET it as a key's value, " +
		"LPUSH or RPUSH it onto a list, or SADD it to a set. The commands of a batch are pipelined; " +
		"a batch is acknowledged once Redis has answered every command of it.",
	Events: "each event's body is the message or value; the key comes from its CamelRedis.Key (or key) header, else the key parameter",
	Params: []sdk.Param{
		hostParam,
		portParam,
		{Name: "command", Type: sdk.String, Required: true, Default: "GET",
			Description: "The command each event is written with: PUBLISH, SET, LPUSH, RPUSH or SADD. The Kamelet's default, GET, writes nothing, so a sink must name one of these."},
		{Name: "channels", Type: sdk.String, Default: "one",
			Description: "The channels PUBLISH sends each event to, separated by commas, unless the event's CamelRedis.OverrideChannel (or channel) header names one."},
		{Name: "key", Type: sdk.String,
			Description: "The key SET, LPUSH, RPUSH and SADD write to, for events without a CamelRedis.Key (or key) header."},
		serializerParam,
		usernameParam,
		passwordParam,
	},
	New: newSink,
}

// commands are the commands the sink writes with, by name.
var commands = map[string]func(p goredis.Pipeliner, ctx context.Context, key string, value []byte) goredis.Cmder{
	"SET": func(p goredis.Pipeliner, ctx context.Context, k string, v []byte) goredis.Cmder {
		return p.Set(ctx, k, v, 0)
	},
	"LPUSH": func(p goredis.Pipeliner, ctx context.Context, k string, v []byte) goredis.Cmder {
		return p.LPush(ctx, k, v)
	},
	"RPUSH": func(p goredis.Pipeliner, ctx context.Context, k string, v []byte) goredis.Cmder {
		return p.RPush(ctx, k, v)
	},
	"SADD": func(p goredis.Pipeliner, ctx context.Context, k string, v []byte) goredis.Cmder {
		return p.SAdd(ctx, k, v)
	},
}

// sink is one redis-sink instance.
type sink struct {
	server
	client   *goredis.Client
	command  string // PUBLISH, or a key of commands
	channels []string
	key      string
}

func newSink(cfg sdk.Config, _ *slog.Logger) (sdk.Sink, error) {
	srv, err := newServer("redis-sink", cfg)
	if err != nil {
		return nil, err
	}
	s := &sink{server: srv, command: strings.ToUpper(cfg.String("command")), channels: names(cfg.String("channels")), key: cfg.String("key")}
	switch _, ok := commands[s.command]; {
	case s.command == "PUBLISH":
		if len(s.channels) == 0 {
			return nil, errors.New("redis-sink: channels names no channel to PUBLISH to")
		}
	case s.command == "GET":
		return nil, errors.New("redis-sink: command GET writes nothing: use PUBLISH, SET, LPUSH, RPUSH or SADD")
	case !ok:
		return nil, fmt.Errorf("redis-sink: command must be PUBLISH, SET, LPUSH, RPUSH or SADD, got %q", cfg.String("command"))
	}
	s.client = goredis.NewClient(srv.opts) // dials at the first Write
	return s, nil
}

// Write sends one command per event (PUBLISH: one per channel) in one
// pipeline, and returns nil once Redis has answered all of them. An event
// whose command cannot be made (no key) or that Redis refuses for good
// (WRONGTYPE) fails alone, with sdk.Partial and sdk.Permanent; the
// commands before it are done, those after it are sent again.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	pipe := s.client.Pipeline()
	var cmds [][]goredis.Cmder // by event
	stop, stopErr := len(batch), error(nil)
	for i, ev := range batch {
		c, err := s.queue(ctx, pipe, ev)
		if err != nil {
			stop, stopErr = i, sdk.Permanent(err)
			break
		}
		cmds = append(cmds, c)
	}
	var execErr error
	if len(cmds) > 0 {
		_, execErr = pipe.Exec(ctx)
	}
	// Each command has its own answer, but a connection that could not be
	// made (or authenticated) fails Exec with no command marked.
	for i, c := range cmds {
		for _, cmd := range c {
			if err := cmd.Err(); err != nil {
				if isPermanent(err) {
					return sdk.Partial(i, sdk.Permanent(fmt.Errorf("redis-sink: %s refused %s: %w", s.addr, cmd.Name(), err)))
				}
				return sdk.Partial(i, s.failure(err))
			}
		}
	}
	if execErr != nil {
		return s.failure(execErr)
	}
	return sdk.Partial(stop, stopErr)
}

// queue adds ev's commands to pipe.
func (s *sink) queue(ctx context.Context, pipe goredis.Pipeliner, ev sdk.Event) ([]goredis.Cmder, error) {
	if s.command == "PUBLISH" {
		channels := s.channels
		if ch := header(ev, headerOverrideChannel, kameletChannel); ch != "" {
			channels = []string{ch}
		}
		out := make([]goredis.Cmder, len(channels))
		for i, ch := range channels {
			out[i] = pipe.Publish(ctx, ch, ev.Body)
		}
		return out, nil
	}
	key := header(ev, headerKey, kameletKey)
	if key == "" {
		key = s.key
	}
	if key == "" {
		return nil, fmt.Errorf("redis-sink: an event has no key for %s: give it a %s header, or give the sink a key", s.command, headerKey)
	}
	return []goredis.Cmder{commands[s.command](pipe, ctx, key, ev.Body)}, nil
}

// header returns the first of the headers of ev that is set.
func header(ev sdk.Event, names ...string) string {
	for _, n := range names {
		if v := ev.Headers[n]; v != "" {
			return v
		}
	}
	return ""
}

// Close closes the connections.
func (s *sink) Close() error { return s.client.Close() }

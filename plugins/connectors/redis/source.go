package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SourceKind declares redis-source.
var SourceKind = sdk.SourceKind{
	Name:    "redis-source",
	Kamelet: "redis-source",
	Description: "Receives the messages published on Redis pub/sub channels. " +
		"Redis pub/sub keeps no message for a subscriber that is not connected, so delivery is at most once: " +
		"messages published while the source is reconnecting, or emitted but not done when its plugin dies, are lost.",
	Events: "the payload of each message, as a string, with the CamelRedis.Channel header (and CamelRedis.Pattern for PSUBSCRIBE)",
	Params: []sdk.Param{
		hostParam,
		portParam,
		{Name: "command", Type: sdk.String, Default: "SUBSCRIBE",
			Description: "SUBSCRIBE to receive the messages of the channels named in channels, or PSUBSCRIBE to receive those of every channel matching one of its glob patterns (such as news.*)."},
		{Name: "channels", Type: sdk.String, Required: true, Default: "one",
			Description: "The channels to subscribe to, or with PSUBSCRIBE the patterns, separated by commas."},
		serializerParam,
		usernameParam,
		passwordParam,
	},
	New: newSource,
}

// receiveWait is how long the source waits for a message before it pings
// the server, so that a connection that died silently is noticed.
const receiveWait = 30 * time.Second

// source is one redis-source instance.
type source struct {
	server
	pattern  bool // PSUBSCRIBE rather than SUBSCRIBE
	channels []string
	log      *slog.Logger
	// firstWait and maxWait bound the backoff between reconnections.
	firstWait, maxWait time.Duration
}

func newSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	srv, err := newServer("redis-source", cfg)
	if err != nil {
		return nil, err
	}
	s := &source{server: srv, channels: names(cfg.String("channels")), log: log, firstWait: 100 * time.Millisecond, maxWait: 5 * time.Second}
	switch strings.ToUpper(cfg.String("command")) {
	case "SUBSCRIBE":
	case "PSUBSCRIBE":
		s.pattern = true
	default:
		return nil, fmt.Errorf("redis-source: command must be SUBSCRIBE or PSUBSCRIBE, got %q", cfg.String("command"))
	}
	if len(s.channels) == 0 {
		return nil, errors.New("redis-source: channels names no channel")
	}
	return s, nil
}

// Run connects, subscribes and emits each message until ctx ends. If the
// server cannot be reached or refuses the credentials at the start, Run
// fails with that error. Once subscribed, a lost connection is
// re-established, with backoff, for as long as the source runs: go-redis
// dials again and subscribes again to the same channels at the next
// receive.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	client := goredis.NewClient(s.opts)
	defer client.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return s.failure(err)
	}
	var ps *goredis.PubSub
	if s.pattern {
		ps = client.PSubscribe(ctx, s.channels...)
	} else {
		ps = client.Subscribe(ctx, s.channels...)
	}
	defer ps.Close()
	// A receive blocks in a read that ctx does not interrupt: closing the
	// subscription does.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, s.maxWait
	lost := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, receiveWait)
		if ctx.Err() != nil {
			return nil
		}
		var timeout net.Error
		switch {
		case errors.As(err, &timeout) && timeout.Timeout():
			_ = ps.Ping(ctx) // a dead connection fails the next receive
			continue
		case err != nil:
			wait := retry.NextBackOff()
			s.log.Warn("lost the subscription; subscribing again", "error", s.failure(err).Error(), "wait", wait.Round(time.Millisecond).String())
			lost = true
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		retry.Reset()
		switch m := msg.(type) {
		case *goredis.Subscription:
			if lost {
				s.log.Info("subscribed again", "server", s.addr, "channel", m.Channel)
				lost = false
			}
		case *goredis.Message:
			ev := sdk.Event{Body: []byte(m.Payload), ContentType: "text/plain", Headers: map[string]string{headerChannel: m.Channel}}
			if m.Pattern != "" {
				ev.Headers[headerPattern] = m.Pattern
			}
			if err := emit(ctx, ev); err != nil {
				return nil // the source was disconnected
			}
		}
	}
}

package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v5"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// How one message is retried: at most maxAttempts calls, waiting from
// firstWait growing up to maxSendWait between them (or what a 429 asks),
// and no new attempt once sendBudget has passed since the first, so that a
// long outage leaves the next try to the host instead of blocking it.
const (
	maxAttempts    = 6
	maxSendWait    = 8 * time.Second
	sendBudget     = time.Minute
	requestTimeout = 30 * time.Second
)

// sink is one telegram-sink instance.
type sink struct {
	api    *botAPI
	chatID string // "" when only the events' headers say
	log    *slog.Logger
	// firstWait and maxWait are firstWait and maxSendWait, shorter in tests.
	firstWait, maxWait time.Duration
}

func newSink(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	api, err := newBotAPI(sinkName, cfg.String("baseUri"), cfg.String("authorizationToken"))
	if err != nil {
		return nil, err
	}
	api.client.Timeout = requestTimeout
	return &sink{api: api, chatID: cfg.String("chatId"), log: log, firstWait: firstWait, maxWait: maxSendWait}, nil
}

// sendMessageParams is what sendMessage takes.
type sendMessageParams struct {
	ChatID    string `json:"chat_id"`
	Text      string `json:"text"`
	ParseMode string `json:"parse_mode,omitempty"`
}

// Write sends one message per event, in order, and stops at the first that
// cannot be sent: its error, marked sdk.Partial, says that the messages
// before it were sent.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	for i, ev := range batch {
		if err := s.send(ctx, ev); err != nil {
			return sdk.Partial(i, err)
		}
	}
	return nil
}

// send sends the message of one event, retrying what may pass.
func (s *sink) send(ctx context.Context, ev sdk.Event) error {
	msg := sendMessageParams{ChatID: ev.Headers[headerChatID], Text: string(ev.Body), ParseMode: ev.Headers[headerParseMode]}
	if msg.ChatID == "" {
		msg.ChatID = s.chatID
	}
	if msg.ChatID == "" {
		return sdk.Permanent(errors.New("no chat to send the message to: give chatId, or the event a " + headerChatID + " header"))
	}
	if !utf8.Valid(ev.Body) {
		return sdk.Permanent(errors.New("the event is not UTF-8 text, which a Telegram message must be"))
	}
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, s.maxWait
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := s.api.call(ctx, "sendMessage", msg, nil)
		var refused *apiError
		switch {
		case err == nil:
			return struct{}{}, nil
		case errors.As(err, &refused) && refused.permanent():
			return struct{}{}, backoff.Permanent(sdk.Permanent(err))
		case errors.As(err, &refused) && refused.retryAfter > 0:
			return struct{}{}, fmt.Errorf("%w: %w", err, &backoff.RetryAfterError{Duration: refused.retryAfter})
		}
		return struct{}{}, err
	},
		backoff.WithBackOff(retry),
		backoff.WithMaxTries(maxAttempts),
		backoff.WithMaxElapsedTime(sendBudget),
		backoff.WithNotify(func(err error, wait time.Duration) {
			s.log.Warn("sending a message failed; retrying", "error", err.Error(), "wait", wait.Round(time.Millisecond).String())
		}))
	if err != nil && ctx.Err() != nil && !sdk.IsPermanent(err) {
		return errors.New("stopped before the message was sent")
	}
	return err
}

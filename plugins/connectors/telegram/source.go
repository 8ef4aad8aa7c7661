package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// How the source polls: a long poll of pollTimeout when nothing is in
// flight; while events are, a short poll, and the next one after an
// outcome or pollDelay (as Camel's consumer delay), since Telegram answers
// at once with the updates in flight, which are not confirmed yet. A
// getUpdates that fails is tried again after firstWait, growing up to
// maxWait. At most pollLimit updates come at once (the API's most), which
// is also the most in flight past a failed one.
const (
	pollTimeout    = 30 * time.Second
	pollDelay      = 500 * time.Millisecond
	pollLimit      = 100
	firstWait      = 500 * time.Millisecond
	maxWait        = 30 * time.Second
	confirmTimeout = 5 * time.Second
)

// source is one telegram-source instance.
type source struct {
	api    *botAPI
	log    *slog.Logger
	ledger *ledger
	// confirmed is the offset Telegram was last given, which it confirmed.
	confirmed int64
	// pollTimeout, pollDelay, firstWait and maxWait are the constants of
	// the same names, shorter in tests.
	pollTimeout, pollDelay, firstWait, maxWait time.Duration
}

func newSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	api, err := newBotAPI(sourceName, cfg.String("baseUri"), cfg.String("authorizationToken"))
	if err != nil {
		return nil, err
	}
	api.prefix = sourceName + ": "
	// A long poll that outlasts its timeout by this much has hung.
	api.client.Timeout = pollTimeout + requestTimeout
	return &source{
		api: api, log: log, ledger: newLedger(),
		pollTimeout: pollTimeout, pollDelay: pollDelay, firstWait: firstWait, maxWait: maxWait,
	}, nil
}

// getUpdatesParams is what getUpdates takes.
type getUpdatesParams struct {
	Offset  int64 `json:"offset,omitempty"`
	Limit   int   `json:"limit"`
	Timeout int   `json:"timeout"` // seconds
}

// Run polls getUpdates and emits the updates the ledger wants, until ctx
// ends; then it confirms what was done meanwhile. It returns an error only
// when Telegram refuses the bot (a wrong token): trying again cannot help.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	defer s.confirm()
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, s.maxWait
	var outage error // the failure logged, until a poll succeeds
	warnedHeld := false
	for ctx.Err() == nil {
		inFlight, held := s.ledger.outstanding()
		timeout := s.pollTimeout
		if inFlight > 0 {
			timeout = 0
		}
		offset := s.ledger.offset()
		var updates []json.RawMessage
		err := s.api.call(ctx, "getUpdates", getUpdatesParams{Offset: offset, Limit: pollLimit, Timeout: int(timeout / time.Second)}, &updates)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var refused *apiError
			if errors.As(err, &refused) && refused.permanent() {
				return errors.New(sourceName + ": " + err.Error())
			}
			wait := retry.NextBackOff()
			if errors.As(err, &refused) && refused.retryAfter > 0 {
				wait = refused.retryAfter
			}
			if outage == nil {
				s.log.Warn(s.line(err)+"; trying again with backoff", "wait", wait.String())
			} else {
				s.log.Debug("getUpdates failed again", "error", s.line(err), "wait", wait.String())
			}
			outage = err
			if !s.sleep(ctx, wait, nil) {
				return nil
			}
			continue
		}
		if outage != nil {
			s.log.Info(sourceName + ": reached " + s.api.host + " again")
			outage = nil
		}
		retry.Reset()
		s.confirmed = max(s.confirmed, offset)
		emitted, stop := s.emitAll(ctx, emit, updates)
		if stop {
			return nil
		}
		if emitted == 0 && inFlight > 0 {
			if held && inFlight >= pollLimit && !warnedHeld {
				warnedHeld = true
				s.log.Warn(sourceName + ": a failed update holds back the confirmation of the 100 after it; waiting (the next instance gets them again)")
			}
			// Telegram answered with updates in flight: wait for an
			// outcome, or a little, before asking again.
			if !s.sleep(ctx, s.pollDelay, s.ledger.changed) {
				return nil
			}
		}
	}
	return nil
}

// line is err as one line that names the kind.
func (s *source) line(err error) string {
	var unreachable *unreachableError
	if errors.As(err, &unreachable) {
		return err.Error()
	}
	return sourceName + ": " + err.Error()
}

// emitAll emits the updates the ledger wants, in order. It reports how many
// it emitted, and whether the source is to stop (emit failed: ctx ended or
// the instance closed).
func (s *source) emitAll(ctx context.Context, emit sdk.Emit, updates []json.RawMessage) (int, bool) {
	n := 0
	for _, raw := range updates {
		id, ev, ok := event(raw)
		if id == 0 || !s.ledger.wants(id) {
			continue
		}
		s.ledger.emitting(id)
		if !ok {
			s.ledger.settle(id, nil) // nothing to emit: an update type with no payload
			continue
		}
		ev.Ack = func(err error) { s.ledger.settle(id, err) }
		if err := emit(ctx, ev); err != nil {
			ev.Ack(err) // not taken, so the SDK will not call it: emitted again
			return n, true
		}
		n++
	}
	return n, false
}

// sleep waits d, or until wake has a token (nil: never), and reports
// false if ctx ended first.
func (s *source) sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	case <-ctx.Done():
		return false
	}
	return true
}

// confirm gives Telegram the offset past the updates done since the last
// getUpdates, once Run's context ended, so that the next instance does not
// get them again. It is bounded by confirmTimeout; if it fails, those
// updates come again (at least once).
func (s *source) confirm() {
	offset := s.ledger.offset()
	if offset <= s.confirmed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), confirmTimeout)
	defer cancel()
	var updates []json.RawMessage
	if err := s.api.call(ctx, "getUpdates", getUpdatesParams{Offset: offset, Limit: 1}, &updates); err != nil {
		s.log.Warn(s.line(err) + "; the updates done since the last poll were not confirmed, and come again to the next instance")
		return
	}
	s.confirmed = offset
}

// update is what the source reads of an update: its id, and the chat and
// date of its payload (a message's, or a callback query's message's).
type update struct {
	Chat    *chat  `json:"chat"`
	Date    int64  `json:"date"`
	Message *inner `json:"message"`
}

type inner struct {
	Chat *chat `json:"chat"`
	Date int64 `json:"date"`
}

type chat struct {
	ID json.Number `json:"id"`
}

// event makes the event of one update of getUpdates: its body is the JSON
// of the update's payload (the message, channel post, callback query, ...:
// what Camel's consumer takes as the body and the Kamelet marshals), its
// headers the chat id and the time. It returns the update's id (0 if it has
// none), and false if it has no payload.
func event(raw json.RawMessage) (int64, sdk.Event, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return 0, sdk.Event{}, false
	}
	var id int64
	if json.Unmarshal(fields["update_id"], &id) != nil || id <= 0 {
		return 0, sdk.Event{}, false
	}
	delete(fields, "update_id")
	var payload json.RawMessage
	for _, v := range fields {
		payload = v // an update has at most one of its optional fields
	}
	if payload == nil {
		return id, sdk.Event{}, false
	}
	headers := map[string]string{headerUpdateID: strconv.FormatInt(id, 10)}
	var u update
	if json.Unmarshal(payload, &u) == nil {
		c, date := u.Chat, u.Date
		if c == nil && u.Message != nil {
			c, date = u.Message.Chat, u.Message.Date
		}
		if c != nil && c.ID != "" {
			headers[headerChatID] = c.ID.String()
		}
		if date > 0 {
			headers[headerTimestamp] = strconv.FormatInt(date*1000, 10)
		}
	}
	return id, sdk.Event{Body: payload, ContentType: "application/json", Headers: headers}, true
}

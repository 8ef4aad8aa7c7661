package telegram

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// token is a bot token of the shape Telegram gives, distinctive enough to
// be found in any text that shows it.
const token = "4242424242:AAE-sEcReT-t0ken-zz9Q"

// openSource opens a telegram-source on bot's server, with the waits of a
// test.
func openSource(t *testing.T, bot *botServer, opts ...sdktest.Option) *source {
	t.Helper()
	src := sdktest.NewSource(t, SourceKind, map[string]any{"authorizationToken": token, "baseUri": bot.url()}, opts...).(*source)
	src.pollTimeout, src.pollDelay, src.firstWait, src.maxWait = 2*time.Second, 20*time.Millisecond, 10*time.Millisecond, 100*time.Millisecond
	return src
}

// body is what a message event's body says.
type body struct {
	MessageID int64  `json:"message_id"`
	Text      string `json:"text"`
	From      struct {
		FirstName string `json:"first_name"`
	} `json:"from"`
}

func texts(t *testing.T, evs []sdk.Event) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		var b body
		require.NoError(t, json.Unmarshal(ev.Body, &b), "body %s", ev.Body)
		out = append(out, b.Text)
	}
	return out
}

func TestSourceEmitsMessagesWithHeaders(t *testing.T) {
	bot := newBotServer(t, token)
	src := openSource(t, bot)
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	id := bot.say(-1001234, "hello bot")
	bot.say(99, "second")

	evs := c.Wait(t, 2)
	require.Equal(t, []string{"hello bot", "second"}, texts(t, evs))
	ev := evs[0]
	require.Equal(t, "application/json", ev.ContentType)
	require.Equal(t, map[string]string{
		"CamelTelegramChatId":   "-1001234",
		"CamelMessageTimestamp": "1700000000000",
		"CamelTelegramUpdateId": strconv.FormatInt(id, 10),
	}, ev.Headers)
	var b body
	require.NoError(t, json.Unmarshal(ev.Body, &b))
	require.Equal(t, "Ada", b.From.FirstName, "the body is Telegram's message, as the Kamelet marshals it")
	require.Equal(t, "99", evs[1].Headers["CamelTelegramChatId"])
	// Both were done at once: Telegram is told, and forgets them.
	require.Eventually(t, func() bool { return bot.offset() == id+2 }, sdktest.Timeout, 5*time.Millisecond)
}

// TestSourceConfirmsOnlyWhatIsDone holds the events' outcomes: nothing is
// confirmed before its Ack(nil), an update done early waits for those
// before it, a failed one is never confirmed, and one the host did not
// take is emitted again.
func TestSourceConfirmsOnlyWhatIsDone(t *testing.T) {
	bot := newBotServer(t, token)
	src := openSource(t, bot)
	c := sdktest.Collector{Hold: true}
	sdktest.Run(t, src, c.Emit)
	first := bot.say(1, "one")
	bot.say(1, "two")
	bot.say(1, "three")
	evs := c.Wait(t, 3)
	require.Equal(t, []string{"one", "two", "three"}, texts(t, evs))

	// Polls go on (the source waits for outcomes) but confirm nothing.
	polls := bot.count("getUpdates")
	require.Eventually(t, func() bool { return bot.count("getUpdates") > polls+2 }, sdktest.Timeout, 5*time.Millisecond)
	require.Zero(t, bot.offset(), "nothing is confirmed before an Ack(nil)")

	evs[1].Ack(nil) // done before the one before it: waits
	polls = bot.count("getUpdates")
	require.Eventually(t, func() bool { return bot.count("getUpdates") > polls+2 }, sdktest.Timeout, 5*time.Millisecond)
	require.Zero(t, bot.offset())

	evs[0].Ack(nil)
	require.Eventually(t, func() bool { return bot.offset() == first+2 }, sdktest.Timeout, 5*time.Millisecond)

	evs[2].Ack(&sdk.FailedError{Reason: `stream "s": subscriber "f": boom`})
	fourth := bot.say(1, "four")
	evs = c.Wait(t, 4)
	require.Equal(t, "four", texts(t, evs[3:])[0])
	evs[3].Ack(nil)
	polls = bot.count("getUpdates")
	require.Eventually(t, func() bool { return bot.count("getUpdates") > polls+2 }, sdktest.Timeout, 5*time.Millisecond)
	require.Equal(t, first+2, bot.offset(), "a failed update holds the offset: it comes again to the next instance")

	// An event the host never took comes again.
	fifth := bot.say(2, "five")
	evs = c.Wait(t, 5)
	evs[4].Ack(errors.New("the source instance closed before the host accepted the event"))
	evs = c.Wait(t, 6)
	require.Equal(t, "five", texts(t, evs[5:])[0])
	require.Equal(t, strconv.FormatInt(fifth, 10), evs[5].Headers["CamelTelegramUpdateId"])
	require.Less(t, fourth, fifth)
}

// TestSourceRestartGetsWhatWasNotDone ends an instance with events emitted
// and not done, as a crash does: a new instance gets exactly those again,
// since Telegram keeps the updates not confirmed.
func TestSourceRestartGetsWhatWasNotDone(t *testing.T) {
	bot := newBotServer(t, token)
	first := openSource(t, bot)
	held := sdktest.Collector{Hold: true}
	run := sdktest.Run(t, first, held.Emit)
	one := bot.say(5, "one")
	bot.say(5, "two")
	bot.say(5, "three")
	evs := held.Wait(t, 3)
	evs[0].Ack(nil)
	require.Eventually(t, func() bool { return bot.offset() == one+1 }, sdktest.Timeout, 5*time.Millisecond)
	require.NoError(t, run.Stop()) // two and three were neither done nor failed

	second := openSource(t, bot, sdktest.Reopened(3))
	var c sdktest.Collector
	sdktest.Run(t, second, c.Emit)
	require.Equal(t, []string{"two", "three"}, texts(t, c.Wait(t, 2)))
	bot.say(5, "four")
	require.Equal(t, []string{"two", "three", "four"}, texts(t, c.Wait(t, 3)))
	require.Eventually(t, func() bool { return bot.offset() == one+4 }, sdktest.Timeout, 5*time.Millisecond)
}

// TestSourceConfirmsWhenItStops: what was done since the last poll that
// reached Telegram is confirmed when the instance stops, so that the next
// one does not get it again.
func TestSourceConfirmsWhenItStops(t *testing.T) {
	bot := newBotServer(t, token)
	src := openSource(t, bot)
	held := sdktest.Collector{Hold: true}
	run := sdktest.Run(t, src, held.Emit)
	one := bot.say(5, "one")
	bot.say(5, "two")
	evs := held.Wait(t, 2)
	// From now on the polls fail (a gateway in the way), but for the
	// confirming call, which asks for one update.
	bot.refuseWith(func(method string, params map[string]any) (int, string, bool) {
		return 502, "Bad Gateway", params["limit"] != float64(1)
	})
	evs[0].Ack(nil)
	evs[1].Ack(nil)
	polls := bot.count("getUpdates")
	require.Eventually(t, func() bool { return bot.count("getUpdates") > polls+1 }, sdktest.Timeout, 5*time.Millisecond)
	require.Zero(t, bot.offset())
	require.NoError(t, run.Stop())
	require.Equal(t, one+2, bot.offset())
}

// TestSourceReconnects stops the Bot API server mid-run and starts it
// again on the same address: the source says so once, tries again with
// backoff, and goes on where it was.
func TestSourceReconnects(t *testing.T) {
	bot := newBotServer(t, token)
	var log sdktest.Log
	src := openSource(t, bot, sdktest.LogTo(&log))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	bot.say(3, "before")
	c.Wait(t, 1)
	require.Eventually(t, func() bool { _, held := src.ledger.outstanding(); return !held && bot.offset() > 0 }, sdktest.Timeout, 5*time.Millisecond)

	bot.stop()
	warning := "telegram-source: cannot reach " + strings.TrimPrefix(bot.url(), "http://") + ": "
	require.Eventually(t, func() bool { return strings.Contains(log.String(), warning) }, sdktest.Timeout, 5*time.Millisecond)
	// More polls fail while the server is down: logged once.
	require.Eventually(t, func() bool { return strings.Count(log.String(), "getUpdates failed again") >= 2 }, sdktest.Timeout, 5*time.Millisecond)
	bot.start()
	bot.say(3, "after")
	require.Equal(t, []string{"before", "after"}, texts(t, c.Wait(t, 2)))
	require.Eventually(t, func() bool {
		return strings.Contains(log.String(), "telegram-source: reached "+strings.TrimPrefix(bot.url(), "http://")+" again")
	}, sdktest.Timeout, 5*time.Millisecond)
	warnings := 0
	for _, r := range log.Records() {
		if strings.Contains(r.Message, "cannot reach") {
			warnings++
		}
	}
	require.Equal(t, 1, warnings, "an outage is logged once, not at each poll:\n%s", log.String())
}

func TestSourceUnreachableSaysKindHostAndCause(t *testing.T) {
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, map[string]any{"authorizationToken": token, "baseUri": "http://127.0.0.1:1"}, sdktest.LogTo(&log))
	var c sdktest.Collector
	run := sdktest.Run(t, src, c.Emit)
	require.Eventually(t, func() bool { return len(log.Records()) > 0 }, sdktest.Timeout, 5*time.Millisecond)
	require.Equal(t, "telegram-source: cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused; trying again with backoff", log.Records()[0].Message)
	require.NoError(t, run.Stop())
	require.NotContains(t, log.String(), token)
}

// TestSourceWrongToken: Telegram answers 401 to a token it does not know;
// the source ends with that, and shows no token.
func TestSourceWrongToken(t *testing.T) {
	bot := newBotServer(t, "1:another-bot")
	var log sdktest.Log
	src := openSource(t, bot, sdktest.LogTo(&log))
	var c sdktest.Collector
	err := sdktest.Run(t, src, c.Emit).Wait()
	require.EqualError(t, err, "telegram-source: Telegram refused getUpdates: 401 Unauthorized")
	require.NotContains(t, log.String(), token)
}

// TestSecretsStayOutOfErrors has the server echo the request's path, which
// holds the token, in its answers: neither errors nor logs show it.
func TestSecretsStayOutOfErrors(t *testing.T) {
	bot := newBotServer(t, token)
	bot.refuseWith(func(method string, _ map[string]any) (int, string, bool) {
		return 400, `{"ok":false,"error_code":400,"description":"Bad Request: cannot serve /bot` + token + `/` + method + `"}`, true
	})
	var log sdktest.Log
	src := openSource(t, bot, sdktest.LogTo(&log))
	var c sdktest.Collector
	err := sdktest.Run(t, src, c.Emit).Wait()
	require.EqualError(t, err, "telegram-source: Telegram refused getUpdates: 400 Bad Request: cannot serve /bot<authorizationToken>/getUpdates")

	sink := openSink(t, bot, map[string]any{"chatId": "5"}, sdktest.LogTo(&log))
	err = sdktest.Write(t, sink, sdk.Event{Body: []byte("hi")})
	require.True(t, sdk.IsPermanent(err))
	require.EqualError(t, err, "Telegram refused sendMessage: 400 Bad Request: cannot serve /bot<authorizationToken>/sendMessage")
	require.NotContains(t, log.String(), token)

	// Invalid JSON that quotes it.
	bot.refuseWith(func(string, map[string]any) (int, string, bool) { return 200, "<html>/bot" + token + "</html>", true })
	err = sdktest.Write(t, sink, sdk.Event{Body: []byte("hi")})
	require.Error(t, err)
	require.NotContains(t, err.Error(), token)
	require.NotContains(t, log.String(), token)
}

func TestConfigErrors(t *testing.T) {
	_, err := sdktest.OpenSource(SourceKind, map[string]any{})
	require.EqualError(t, err, `telegram-source: missing required parameter "authorizationToken"`)
	_, err = sdktest.OpenSink(SinkKind, map[string]any{"chatId": "5"})
	require.EqualError(t, err, `telegram-sink: missing required parameter "authorizationToken"`)
	_, err = sdktest.OpenSource(SourceKind, map[string]any{"authorizationToken": token, "baseUri": "ftp://" + token + "@example.org"})
	require.EqualError(t, err, "telegram-source: baseUri must be an http:// or https:// URL with a host and no user or query")
	_, err = sdktest.OpenSink(SinkKind, map[string]any{"authorization_token": token, "chat_id": "5", "baseUri": "not a url"})
	require.EqualError(t, err, "telegram-sink: baseUri must be an http:// or https:// URL with a host and no user or query")
	_, err = sdktest.OpenSink(SinkKind, map[string]any{"authorizationToken": token, "chatId": 5})
	require.ErrorContains(t, err, `telegram-sink: parameter "chatId" must be a string`)
	require.NotContains(t, err.Error(), token)
}

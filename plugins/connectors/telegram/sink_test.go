package telegram

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// openSink opens a telegram-sink on bot's server with config added, with
// the waits of a test.
func openSink(t *testing.T, bot *botServer, config map[string]any, opts ...sdktest.Option) *sink {
	t.Helper()
	cfg := map[string]any{"authorizationToken": token, "baseUri": bot.url()}
	for k, v := range config {
		cfg[k] = v
	}
	s := sdktest.NewSink(t, SinkKind, cfg, opts...).(*sink)
	s.firstWait, s.maxWait = 10*time.Millisecond, 50*time.Millisecond
	return s
}

func TestSinkSendsMessages(t *testing.T) {
	bot := newBotServer(t, token)
	s := openSink(t, bot, map[string]any{"chatId": "@news"})
	require.NoError(t, sdktest.Write(t, s,
		sdk.Event{Body: []byte("hello")},
		sdk.Event{Body: []byte("<b>to Ada</b>"), Headers: map[string]string{"CamelTelegramChatId": "42", "CamelTelegramParseMode": "HTML"}},
	))
	require.Equal(t, []sent{{ChatID: "@news", Text: "hello"}, {ChatID: "42", Text: "<b>to Ada</b>", ParseMode: "HTML"}}, bot.messages())
}

// TestSinkRepliesToTheSourcesChat passes the source's events straight to a
// sink without chatId: each reply goes to the chat it came from.
func TestSinkRepliesToTheSourcesChat(t *testing.T) {
	bot := newBotServer(t, token)
	var c sdktest.Collector
	sdktest.Run(t, openSource(t, bot), c.Emit)
	bot.say(11, "hi")
	bot.say(22, "ho")
	evs := c.Wait(t, 2)
	s := openSink(t, bot, nil)
	require.NoError(t, sdktest.Write(t, s, evs...))
	msgs := bot.messages()
	require.Len(t, msgs, 2)
	require.Equal(t, []string{"11", "22"}, []string{msgs[0].ChatID, msgs[1].ChatID})
	require.Contains(t, msgs[0].Text, `"text":"hi"`)
}

func TestSinkWithoutAChatFailsTheEvent(t *testing.T) {
	bot := newBotServer(t, token)
	s := openSink(t, bot, nil)
	err := sdktest.Write(t, s, sdk.Event{Body: []byte("nowhere")})
	require.EqualError(t, err, "no chat to send the message to: give chatId, or the event a CamelTelegramChatId header")
	require.Equal(t, []sdktest.Outcome{sdktest.Failed}, sdktest.Outcomes(1, err))
	require.Zero(t, bot.count("sendMessage"))
}

// TestSinkRefusals: a 400 or 403 answer fails that message for good, with
// Telegram's description; the messages before it are done, those after it
// are sent again.
func TestSinkRefusals(t *testing.T) {
	bot := newBotServer(t, token)
	bot.refuseWith(func(method string, params map[string]any) (int, string, bool) {
		switch params["chat_id"] {
		case "404":
			return 400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`, true
		case "403":
			return 403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`, true
		}
		return 0, "", false
	})
	s := openSink(t, bot, map[string]any{"chatId": "1"})
	to := func(chat, text string) sdk.Event {
		return sdk.Event{Body: []byte(text), Headers: map[string]string{"CamelTelegramChatId": chat}}
	}
	err := sdktest.Write(t, s, to("1", "a"), to("404", "b"), to("1", "c"))
	require.EqualError(t, err, "Telegram refused sendMessage: 400 Bad Request: chat not found")
	require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err))
	err = sdktest.Write(t, s, to("403", "d"))
	require.EqualError(t, err, "Telegram refused sendMessage: 403 Forbidden: bot was blocked by the user")
	require.True(t, sdk.IsPermanent(err))
	require.Equal(t, []sent{{ChatID: "1", Text: "a"}}, bot.messages())
	require.Equal(t, 3, bot.count("sendMessage"), "a refusal is not tried again")
}

// TestSinkWaitsAsTooManyRequestsAsks: a 429 is tried again after its
// retry_after.
func TestSinkWaitsAsTooManyRequestsAsks(t *testing.T) {
	bot := newBotServer(t, token)
	var refused atomic.Bool
	bot.refuseWith(func(string, map[string]any) (int, string, bool) {
		if refused.Swap(true) {
			return 0, "", false
		}
		return 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`, true
	})
	var log sdktest.Log
	s := openSink(t, bot, map[string]any{"chatId": "1"}, sdktest.LogTo(&log))
	require.NoError(t, sdktest.Write(t, s, sdk.Event{Body: []byte("slowly")}))
	require.Equal(t, []sent{{ChatID: "1", Text: "slowly"}}, bot.messages())
	require.Equal(t, 2, bot.count("sendMessage"))
	require.Contains(t, log.String(), `msg="sending a message failed; retrying" error="Telegram refused sendMessage: 429 Too Many Requests: retry after 1`)
	require.Contains(t, log.String(), ` wait=1s`)
}

// TestSinkUnconfirmedIsAnError: a message whose answer never came (the
// connection dropped) or was not the API's is not done: the host sends it
// again.
func TestSinkUnconfirmedIsAnError(t *testing.T) {
	bot := newBotServer(t, token)
	var drop atomic.Bool
	drop.Store(true)
	bot.refuseWith(func(string, map[string]any) (int, string, bool) {
		if drop.Load() {
			return 0, "", true
		}
		return 200, "<html>a proxy's page</html>", true
	})
	s := openSink(t, bot, map[string]any{"chatId": "1"})
	err := sdktest.Write(t, s, sdk.Event{Body: []byte("lost?")})
	require.EqualError(t, err, "cannot reach "+strings.TrimPrefix(bot.url(), "http://")+": the connection closed before the answer")
	require.Equal(t, []sdktest.Outcome{sdktest.Resent}, sdktest.Outcomes(1, err))
	drop.Store(false)
	err = sdktest.Write(t, s, sdk.Event{Body: []byte("lost?")})
	require.EqualError(t, err, strings.TrimPrefix(bot.url(), "http://")+" answered sendMessage with something that is not the Bot API's JSON: <html>a proxy's page</html>")
	require.Equal(t, []sdktest.Outcome{sdktest.Resent}, sdktest.Outcomes(1, err))
}

// TestSinkPeerRestart stops the server mid-run: the write that found it
// down is an error (the host sends it again), and once it is back every
// message acknowledged is there.
func TestSinkPeerRestart(t *testing.T) {
	bot := newBotServer(t, token)
	s := openSink(t, bot, map[string]any{"chatId": "1"})
	msg := func(text string) sdk.Event { return sdk.Event{Body: []byte(text)} }
	require.NoError(t, sdktest.Write(t, s, msg("1"), msg("2")))
	bot.stop()
	err := sdktest.Write(t, s, msg("3"), msg("4"))
	host := strings.TrimPrefix(bot.url(), "http://")
	require.EqualError(t, err, "cannot reach "+host+": dial tcp "+host+": connect: connection refused")
	require.Equal(t, []sdktest.Outcome{sdktest.Resent, sdktest.Resent}, sdktest.Outcomes(2, err))
	bot.start()
	require.NoError(t, sdktest.Write(t, s, msg("3"), msg("4")))
	var got []string
	for _, m := range bot.messages() {
		got = append(got, m.Text)
	}
	require.Equal(t, []string{"1", "2", "3", "4"}, got)
}

func TestSinkUnreachableSaysHostAndCause(t *testing.T) {
	var log sdktest.Log
	s := sdktest.NewSink(t, SinkKind, map[string]any{"authorizationToken": token, "chatId": "1", "baseUri": "http://127.0.0.1:1"}, sdktest.LogTo(&log)).(*sink)
	s.firstWait, s.maxWait = time.Millisecond, time.Millisecond
	err := sdktest.Write(t, s, sdk.Event{Body: []byte("x")})
	// The host puts "telegram-sink: not written: " before it.
	require.EqualError(t, err, "cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused")
	require.False(t, sdk.IsPermanent(err))
	require.NotContains(t, log.String(), token)
}

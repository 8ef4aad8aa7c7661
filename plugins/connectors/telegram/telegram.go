// Package telegram is the telegram-source and telegram-sink connectors: a
// Telegram bot's incoming messages as events, and events as messages the
// bot sends, through the Telegram Bot API (https://core.telegram.org/bots/api),
// as with the Apache Camel Kamelets of the same names. It speaks the API
// with net/http: two methods, getUpdates and sendMessage, need no client
// library, and none adds to the start-up time of every rayvens run.
//
// The source long-polls getUpdates. Telegram keeps an update until a call
// of getUpdates gives an offset past its update_id, which confirms it and
// every update before it: the source gives that offset only past updates
// whose events are done end to end, contiguously from the oldest, as a
// consumer commits a log (ledger.go). An update not confirmed when an
// instance ends is delivered again to the next one; Telegram keeps
// unconfirmed updates for 24 hours.
//
// The sink calls sendMessage for each event, in order, and takes a message
// as sent only when the API answered "ok": true. A 429 answer is retried
// after the retry_after it asks for, a 5xx answer or a failed connection
// with backoff; a refusal (400, 403, ...) fails that message for good,
// with Telegram's description.
//
// The bot's token is in the path of every request's URL: no error and no
// log line shows a URL, and what they quote of Telegram's answers has the
// token replaced by <authorizationToken>.
package telegram

import (
	"github.com/rayvens/rayvens/plugins/sdk"
)

// Camel's header names (TelegramConstants, and Exchange.MESSAGE_TIMESTAMP),
// and the update's id, which Camel does not pass on.
const (
	headerChatID    = "CamelTelegramChatId"
	headerParseMode = "CamelTelegramParseMode"
	headerTimestamp = "CamelMessageTimestamp"
	headerUpdateID  = "CamelTelegramUpdateId"
)

// The kinds' names, for their errors.
const (
	sourceName = "telegram-source"
	sinkName   = "telegram-sink"
)

// The parameters both kinds share.
var (
	tokenParam = sdk.Param{
		Name: "authorizationToken", Type: sdk.String, Required: true, Secret: true,
		Aliases:     []string{"authorization_token"},
		Description: "The token to access your bot on Telegram. You can obtain it from the Telegram @botfather.",
	}
	baseURIParam = sdk.Param{
		Name: "baseUri", Type: sdk.String, Default: defaultBaseURI,
		Aliases:     []string{"base_uri"},
		Description: "Advanced: the base URL of the Bot API, for a local Bot API server (or a test's). Requests go to baseUri/bot<token>/<method>.",
	}
)

// SourceKind declares telegram-source.
var SourceKind = sdk.SourceKind{
	Name:    sourceName,
	Kamelet: "telegram-source",
	Description: "Receive all messages that people send to your Telegram bot. " +
		"An update is confirmed to Telegram only once its event is done end to end; " +
		"Telegram delivers the updates not confirmed again, to the next instance, for 24 hours.",
	Events: "the JSON of each message (or channel post, callback query, ...) the bot receives, as Telegram sends it, with the chat id in the CamelTelegramChatId header",
	Params: []sdk.Param{tokenParam, baseURIParam},
	New:    newSource,
}

// SinkKind declares telegram-sink.
var SinkKind = sdk.SinkKind{
	Name:    sinkName,
	Kamelet: "telegram-sink",
	Description: "Send a message to a Telegram chat by using your Telegram bot as sender. " +
		"A message is done once the Bot API answered ok; 429 answers are retried after the wait Telegram asks for.",
	Events: "each event becomes the text of one message, sent to the chat of its CamelTelegramChatId header, or to chatId",
	Params: []sdk.Param{
		tokenParam,
		{Name: "chatId", Type: sdk.String, Aliases: []string{"chat_id"}, Description: "The Chat ID to where you want to send messages by default. An event's CamelTelegramChatId header, such as telegram-source sets, overrides it."},
		baseURIParam,
	},
	New: newSink,
}

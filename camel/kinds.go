package camel

import "github.com/rayvens/rayvens/plugins/params"

// catalog lists the built-in kinds. Each parameter follows its Kamelet:
// same name, type and required-ness; Description is the Kamelet's, adjusted
// where Rayvens behaves differently.
var catalog = []Kind{
	{
		Name: "timer-source", Direction: Source, Kamelet: "timer-source.kamelet.yaml",
		Description: "Produces periodic messages with a custom payload.",
		Events:      "the message, as a string",
		Params: []params.Param{
			{Name: "period", Type: params.Integer, Default: 1000, Description: "The interval (in milliseconds) to wait between producing the next message."},
			{Name: "message", Type: params.String, Required: true, Description: "The message to generate."},
			{Name: "contentType", Type: params.String, Default: "text/plain", Aliases: []string{"content_type"}, Description: "The content type of the generated message."},
			{Name: "repeatCount", Type: params.Integer, Aliases: []string{"repeat_count"}, Description: "Specifies a maximum limit of number of fires; the source ends after that many messages."},
		},
	},
	{
		Name: "http-source", Direction: Source, Kamelet: "http-source.kamelet.yaml",
		Description: "Periodically fetches an HTTP resource and provides the content as output.",
		Events:      "the body of each 2xx response, as a string; failed fetches are logged and retried at the next period",
		Params: []params.Param{
			{Name: "url", Type: params.String, Required: true, Description: "The URL to fetch for data."},
			{Name: "period", Type: params.Integer, Default: 1000, Description: "The interval between fetches in milliseconds (Rayvens' default: 1000; the Kamelet's is 10000)."},
			{Name: "contentType", Type: params.String, Default: "application/json", Aliases: []string{"content_type"}, Description: "The content type accepted for the resource (the Accept header)."},
		},
	},
	{
		Name: "webhook-source", Direction: Source, Kamelet: "webhook-source.kamelet.yaml",
		Description: "Creates an HTTP endpoint: the body of each POST to it is an event. It answers 2xx only once the stream has accepted the event, and 503 with Retry-After while the stream is full.",
		Events:      "the body of each POST, as a string",
		Params: []params.Param{
			{Name: "subpath", Type: params.String, Default: "webhook", Description: "The subpath where the webhook is registered."},
			{Name: "host", Type: params.String, Default: "127.0.0.1", Description: "The address to listen on (Rayvens; use 0.0.0.0 to accept connections from other hosts)."},
			{Name: "port", Type: params.Integer, Default: 8000, Description: "The port to listen on (Rayvens)."},
			{Name: "maxBodySize", Type: params.Integer, Default: 1 << 20, Aliases: []string{"max_body_size"}, Description: "The largest body accepted, in bytes; a larger one is answered 413."},
			{Name: "authorizationToken", Type: params.String, Secret: true, Aliases: []string{"authorization_token"}, Description: "When set, requests must carry the header `Authorization: Bearer <token>`; others are answered 401."},
		},
	},
	{
		Name: "file-source", Direction: Source,
		Description: "Reads the files that appear in a directory (as Rayvens' file-source does). A file is moved or deleted only after its event has been accepted by the stream.",
		Events:      `a JSON object {"filename": ..., "body": ...} per file, as a string`,
		Params:      fileSourceParams,
	},
	{
		Name: "file-source-raw", Direction: Source,
		Description: "Like file-source, but each event is the raw content of the file.",
		Events:      "the content of each file, as a string (its name relative to path is the CamelFileName header)",
		Params:      fileSourceParams,
	},
	{
		Name: "file-watch-source", Direction: Source, Kamelet: "file-watch-source.kamelet.yaml",
		Description: "Receives events about a file or a folder: creations, modifications and deletions.",
		Events:      `a JSON object {"filename": ..., "event_type": "CREATE"|"MODIFY"|"DELETE"} per change, as a string`,
		Params: []params.Param{
			{Name: "filePath", Type: params.String, Required: true, Aliases: []string{"path", "file_path"}, Description: "Path of file or folder to watch."},
			{Name: "events", Type: params.String, Required: true, Default: "CREATE,MODIFY,DELETE", Description: "The type of events to consume: a comma-separated subset of CREATE, MODIFY, DELETE."},
		},
	},
	{
		Name: "slack-sink", Direction: Sink, Kamelet: "slack-sink.kamelet.yaml",
		Description: "Sends messages to a Slack channel through an incoming webhook. It honours 429 Retry-After and retries 5xx answers with backoff.",
		Events:      "each event becomes the text of one message",
		Params: []params.Param{
			{Name: "channel", Type: params.String, Required: true, Description: "The Slack channel to send messages to."},
			{Name: "webhookUrl", Type: params.String, Required: true, Secret: true, Aliases: []string{"webhook_url"}, Description: "The webhook URL used by the Slack channel to handle incoming messages."},
		},
	},
	{
		Name: "http-sink", Direction: Sink, Kamelet: "http-sink.kamelet.yaml",
		Description: "Forwards each event to an HTTP or HTTPS endpoint, retrying failures with backoff.",
		Events:      "each event is the body of one request",
		Params: []params.Param{
			{Name: "url", Type: params.String, Required: true, Description: "The URL to which you want to send data."},
			{Name: "method", Type: params.String, Default: "POST", Description: "The HTTP method to use."},
			{Name: "contentType", Type: params.String, Aliases: []string{"content_type"}, Description: "The Content-Type of the requests (default: the event's own content type)."},
		},
	},
	{
		Name: "log-sink", Direction: Sink, Kamelet: "log-sink.kamelet.yaml",
		Description: "Logs all data that it receives to rayvens' log, useful for debugging purposes. Its lines are shown whatever --log-level says (unless off).",
		Events:      "each event is one log line",
		Params: []params.Param{
			{Name: "loggerName", Type: params.String, Default: "log-sink", Aliases: []string{"logger_name"}, Description: "Name of the logging category to use."},
			{Name: "level", Type: params.String, Default: "INFO", Description: "Logging level to use: DEBUG, INFO, WARN or ERROR (TRACE is shown as DEBUG; OFF logs nothing)."},
			{Name: "logMask", Type: params.Boolean, Default: false, Aliases: []string{"log_mask"}, Description: "Mask sensitive information like password or passphrase in the log."},
			{Name: "marker", Type: params.String, Description: "An optional marker shown with each line."},
			{Name: "multiline", Type: params.Boolean, Default: false, Description: "If enabled then each information is outputted on a newline."},
			{Name: "showAllProperties", Type: params.Boolean, Default: false, Aliases: []string{"show_all_properties"}, Description: "Show all of the exchange properties (in Rayvens: the kind of the sink and its logger name)."},
			{Name: "showBody", Type: params.Boolean, Default: true, Aliases: []string{"show_body"}, Description: "Show the message body."},
			{Name: "showBodyType", Type: params.Boolean, Default: true, Aliases: []string{"show_body_type"}, Description: "Show the body type (in Rayvens: its content type)."},
			{Name: "showExchangePattern", Type: params.Boolean, Default: true, Aliases: []string{"show_exchange_pattern"}, Description: "Shows the Message Exchange Pattern (always InOnly for a sink)."},
			{Name: "showHeaders", Type: params.Boolean, Default: false, Aliases: []string{"show_headers"}, Description: "Show the headers received."},
			{Name: "showProperties", Type: params.Boolean, Default: false, Aliases: []string{"show_properties"}, Description: "Show the exchange properties (in Rayvens: the logger name of the sink)."},
			{Name: "showStreams", Type: params.Boolean, Default: false, Aliases: []string{"show_streams"}, Description: "Show the stream bodies (Rayvens bodies are never streams: no effect)."},
			{Name: "showCachedStreams", Type: params.Boolean, Default: true, Aliases: []string{"show_cached_streams"}, Description: "Whether to show cached stream bodies (Rayvens bodies are never streams: no effect)."},
		},
	},
	{
		Name: "file-sink", Direction: Sink,
		Description: "Writes each event to a file in a directory, atomically (a temporary file renamed into place). The file name is the event's CamelFileName header (see OutputEvent), else fileName, else a unique generated name.",
		Events:      "each event is the content of one file",
		Params: []params.Param{
			{Name: "path", Type: params.String, Required: true, Description: "The directory to write files to; it is created if needed."},
			{Name: "fileName", Type: params.String, Aliases: []string{"file_name"}, Description: "The file name to use when an event has no CamelFileName header; each event replaces the file."},
		},
	},
}

// fileSourceParams are shared by file-source and file-source-raw.
var fileSourceParams = []params.Param{
	{Name: "path", Type: params.String, Required: true, Description: "The directory to read files from."},
	{Name: "keepFile", Type: params.Boolean, Default: false, Aliases: []string{"keep_file"}, Description: "Leave each file in place once read; it is remembered for the run by name, size and modification time, and read again only if it changes."},
	{Name: "moveAfterRead", Type: params.String, Aliases: []string{"move_after_read"}, Description: "A directory to move each file to once read, instead of deleting it (relative paths are inside path; it is created if needed and not read)."},
	{Name: "recursive", Type: params.Boolean, Default: false, Description: "Also read files in subdirectories."},
	{Name: "period", Type: params.Integer, Default: 500, Description: "How often to look for new files, in milliseconds."},
}

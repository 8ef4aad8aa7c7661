package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// What a user is told about a mistake, checked on malformed scripts,
// configs and command lines run through the real binary with `rayvens run`
// and `rayvens check`. The rule every case is held to:
//
//   - A usage error (exit status 2) is one line: `rayvens: MESSAGE (see
//     rayvens help)`.
//   - A script or runtime error (exit status 1) starts with one line that
//     names where: `FILE:LINE:COL: MESSAGE` for a script position, or
//     `rayvens: MESSAGE` naming the kind, stream or parameter when there is
//     none. What follows is only: a traceback (`Traceback (most recent call
//     last):`, `  FILE:LINE:COL: in NAME`, `  ... N more calls ...`), more
//     errors of the same script at their positions (`FILE:LINE:COL: ...`,
//     as for several undefined names), and the closing summary (`rayvens:
//     the run had N failures (reported above)`, `rayvens: N of M scripts
//     have problems`).
//   - Success (exit status 0) prints nothing on stderr.
//   - stderr never holds Go panic or stack text (`panic`, `goroutine `,
//     `runtime.`), has at most 25 lines and 4 KiB whatever the size of the
//     input: an error never echoes a huge value.

// want is the expected outcome of a command.
type want struct {
	exit int
	// first is a regexp the first line of stderr must match; FILE in it
	// stands for the script's path. Empty: stderr is empty.
	first  string
	stdout string // when set, stdout is exactly this
}

// succeeds is the outcome of a command that works.
var succeeds = want{}

// malformedScripts are scripts run with `rayvens run` and `rayvens check`.
var malformedScripts = []struct {
	name   string
	script string
	// file, when set, writes the script itself (into dir, as path) instead.
	file func(t *testing.T, path string)
	run  want
	// onlyAtRun: the mistake shows only when the script runs (a callback
	// fails, a connector refuses to open), so check passes; otherwise
	// check says what the run says.
	onlyAtRun bool
}{
	// Syntax.
	{name: "unclosed paren", script: "x = (1,\n",
		run: want{exit: 1, first: `^FILE:2:1: got end of file, want`}},
	{name: "unterminated string", script: "x = \"abc\n",
		run: want{exit: 1, first: `^FILE:1:5: unexpected newline in string$`}},
	{name: "missing indent", script: "def f():\nreturn 1\n",
		run: want{exit: 1, first: `^FILE:2:7: got return, want indent$`}},
	{name: "not an identifier", script: "def 1(): pass\n",
		run: want{exit: 1, first: `^FILE:1:6: not an identifier$`}},
	{name: "python class", script: "class X:\n    pass\n",
		run: want{exit: 1, first: `^FILE:1:1: got class, want primary expression$`}},
	{name: "non-ASCII hex escape", script: "print(\"\\xff\")\n",
		run: want{exit: 1, first: `^FILE:1:7: non-ASCII hex escape \\xff`}},
	{name: "invalid UTF-8 in a name", script: "\xff\xfe = 1\n",
		run: want{exit: 1, first: `^FILE:1:1: unexpected input character`}},
	{name: "excessive nesting", script: "x = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n",
		run: want{exit: 1, first: `^FILE:1:\d+: excessive nesting$`}},
	{name: "an ELF binary", file: func(t *testing.T, path string) {
		elf, err := os.ReadFile(binary)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, elf[:4096], 0o644))
	}, run: want{exit: 1, first: `^FILE:1:8: the script holds a NUL byte \(is it a binary file\?\)$`}},
	{name: "a NUL byte, which Starlark's scanner takes for the end", script: "print(1)\x00print(2)\nfail(\"x\")\n",
		run: want{exit: 1, first: `^FILE:1:9: the script holds a NUL byte \(is it a binary file\?\)$`}},
	{name: "a 1 MB name", script: strings.Repeat("n", 1<<20) + " = 1\nprint(" + strings.Repeat("m", 1<<20) + ")\n",
		run: want{exit: 1, first: `^FILE:1:1: a name of 1048576 bytes is too long \(at most 1000\)$`}},
	{name: "random bytes", file: func(t *testing.T, path string) {
		r := rand.New(rand.NewPCG(1, 2))
		b := make([]byte, 4096)
		for i := range b {
			b[i] = byte(1 + r.IntN(255)) // no NUL: see the report on NUL bytes
		}
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}, run: want{exit: 1, first: `^FILE:1:\d+: `}},
	{name: "empty file", script: "", run: succeeds},
	{name: "only comments", script: "# nothing\n\n   \n", run: succeeds},
	{name: "invalid UTF-8 in a string is replaced", script: "print(\"caf\xe9\")\n",
		run: want{stdout: "caf\uFFFD\n"}},

	// Names and values.
	{name: "undefined name", script: "print(nope)\n",
		run: want{exit: 1, first: `^FILE:1:7: undefined: nope$`}},
	{name: "two undefined names", script: "print(nope)\nprint(also)\n",
		run: want{exit: 1, first: `^FILE:1:7: undefined: nope$`}},
	{name: "fail", script: "fail(\"boom\")\n",
		run: want{exit: 1, first: `^FILE:1:5: fail: boom$`}},
	{name: "index out of range", script: "x = [1][5]\n",
		run: want{exit: 1, first: `^FILE:1:8: list index 5 out of range`}},
	{name: "argv is frozen", script: "argv.append(1)\n",
		run: want{exit: 1, first: `^FILE:1:12: append: cannot append to frozen list \(events appended`}},
	{name: "runaway recursion", script: "def f(n):\n    return f(n + 1)\nf(0)\n",
		run: want{exit: 1, first: `^FILE:2:12: Starlark stack overflow$`}},
	{name: "json.decode of bad JSON", script: "json.decode(\"{\")\n",
		run: want{exit: 1, first: `^FILE:1:12: json.decode: at offset 1, unexpected end of file$`}},
	{name: "struct with positional arguments", script: "struct(1)\n",
		run: want{exit: 1, first: `^FILE:1:7: struct: unexpected positional arguments$`}},

	// Builtins called wrongly.
	{name: "Stream without a name", script: "Stream()\n",
		run: want{exit: 1, first: `^FILE:1:7: Stream: missing argument for name$`}},
	{name: "Stream with an int name", script: "Stream(1)\n",
		run: want{exit: 1, first: `^FILE:1:7: Stream: for parameter name: got int, want string$`}},
	{name: "Stream with an unknown keyword", script: "Stream(\"s\", foo=1)\n",
		run: want{exit: 1, first: `^FILE:1:7: Stream: unexpected keyword argument "foo"$`}},
	{name: "capacity 0", script: "Stream(\"s\", capacity=0)\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: capacity must be at least 1, got 0$`}},
	{name: "float batch_size", script: "Stream(\"s\", batch_size=1.5)\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: batch_size must be an int, got float$`}},
	{name: "operator not a function", script: "Stream(\"s\", operator=1)\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: operator must be a function, got int$`}},
	{name: "s >> 3", script: "s = Stream(\"s\")\ns >> 3\n",
		run: want{exit: 1, first: `^FILE:2:3: cannot subscribe a int: a subscriber is a function`}},
	{name: "stream on the wrong side of <<", script: "s = Stream(\"s\")\n\"a\" << s\n",
		run: want{exit: 1, first: `^FILE:2:5: cannot append to a string: the stream goes on the left of << \(stream << event\)$`}},
	{name: "a stream subscribed to itself", script: "s = Stream(\"s\")\ns >> s\n",
		run: want{exit: 1, first: `^FILE:2:3: subscribing stream "s" to stream "s" would create a cycle \(s >> s\)$`}},
	{name: "send_to without a subscriber", script: "s = Stream(\"s\")\ns.send_to()\n",
		run: want{exit: 1, first: `^FILE:2:10: send_to: missing argument for subscriber$`}},
	{name: "unknown stream member", script: "s = Stream(\"s\")\ns.nope\n",
		run: want{exit: 1, first: `^FILE:2:2: Stream has no .nope field or method$`}},
	{name: "unsubscribe an unknown name", script: "s = Stream(\"s\")\ns.unsubscribe(\"nope\")\n",
		run: want{exit: 1, first: `^FILE:2:14: in unsubscribe: stream "s" has no subscriber named "nope"$`}},
	{name: "disconnect_all after a string", script: "s = Stream(\"s\")\ns.disconnect_all(after=\"x\")\n",
		run: want{exit: 1, first: `^FILE:2:17: in disconnect_all: after must be a number of seconds, got string$`}},
	{name: "append after disconnect_all", script: "s = Stream(\"s\")\ns.disconnect_all()\ns << 1\n",
		run: want{exit: 1, first: `^FILE:3:3: cannot append to stream "s": disconnect_all has disconnected it`}},
	{name: "OutputEvent without data", script: "OutputEvent()\n",
		run: want{exit: 1, first: `^FILE:1:12: OutputEvent: missing argument for data$`}},
	{name: "OutputEvent with an int header name", script: "OutputEvent(\"x\", headers={1: \"a\"})\n",
		run: want{exit: 1, first: `^FILE:1:12: OutputEvent: header names must be strings, got int$`}},
	{name: "OutputEvent with list headers", script: "OutputEvent(\"x\", headers=[1])\n",
		run: want{exit: 1, first: `^FILE:1:12: OutputEvent: for parameter "headers": got list, want dict$`}},
	{name: "Actor without methods", script: "Actor()\n",
		run: want{exit: 1, first: `^FILE:1:6: Actor: an actor needs at least one method`}},
	{name: "Actor of an int", script: "Actor(1)\n",
		run: want{exit: 1, first: `^FILE:1:6: Actor: append must be a function, got int$`}},
	{name: "Task of an int", script: "Task(1)\n",
		run: want{exit: 1, first: `^FILE:1:5: Task: for parameter fn: got int, want callable$`}},
	{name: "sleep a string", script: "sleep(\"x\")\n",
		run: want{exit: 1, first: `^FILE:1:6: sleep: seconds must be a number, got string$`}},
	{name: "sleep a negative time", script: "sleep(-1)\n",
		run: want{exit: 1, first: `^FILE:1:6: sleep: seconds must not be negative, got -1$`}},
	{name: "env of an int", script: "env(1)\n",
		run: want{exit: 1, first: `^FILE:1:4: env: for parameter name: got int, want string$`}},

	// load.
	{name: "load a missing module", script: "load(\"nope.star\", \"x\")\n",
		run: want{exit: 1, first: `^FILE:1:1: cannot load nope.star: no such file \S*/nope.star$`}},
	{name: "load a module with a syntax error", script: "load(\"lib_bad.star\", \"x\")\n",
		run: want{exit: 1, first: `^FILE:1:1: cannot load lib_bad.star: \S*/lib_bad.star:2:1: got end of file`}},
	{name: "load a name the module lacks", script: "load(\"lib_ok.star\", \"missing\")\n",
		run: want{exit: 1, first: `^FILE:1:1: load: name missing not found in module lib_ok.star$`}},
	{name: "load cycle", script: "load(\"cyc_a.star\", \"a\")\n",
		run: want{exit: 1, first: `^FILE:1:1: cannot load cyc_a.star: .*load cycle: \S*/cyc_a.star -> \S*/cyc_b.star -> \S*/cyc_a.star$`}},

	// Callbacks that fail: the run reports them; check runs no callback.
	{name: "subscriber divides by zero", script: "s = Stream(\"s\")\ndef f(e):\n    return 1 // e\ns >> f\ns << 0\n",
		run:       want{exit: 1, first: `^FILE:3:14: stream "s": subscriber "f": floored division by zero$`},
		onlyAtRun: true},
	{name: "subscriber changes a frozen global", script: "d = {}\ns = Stream(\"s\")\ndef f(e):\n    d[\"k\"] = e\ns >> f\ns << 1\n",
		run:       want{exit: 1, first: `^FILE:4:6: stream "s": subscriber "f": cannot insert into frozen hash table \(events and the values`},
		onlyAtRun: true},
	{name: "lambda reads a missing field", script: "s = Stream(\"s\")\ns >> (lambda e: e.nope)\ns << 1\n",
		run:       want{exit: 1, first: `^FILE:2:18: stream "s": subscriber "lambda": int has no .nope field or method$`},
		onlyAtRun: true},

	// Connector configs.
	{name: "unknown kind, did you mean", script: "Stream(\"s\", source_config=dict(kind=\"timer-sorce\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: unknown connector kind "timer-sorce" \(did you mean "timer-source"\?\)$`}},
	{name: "unknown kind", script: "Stream(\"s\", source_config=dict(kind=\"activemq-source\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: unknown connector kind "activemq-source"$`}},
	{name: "kind not a string", script: "Stream(\"s\", source_config=dict(kind=1))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: source config: "kind" must be a string, got int$`}},
	{name: "config without a kind", script: "s = Stream(\"s\")\ns.add_source(dict(period=1))\n",
		run: want{exit: 1, first: `^FILE:2:13: in add_source: source config has no kind`}},
	{name: "config not a dict", script: "Stream(\"s\", source_config=\"timer-source\")\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: source config must be a dict with a kind, e\.g\. .*, got string$`}},
	{name: "config key not a string", script: "Stream(\"s\", source_config={\"kind\": \"timer-source\", 1: 2})\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: source config: keys must be strings, got int$`}},
	{name: "a sink as a source", script: "Stream(\"s\", source_config=dict(kind=\"log-sink\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: log-sink is a sink, not a source$`}},
	{name: "a source as a sink", script: "Stream(\"s\", sink_config=dict(kind=\"timer-source\", message=\"m\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: timer-source is a source, not a sink$`}},
	{name: "missing required parameter", script: "Stream(\"s\", sink_config=dict(kind=\"slack-sink\", channel=\"c\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: slack-sink: missing required parameter "webhookUrl"$`}},
	{name: "unknown parameter, did you mean", script: "Stream(\"s\", source_config=dict(kind=\"timer-source\", mesage=\"m\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: timer-source: unknown parameter "mesage" \(did you mean "message"\?\)$`}},
	{name: "unknown parameter", script: "Stream(\"s\", source_config=dict(kind=\"timer-source\", message=\"m\", colour=1))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: timer-source: unknown parameter "colour"$`}},
	{name: "wrong parameter type", script: "Stream(\"s\", source_config=dict(kind=\"timer-source\", message=\"m\", period=\"fast\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: timer-source: parameter "period" must be an integer, got string$`}},
	{name: "list parameter", script: "Stream(\"s\", source_config=dict(kind=\"timer-source\", message=[\"m\"]))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: source config: parameter "message" must be a string, number or boolean, got list$`}},
	{name: "integer too large", script: "Stream(\"s\", source_config=dict(kind=\"timer-source\", message=\"m\", period=1 << 70))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: source config: parameter "period" is too large$`}},
	{name: "parameter given twice", script: "Stream(\"s\", sink_config=dict(kind=\"slack-sink\", channel=\"c\", webhookUrl=\"a\", webhook_url=\"b\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: slack-sink: parameter "webhookUrl" given twice \(as "webhookUrl" and "webhook_url"\)$`}},
	{name: "port out of range", script: "Stream(\"s\", source_config=dict(kind=\"webhook-source\", port=70000))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: webhook-source: parameter "port" must be between 0 and 65535$`}},
	{name: "cron schedule that is none", script: "Stream(\"s\", source_config=dict(kind=\"cron-source\", schedule=\"61 * * * * ?\", message=\"m\"))\n",
		run: want{exit: 1, first: `^FILE:1:7: in Stream: cron-source: parameter "schedule" is not a cron schedule: end of range \(61\) above maximum \(59\)$`}},
	{name: "file-source of a missing directory", script: "Stream(\"s\", source_config=dict(kind=\"file-source\", path=\"/nonexistent/rayvens\"))\n",
		run:       want{exit: 1, first: `^rayvens: stream "s": source "s-file-source": file-source: the directory "/nonexistent/rayvens" does not exist$`},
		onlyAtRun: true},
	{name: "http-sink with a URL that is none", script: "s = Stream(\"s\", sink_config=dict(kind=\"http-sink\", url=\"::not a url\"))\ns << \"x\"\n",
		run: want{exit: 1, first: `^FILE:1:11: in Stream: http-sink: parameter "url" must be a URL starting with http:// or https://$`}},

	// Huge values: the errors stay short.
	{name: "10 MB string literal, unterminated", script: "x = \"" + strings.Repeat("a", 10<<20) + "\n",
		run: want{exit: 1, first: `^FILE:1:5: unexpected newline in string$`}},
	{name: "10 MB string literal as a wrong-typed parameter",
		script: "Stream(\"s\", source_config=dict(kind=\"timer-source\", message=\"m\", period=\"" + strings.Repeat("a", 10<<20) + "\"))\n",
		run:    want{exit: 1, first: `^FILE:1:7: in Stream: timer-source: parameter "period" must be an integer, got string$`}},
	{name: "10 MB string literal", script: "x = \"" + strings.Repeat("a", 10<<20) + "\"\nprint(len(x))\n",
		run: want{stdout: "10485760\n"}},
	{name: "1 MB secret with a missing parameter",
		script: "Stream(\"s\", sink_config=dict(kind=\"slack-sink\", webhookUrl=\"https://hooks.example/" + strings.Repeat("s", 1<<20) + "\"))\n",
		run:    want{exit: 1, first: `^FILE:1:7: in Stream: slack-sink: missing required parameter "channel"$`}},
	{name: "a secret that is not UTF-8",
		script: "Stream(\"s\", sink_config=dict(kind=\"slack-sink\", channel=\"c\", webhookUrl=\"https://hooks.example/SECRET\" + \"\u00e9\"[0]))\n",
		run:    want{exit: 1, first: `^FILE:1:7: in Stream: slack-sink: parameter "webhookUrl" must be valid UTF-8 text$`}},
	{name: "a function sent to a sink", script: "s = Stream(\"s\", sink_config=dict(kind=\"log-sink\"))\ndef f():\n    pass\ns << f\n",
		run: want{exit: 1, first: `^rayvens: stream "s": subscriber "s-log-sink": cannot send a function to a sink: json.encode: cannot encode function as JSON$`}, onlyAtRun: true},
	{name: "a header that is not UTF-8", script: "OutputEvent(\"x\", {\"h\": \"\u00e9\"[0]})\n",
		run: want{exit: 1, first: `^FILE:1:12: OutputEvent: header "h" must be valid UTF-8 text$`}},
	{name: "1 MB parameter through a plugin",
		script: "s = Stream(\"s\", source_config=dict(kind=\"timer-source\", message=\"" + strings.Repeat("m", 1<<20) + "\", period=1, repeatCount=1))\ns >> (lambda e: print(len(e)))\n",
		run:    want{stdout: "1048576\n"}},
}

// malformedHelpers are the modules the load cases load.
var malformedHelpers = map[string]string{
	"lib_ok.star":  "value = 1\n",
	"lib_bad.star": "x = (\n",
	"cyc_a.star":   "load(\"cyc_b.star\", \"b\")\na = 1\n",
	"cyc_b.star":   "load(\"cyc_a.star\", \"a\")\nb = 1\n",
}

// malformedCommands are command lines; SCRIPT stands for a script that
// prints its argv, EMPTYDIR for a directory without scripts, MISSING for a
// path where nothing is.
var malformedCommands = []struct {
	name string
	args []string
	want want
}{
	{"run without a script", []string{"run"}, want{exit: 2, first: `^rayvens: run: missing SCRIPT \(see rayvens help\)$`}},
	{"run a missing script", []string{"run", "MISSING"}, want{exit: 2, first: `^rayvens: run: cannot read script MISSING \(see rayvens help\)$`}},
	{"--for x", []string{"run", "--for", "x", "SCRIPT"}, want{exit: 2, first: `^rayvens: invalid value "x" for flag -for: parse error \(see rayvens help\)$`}},
	{"--for negative", []string{"run", "--for", "-1s", "SCRIPT"}, want{exit: 2, first: `^rayvens: run: --for must be positive, got -1s \(see rayvens help\)$`}},
	{"unknown flag", []string{"run", "--nope", "SCRIPT"}, want{exit: 2, first: `^rayvens: flag provided but not defined: -nope \(see rayvens help\)$`}},
	{"--max-steps x", []string{"run", "--max-steps", "x", "SCRIPT"}, want{exit: 2, first: `^rayvens: invalid value "x" for flag -max-steps: parse error \(see rayvens help\)$`}},
	{"--drain-timeout negative", []string{"run", "--drain-timeout", "-1s", "SCRIPT"}, want{exit: 2, first: `^rayvens: run: --drain-timeout must not be negative, got -1s \(see rayvens help\)$`}},
	{"--log-level loud", []string{"run", "--log-level", "loud", "SCRIPT"}, want{exit: 2, first: `^rayvens: unknown log level "loud" \(want debug, info, warn, error or off\) \(see rayvens help\)$`}},
	{"flags after the script are its arguments", []string{"run", "SCRIPT", "--for", "x", "--nope"}, want{stdout: "[\"--for\", \"x\", \"--nope\"]\n"}},
	{"check without a script", []string{"check"}, want{exit: 2, first: `^rayvens: check: missing SCRIPT or DIR \(see rayvens help\)$`}},
	{"check a missing script", []string{"check", "MISSING"}, want{exit: 2, first: `^rayvens: check: cannot read MISSING \(see rayvens help\)$`}},
	{"check a directory without scripts", []string{"check", "EMPTYDIR"}, want{exit: 2, first: `^rayvens: check: no \.star files in EMPTYDIR \(see rayvens help\)$`}},
	{"check with an unknown flag", []string{"check", "--nope", "SCRIPT"}, want{exit: 2, first: `^rayvens: flag provided but not defined: -nope \(see rayvens help\)$`}},
	{"unknown command", []string{"frobnicate"}, want{exit: 2, first: `^rayvens: unknown command "frobnicate" \(see rayvens help\)$`}},
	{"kinds of an unknown kind", []string{"kinds", "timer-sorce"}, want{exit: 1, first: `^rayvens: unknown connector kind "timer-sorce" \(did you mean "timer-source"\?\)$`}},
}

func TestMalformedScripts(t *testing.T) {
	require.GreaterOrEqual(t, len(malformedScripts)+len(malformedCommands), 50)
	dir := t.TempDir()
	for name, src := range malformedHelpers {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	for i, tc := range malformedScripts {
		path := filepath.Join(dir, scriptName(i, tc.name))
		if tc.file != nil {
			tc.file(t, path)
		} else {
			require.NoError(t, os.WriteFile(path, []byte(tc.script), 0o644))
		}
		check := want{exit: tc.run.exit, first: tc.run.first}
		if tc.onlyAtRun {
			check = succeeds
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Run("run", func(t *testing.T) {
				requireTold(t, path, tc.run, false, "run", "--for", "60s", path)
			})
			t.Run("check", func(t *testing.T) {
				requireTold(t, path, check, true, "check", path)
			})
		})
	}
}

func TestMalformedCommands(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "argv.star")
	require.NoError(t, os.WriteFile(script, []byte("print(argv)\n"), 0o644))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	missing := filepath.Join(dir, "missing.star")
	for _, tc := range malformedCommands {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.NewReplacer("SCRIPT", script, "EMPTYDIR", empty, "MISSING", missing).Replace(a)
			}
			w := tc.want
			w.first = strings.NewReplacer("MISSING", regexp.QuoteMeta(missing), "EMPTYDIR", regexp.QuoteMeta(empty)).Replace(w.first)
			requireTold(t, script, w, false, args...)
		})
	}
}

// scriptName is the file name of the i-th case.
func scriptName(i int, name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(name)) + ".star"
}

// Lines that may follow the first line of an error (see the rule above);
// FILE stands for the script's path.
var continuations = []string{
	`^Traceback \(most recent call last\):$`,
	`^  \S.*:\d+:\d+: in \S+$`,
	`^  \.\.\. \d+ more calls \.\.\.$`,
	`^rayvens: the run had \d+ failures? \(reported above\)$`,
	`^rayvens: \d+ of \d+ scripts have problems$`,
	`^FILE:\d+:\d+: \S`,
}

// requireTold runs rayvens with args and checks what it tells the user
// about the script at path against w and the rule above; checking says
// the command is `rayvens check`, which ends failures with its summary.
func requireTold(t *testing.T, path string, w want, checking bool, args ...string) {
	t.Helper()
	stdout, stderr, code := rayvens(t, args...)
	file := regexp.QuoteMeta(path)
	require.Equal(t, w.exit, code, "exit status; stderr:\n%.2000s", stderr)
	for _, stack := range []string{"panic", "goroutine ", "runtime."} {
		require.NotContains(t, stderr, stack, "no Go panic or stack reaches the user")
	}
	require.Less(t, len(stderr), 4096, "stderr stays short:\n%.2000s", stderr)
	if w.stdout != "" {
		require.Equal(t, w.stdout, stdout)
	}
	if w.exit == 0 {
		require.Empty(t, stderr)
		return
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	require.LessOrEqual(t, len(lines), 25, "stderr:\n%s", stderr)
	require.Regexp(t, strings.ReplaceAll(w.first, "FILE", file), lines[0], "the first line says what and where")
	if w.exit == 2 {
		require.Len(t, lines, 1, "a usage error is one line: %s", stderr)
		return
	}
	for _, line := range lines[1:] {
		require.True(t, matchesOne(continuations, file, line), "a line the rule does not allow: %q\nstderr:\n%s", line, stderr)
	}
	if checking {
		require.Regexp(t, `^rayvens: \d+ of \d+ scripts have problems$`, lines[len(lines)-1], "check ends with its summary")
	}
}

// matchesOne reports whether line matches one of patterns, FILE
// in them standing for file.
func matchesOne(patterns []string, file, line string) bool {
	for _, p := range patterns {
		if regexp.MustCompile(strings.ReplaceAll(p, "FILE", file)).MatchString(line) {
			return true
		}
	}
	return false
}

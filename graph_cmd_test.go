package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/builtins"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// slackArgs run examples/slack.star with a channel and a webhook URL, a
// secret the graph must not show.
var slackArgs = []string{"examples/slack.star", "#test", "https://hooks.slack.com/services/T000/B000/SECRETXYZ"}

// TestGraphSlack: rayvens graph of examples/slack.star in each format,
// exactly (docs/graph.md shows the same), the webhook URL in none.
func TestGraphSlack(t *testing.T) {
	tests := []struct{ format, want string }{
		{"mermaid", `flowchart LR
    s0["http"]
    src0(["http-source<br/>http-http-source<br/>period: 3000<br/>url: http://financialmodelingprep.com/api/v3/quote-short/AAPL?apikey=(secret)"])
    sub0{{"actor compare.append"}}
    s1["slack"]
    snk0(["slack-sink<br/>slack-slack-sink<br/>channel: #35;test<br/>webhookUrl: (secret)"])
    s2["http#gt;#gt;compare.append"]
    src0 --> s0
    s0 --> sub0
    sub0 --> s2
    s1 --> snk0
    s2 --> s1
`},
		{"dot", `digraph pipeline {
	rankdir=LR;
	node [fontname="Helvetica"];
	edge [fontname="Helvetica"];
	"s0" [shape=box, label="http"];
	"src0" [shape=cds, label="http-source\nhttp-http-source\nperiod: 3000\nurl: http://financialmodelingprep.com/api/v3/quote-short/AAPL?apikey=(secret)"];
	"sub0" [shape=hexagon, label="actor compare.append"];
	"s1" [shape=box, label="slack"];
	"snk0" [shape=cds, label="slack-sink\nslack-slack-sink\nchannel: #test\nwebhookUrl: (secret)"];
	"s2" [shape=box, label="http>>compare.append"];
	"src0" -> "s0";
	"s0" -> "sub0";
	"sub0" -> "s2";
	"s1" -> "snk0";
	"s2" -> "s1";
}
`},
		{"json", `{
  "streams": [
    {
      "name": "http",
      "sources": [
        {
          "name": "http-http-source",
          "kind": "http-source",
          "params": {
            "period": "3000",
            "url": "http://financialmodelingprep.com/api/v3/quote-short/AAPL?apikey=(secret)"
          }
        }
      ],
      "subscribers": [
        {
          "name": "compare.append",
          "kind": "actor",
          "to": "http>>compare.append"
        }
      ]
    },
    {
      "name": "slack",
      "sinks": [
        {
          "name": "slack-slack-sink",
          "kind": "slack-sink",
          "params": {
            "channel": "#test",
            "webhookUrl": "(secret)"
          }
        }
      ],
      "subscribers": [
        {
          "name": "slack-slack-sink",
          "kind": "sink"
        }
      ]
    },
    {
      "name": "http>>compare.append",
      "derived_from": "http",
      "subscribers": [
        {
          "name": "slack",
          "kind": "stream",
          "to": "slack"
        }
      ]
    }
  ]
}
`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			stdout, stderr, code := rayvens(t, append([]string{"graph", "--format", tt.format}, slackArgs...)...)
			require.Equal(t, 0, code, stderr)
			require.Empty(t, stderr)
			require.Equal(t, tt.want, stdout)
			require.NotContains(t, stdout, "SECRETXYZ")
		})
	}
	def, stderr, code := rayvens(t, append([]string{"graph"}, slackArgs...)...)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, tests[0].want, def, "mermaid is the default")
	// Without its arguments the script builds nothing.
	empty, stderr, code := rayvens(t, "graph", "--format", "json", "examples/slack.star")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "{\n  \"streams\": []\n}\n", empty)
}

// pipelineScript has a filter operator, an actor, a task, a forward, a
// derived chain, a batch, a dead-letter stream and a secret parameter.
const pipelineScript = `
def is_big(e):
    return e if int(e) > 10 else None

def count(state, e):
    state["n"] = state.get("n", 0) + 1
    return state["n"]

def work(batch):
    return "done %d" % len(batch)

dead = Stream("dead", sink_config = dict(kind = "log-sink"))
orders = Stream("orders", source_config = dict(kind = "timer-source", message = "42", period = 1000), operator = is_big, dead_letter = dead)
batches = Stream("batches", batch_size = 10)
alerts = Stream("alerts", sink_config = dict(kind = "http-sink", url = "https://example.com/hook", authorizationToken = "s3cr3t-token"))
orders >> batches
orders >> Actor(count) >> (lambda n: "n=%d" % n) >> alerts
batches.add_operator(lambda b: b[:5])
batches >> Task(work, parallelism = 2) >> alerts
print("printed, not in the graph")
`

// TestGraphPipeline: every part of a pipeline, in each format, exactly;
// the token in none; the script's prints in none.
func TestGraphPipeline(t *testing.T) {
	script := filepath.Join(t.TempDir(), "pipeline.star")
	require.NoError(t, os.WriteFile(script, []byte(pipelineScript), 0o644))
	graph := func(format string) string {
		t.Helper()
		stdout, stderr, code := rayvens(t, "graph", "--format", format, script)
		require.Equal(t, 0, code, stderr)
		require.Empty(t, stderr)
		require.NotContains(t, stdout, "s3cr3t")
		require.NotContains(t, stdout, "printed")
		return stdout
	}
	require.Equal(t, `flowchart LR
    s0["dead"]
    snk0(["log-sink<br/>dead-log-sink"])
    s1["orders<br/>is_big"]
    src0(["timer-source<br/>orders-timer-source<br/>message: 42<br/>period: 1000"])
    sub0{{"actor count.append"}}
    s2["batches<br/>batch(10) → lambda"]
    sub1[/"task work"/]
    s3["alerts"]
    snk1(["http-sink<br/>alerts-http-sink<br/>authorizationToken: (secret)<br/>url: https://example.com/hook"])
    s4["orders#gt;#gt;count.append"]
    sub2("function lambda")
    s5["orders#gt;#gt;count.append#gt;#gt;lambda"]
    s6["batches#gt;#gt;work"]
    s0 --> snk0
    src0 --> s1
    s1 --> s2
    s1 --> sub0
    sub0 --> s4
    s1 -.->|"dead letters"| s0
    s2 --> sub1
    sub1 --> s6
    s3 --> snk1
    s4 --> sub2
    sub2 --> s5
    s5 --> s3
    s6 --> s3
`, graph("mermaid"))

	dot := graph("dot")
	require.Equal(t, `digraph pipeline {
	rankdir=LR;
	node [fontname="Helvetica"];
	edge [fontname="Helvetica"];
	"s0" [shape=box, label="dead"];
	"snk0" [shape=cds, label="log-sink\ndead-log-sink"];
	"s1" [shape=box, label="orders\nis_big"];
	"src0" [shape=cds, label="timer-source\norders-timer-source\nmessage: 42\nperiod: 1000"];
	"sub0" [shape=hexagon, label="actor count.append"];
	"s2" [shape=box, label="batches\nbatch(10) → lambda"];
	"sub1" [shape=parallelogram, label="task work"];
	"s3" [shape=box, label="alerts"];
	"snk1" [shape=cds, label="http-sink\nalerts-http-sink\nauthorizationToken: (secret)\nurl: https://example.com/hook"];
	"s4" [shape=box, label="orders>>count.append"];
	"sub2" [shape=ellipse, label="function lambda"];
	"s5" [shape=box, label="orders>>count.append>>lambda"];
	"s6" [shape=box, label="batches>>work"];
	"s0" -> "snk0";
	"src0" -> "s1";
	"s1" -> "s2";
	"s1" -> "sub0";
	"sub0" -> "s4";
	"s1" -> "s0" [style=dashed, label="dead letters"];
	"s2" -> "sub1";
	"sub1" -> "s6";
	"s3" -> "snk1";
	"s4" -> "sub2";
	"sub2" -> "s5";
	"s5" -> "s3";
	"s6" -> "s3";
}
`, dot)

	var g builtins.Graph
	require.NoError(t, json.Unmarshal([]byte(graph("json")), &g))
	require.Equal(t, builtins.Graph{Streams: []builtins.GraphStream{
		{Name: "dead",
			Sinks:       []builtins.GraphConnector{{Name: "dead-log-sink", Kind: "log-sink"}},
			Subscribers: []builtins.GraphSubscriber{{Name: "dead-log-sink", Kind: "sink"}}},
		{Name: "orders", Operators: []string{"is_big"}, DeadLetter: "dead",
			Sources: []builtins.GraphConnector{{Name: "orders-timer-source", Kind: "timer-source", Params: map[string]string{"message": "42", "period": "1000"}}},
			Subscribers: []builtins.GraphSubscriber{
				{Name: "batches", Kind: "stream", To: "batches"},
				{Name: "count.append", Kind: "actor", To: "orders>>count.append"},
			}},
		{Name: "batches", Operators: []string{"batch(10)", "lambda"},
			Subscribers: []builtins.GraphSubscriber{{Name: "work", Kind: "task", To: "batches>>work"}}},
		{Name: "alerts",
			Sinks:       []builtins.GraphConnector{{Name: "alerts-http-sink", Kind: "http-sink", Params: map[string]string{"url": "https://example.com/hook", "authorizationToken": "(secret)"}}},
			Subscribers: []builtins.GraphSubscriber{{Name: "alerts-http-sink", Kind: "sink"}}},
		{Name: "orders>>count.append", DerivedFrom: "orders",
			Subscribers: []builtins.GraphSubscriber{{Name: "lambda", Kind: "function", To: "orders>>count.append>>lambda"}}},
		{Name: "orders>>count.append>>lambda", DerivedFrom: "orders>>count.append",
			Subscribers: []builtins.GraphSubscriber{{Name: "alerts", Kind: "stream", To: "alerts"}}},
		{Name: "batches>>work", DerivedFrom: "batches",
			Subscribers: []builtins.GraphSubscriber{{Name: "alerts", Kind: "stream", To: "alerts"}}},
	}}, g)
}

// TestGraphErrors: a script's mistake is said with its position (exit 1),
// a wrong command line with a usage line (exit 2); nothing is printed on
// stdout, and no secret anywhere.
func TestGraphErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.star")
	require.NoError(t, os.WriteFile(bad, []byte("s = Stream(\"s\")\ns.add_sink(dict(kind = \"slack-sink\", channel = \"#c\", webhookUrl = \"https://SECRET\", colour = \"red\"))\n"), 0o644))
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"graph", bad}, 1, bad + `:2:11: in add_sink: slack-sink: unknown parameter "colour"` + "\n"},
		{[]string{"graph", "--format", "svg", "examples/stream.star"}, 2, `rayvens: graph: unknown --format "svg": mermaid, dot or json (see rayvens help)` + "\n"},
		{[]string{"graph"}, 2, "rayvens: graph: missing SCRIPT (see rayvens help)\n"},
		{[]string{"graph", filepath.Join(dir, "nope.star")}, 2, "rayvens: graph: cannot read script " + filepath.Join(dir, "nope.star") + " (see rayvens help)\n"},
		{[]string{"graph", dir}, 2, "rayvens: graph: " + dir + " is a directory, not a script (see rayvens help)\n"},
		{[]string{"graph", "--colour", "examples/stream.star"}, 2, "rayvens: flag provided but not defined: -colour (see rayvens help)\n"},
	}
	for _, tt := range tests {
		stdout, stderr, code := rayvens(t, tt.args...)
		require.Equal(t, tt.code, code, "%v: %s", tt.args, stderr)
		require.Equal(t, tt.stderr, stderr, "%v", tt.args)
		require.Empty(t, stdout, "%v", tt.args)
	}
}

// TestGraphDoc checks that each block of docs/graph.md marked
// <!-- rayvens graph ARGS --> is what that command prints. A script named
// in ARGS that is not a file of the repository is the doc's Python block
// that names it ("# pipeline.star ...").
func TestGraphDoc(t *testing.T) {
	text, err := os.ReadFile("docs/graph.md")
	require.NoError(t, err)
	dir := t.TempDir()
	named := regexp.MustCompile("(?s)```python\\n# (\\w+\\.star)\\b[^\\n]*\\n(.*?)```")
	for _, m := range named.FindAllStringSubmatch(string(text), -1) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, m[1]), []byte(m[2]), 0o644))
	}
	marked := regexp.MustCompile("(?s)<!-- rayvens (graph [^\\n]*?) -->\\n```\\w*\\n(.*?)```")
	word := regexp.MustCompile(`'[^']*'|\S+`)
	found := 0
	for _, m := range marked.FindAllStringSubmatch(string(text), -1) {
		found++
		var args []string
		for _, w := range word.FindAllString(m[1], -1) {
			w = strings.Trim(w, "'")
			if _, err := os.Stat(w); err != nil && strings.HasSuffix(w, ".star") {
				w = filepath.Join(dir, w)
			}
			args = append(args, w)
		}
		stdout, stderr, code := rayvens(t, args...)
		require.Equal(t, 0, code, "rayvens %s: %s", m[1], stderr)
		require.Equal(t, stdout, m[2], "docs/graph.md shows what rayvens %s prints", m[1])
	}
	require.Equal(t, 5, found, "the marked blocks of docs/graph.md")
}

// TestGraphCluster: in a run with --cluster, a cluster stream says so, its
// subscriptions are those this process made (a task, a forward, a
// function deriving a stream), and one unsubscribed, even by a callback
// while the run goes on, leaves; a local=True stream is not a cluster
// stream.
func TestGraphCluster(t *testing.T) {
	c := joinCluster(t, "", "graph")
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var out lockedBuffer
	s, err := rstarlark.New(rstarlark.Options{Stdout: &out, Stderr: &out, Cluster: scriptCluster{c}})
	require.NoError(t, err)
	require.NoError(t, s.Start(ctx, "graph.star", `
jobs = Stream("jobs", operator = lambda e: e)
done = Stream("done")
mine = Stream("mine", local = True)
def work(e):
    return e
jobs >> Task(work) >> done
jobs >> mine
jobs >> print
done >> (lambda e: None)
done.unsubscribe("lambda")
def leave(e):
    jobs.unsubscribe("mine")
    jobs.unsubscribe("print")
Stream("control", local = True) >> leave
`), out.String())
	want := builtins.Graph{Streams: []builtins.GraphStream{
		{Name: "jobs", Cluster: true, Operators: []string{"lambda"}, Subscribers: []builtins.GraphSubscriber{
			{Name: "work", Kind: "task", To: "jobs/work>>work"},
			{Name: "mine", Kind: "stream", To: "mine"},
			{Name: "print", Kind: "function"},
		}},
		{Name: "done", Cluster: true},
		{Name: "mine"},
		{Name: "jobs/work>>work", DerivedFrom: "jobs", Subscribers: []builtins.GraphSubscriber{{Name: "done", Kind: "stream", To: "done"}}},
		{Name: "control", Subscribers: []builtins.GraphSubscriber{{Name: "leave", Kind: "function"}}},
	}}
	require.Equal(t, want, s.Graph())

	require.NoError(t, s.Stream("control").Append(ctx, "leave"))
	want.Streams[0].Subscribers = want.Streams[0].Subscribers[:1]
	require.Eventually(t, func() bool { return reflect.DeepEqual(want, s.Graph()) }, 20*time.Second, 10*time.Millisecond)
	stop()
	require.NoError(t, s.Wait(), out.String())
}

// TestGraphPluginKinds: the kinds of an external plugin are described by
// the plugin itself (started, but with no instance opened), and their
// parameters shown from its declaration.
func TestGraphPluginKinds(t *testing.T) {
	stdout, stderr, code := rayvens(t, "graph", "--plugin-dir", buildExamplePlugin(t), "examples/plugin/dice.star")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, `flowchart LR
    s0["dice"]
    src0(["dice-source<br/>dice-dice-source<br/>count: 5<br/>period: 100"])
    sub0("function lambda")
    s1["rolls"]
    snk0(["jsonl-sink<br/>rolls-jsonl-sink<br/>path: rolls.jsonl"])
    src0 --> s0
    s0 --> sub0
    s0 --> s1
    s1 --> snk0
`, stdout)
}

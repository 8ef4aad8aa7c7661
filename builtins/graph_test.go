package builtins_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/builtins"
)

// awkward is a graph whose names hold what the two languages read as
// syntax: quotes, backslashes, HTML, Mermaid's entities, a newline.
var awkward = builtins.Graph{Streams: []builtins.GraphStream{
	{Name: `in "quoted"`, Cluster: true, Operators: []string{"batch(2, 500ms)", "lambda"}, DeadLetter: "dl",
		Sources: []builtins.GraphConnector{{Name: `src\1`, Kind: "timer-source", Params: map[string]string{"message": "#quot; <b>hi</b>\nthere", "token": builtins.SecretValue}}},
		Subscribers: []builtins.GraphSubscriber{
			{Name: "f", Kind: builtins.SubscriberFunction, To: "in>>f"},
			{Name: "t", Kind: builtins.SubscriberTask},
			{Name: "dl", Kind: builtins.SubscriberStream, To: "dl"},
		}},
	{Name: "dl", Sinks: []builtins.GraphConnector{{Name: "dl-log-sink", Kind: "log-sink"}},
		Subscribers: []builtins.GraphSubscriber{{Name: "dl-log-sink", Kind: builtins.SubscriberSink}}},
	{Name: "in>>f", DerivedFrom: `in "quoted"`, Subscribers: []builtins.GraphSubscriber{{Name: "count.append", Kind: builtins.SubscriberActor}}},
}}

// TestGraphDOT: ids are quoted, labels escaped, and Graphviz reads it.
func TestGraphDOT(t *testing.T) {
	const want = `digraph pipeline {
	rankdir=LR;
	node [fontname="Helvetica"];
	edge [fontname="Helvetica"];
	"s0" [shape=box, label="in \"quoted\" (cluster)\nbatch(2, 500ms) → lambda"];
	"src0" [shape=cds, label="timer-source\nsrc\\1\nmessage: #quot; <b>hi</b>\nthere\ntoken: (secret)"];
	"sub0" [shape=ellipse, label="function f"];
	"sub1" [shape=parallelogram, label="task t"];
	"s1" [shape=box, label="dl"];
	"snk0" [shape=cds, label="log-sink\ndl-log-sink"];
	"s2" [shape=box, label="in>>f"];
	"sub2" [shape=hexagon, label="actor count.append"];
	"src0" -> "s0";
	"s0" -> "sub0";
	"sub0" -> "s2";
	"s0" -> "sub1";
	"s0" -> "s1";
	"s0" -> "s1" [style=dashed, label="dead letters"];
	"s1" -> "snk0";
	"s2" -> "sub2";
}
`
	dot := awkward.DOT()
	require.Equal(t, want, dot)
	requireDOT(t, dot)
}

// requireDOT checks that Graphviz's dot (Debian's package graphviz)
// draws src without a complaint. Without dot the check is skipped, but
// not under CI, which installs it (.ci/run).
func requireDOT(t *testing.T, src string) {
	t.Helper()
	if _, err := exec.LookPath("dot"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dot is missing: install Debian's package graphviz (.ci/run does)")
		}
		t.Skip("dot is missing: install Debian's package graphviz to check the DOT output")
	}
	cmd := exec.Command("dot", "-Tsvg")
	cmd.Stdin = strings.NewReader(src)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	require.Empty(t, stderr.String(), "dot warns")
	require.Contains(t, string(out), "<svg")
}

// TestGraphMermaid: ids are plain, labels quoted with what Mermaid would
// read as syntax or entities written as entities.
func TestGraphMermaid(t *testing.T) {
	const want = `flowchart LR
    s0["in #quot;quoted#quot; (cluster)<br/>batch(2, 500ms) → lambda"]
    src0(["timer-source<br/>src\1<br/>message: #35;quot; #lt;b#gt;hi#lt;/b#gt; there<br/>token: (secret)"])
    sub0("function f")
    sub1[/"task t"/]
    s1["dl"]
    snk0(["log-sink<br/>dl-log-sink"])
    s2["in#gt;#gt;f"]
    sub2{{"actor count.append"}}
    src0 --> s0
    s0 --> sub0
    sub0 --> s2
    s0 --> sub1
    s0 --> s1
    s0 -.->|"dead letters"| s1
    s1 --> snk0
    s2 --> sub2
`
	require.Equal(t, want, awkward.Mermaid())
}

// TestGraphEmpty: a script that builds nothing draws an empty picture.
func TestGraphEmpty(t *testing.T) {
	g := builtins.Graph{Streams: []builtins.GraphStream{}}
	require.Equal(t, "flowchart LR\n", g.Mermaid())
	requireDOT(t, g.DOT())
}

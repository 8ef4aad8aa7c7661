package builtins

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The two pictures of a Graph, DOT and Mermaid, draw the same nodes and
// edges (a drawing): one per stream, source, sink and subscriber (a
// forward is an edge between streams, a sink is drawn as its connector),
// with ids made of an index, so that no name needs quoting in an id.

// drawing is a graph as boxes and arrows.
type drawing struct {
	nodes []drawNode
	edges []drawEdge
}

// drawNode is a box: its shape is a stream, a source or a sink, or a
// subscriber kind; its label has one or more lines.
type drawNode struct {
	id, shape string
	lines     []string
}

// label is the node's lines, each escaped, joined by a line break.
func (n drawNode) label(escape func(string) string, lineBreak string) string {
	lines := make([]string, len(n.lines))
	for i, l := range n.lines {
		lines[i] = escape(l)
	}
	return strings.Join(lines, lineBreak)
}

type drawEdge struct {
	from, to string
	label    string
	dashed   bool
}

const (
	shapeSource = "source"
	shapeSink   = "sink"
	shapeStream = "stream"
)

func (g Graph) drawing() drawing {
	var d drawing
	ids := map[string]string{}
	for i, s := range g.Streams {
		ids[s.Name] = fmt.Sprintf("s%d", i)
	}
	n := map[string]int{} // by id prefix
	node := func(prefix, shape string, lines ...string) string {
		id := fmt.Sprintf("%s%d", prefix, n[prefix])
		n[prefix]++
		d.nodes = append(d.nodes, drawNode{id: id, shape: shape, lines: lines})
		return id
	}
	edge := func(from, to string) { d.edges = append(d.edges, drawEdge{from: from, to: to}) }
	for _, s := range g.Streams {
		id := ids[s.Name]
		lines := []string{s.Name}
		if s.Cluster {
			lines[0] += " (cluster)"
		}
		if len(s.Operators) > 0 {
			lines = append(lines, strings.Join(s.Operators, " → "))
		}
		d.nodes = append(d.nodes, drawNode{id: id, shape: shapeStream, lines: lines})
		for _, c := range s.Sources {
			edge(node("src", shapeSource, c.lines()...), id)
		}
		for _, c := range s.Sinks {
			edge(id, node("snk", shapeSink, c.lines()...))
		}
		for _, sub := range s.Subscribers {
			switch sub.Kind {
			case SubscriberSink: // drawn from Sinks
			case SubscriberStream:
				if to, ok := ids[sub.To]; ok {
					edge(id, to)
				}
			default:
				sid := node("sub", sub.Kind, sub.Kind+" "+sub.Name)
				edge(id, sid)
				if to, ok := ids[sub.To]; ok {
					edge(sid, to)
				}
			}
		}
		if to, ok := ids[s.DeadLetter]; ok {
			d.edges = append(d.edges, drawEdge{from: id, to: to, label: "dead letters", dashed: true})
		}
	}
	return d
}

// lines are a connector's label: its kind, its name, its parameters.
func (c GraphConnector) lines() []string {
	lines := []string{c.Kind, c.Name}
	for _, k := range slices.Sorted(maps.Keys(c.Params)) {
		lines = append(lines, k+": "+c.Params[k])
	}
	return lines
}

var dotShapes = map[string]string{
	shapeStream:        "box",
	shapeSource:        "cds",
	shapeSink:          "cds",
	SubscriberFunction: "ellipse",
	SubscriberActor:    "hexagon",
	SubscriberTask:     "parallelogram",
}

// DOT returns the graph in Graphviz's language (dot -Tsvg draws it).
func (g Graph) DOT() string {
	var b strings.Builder
	b.WriteString("digraph pipeline {\n\trankdir=LR;\n\tnode [fontname=\"Helvetica\"];\n\tedge [fontname=\"Helvetica\"];\n")
	d := g.drawing()
	for _, n := range d.nodes {
		fmt.Fprintf(&b, "\t%q [shape=%s, label=\"%s\"];\n", n.id, dotShapes[n.shape], n.label(dotEscape, `\n`))
	}
	for _, e := range d.edges {
		attrs := ""
		if e.dashed {
			attrs = fmt.Sprintf(" [style=dashed, label=\"%s\"]", dotEscape(e.label))
		}
		fmt.Fprintf(&b, "\t%q -> %q%s;\n", e.from, e.to, attrs)
	}
	b.WriteString("}\n")
	return b.String()
}

// dotEscape makes s the text of a double-quoted DOT label: a backslash
// would start an escape (\n, \N) and a quote end the string.
func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "").Replace(s)
}

// mermaidShapes are the brackets around a Mermaid node's quoted label.
var mermaidShapes = map[string][2]string{
	shapeStream:        {"[", "]"},
	shapeSource:        {"([", "])"},
	shapeSink:          {"([", "])"},
	SubscriberFunction: {"(", ")"},
	SubscriberActor:    {"{{", "}}"},
	SubscriberTask:     {"[/", "/]"},
}

// Mermaid returns the graph as a Mermaid flowchart (as GitHub renders in
// a ```mermaid block).
func (g Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	d := g.drawing()
	for _, n := range d.nodes {
		br := mermaidShapes[n.shape]
		fmt.Fprintf(&b, "    %s%s\"%s\"%s\n", n.id, br[0], n.label(mermaidEscape, "<br/>"), br[1])
	}
	for _, e := range d.edges {
		if e.dashed {
			fmt.Fprintf(&b, "    %s -.->|\"%s\"| %s\n", e.from, mermaidEscape(e.label), e.to)
		} else {
			fmt.Fprintf(&b, "    %s --> %s\n", e.from, e.to)
		}
	}
	return b.String()
}

// mermaidEscape makes s the text of a quoted Mermaid label: Mermaid reads
// #name; and #number; as entities, and a quote, < or > as syntax or HTML,
// so those become entities themselves (# first).
func mermaidEscape(s string) string {
	return strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "`", "#96;", "\n", " ", "\r", "").Replace(s)
}

package starlark_test

import (
	"context"
	"fmt"

	rstarlark "github.com/rayvens/rayvens/starlark"
)

// See the pipeline a script builds without running it: GraphOf evaluates
// the top level as Check does, and the graph prints as Mermaid, DOT or
// JSON (it marshals as it is).
func ExampleGraphOf() {
	g, err := rstarlark.GraphOf(context.Background(), "pipeline.star", `
def even(n):
    return n if n % 2 == 0 else None

numbers = Stream("numbers", operator = even)
squares = Stream("squares")
numbers >> (lambda n: n * n) >> squares
squares >> print
`, rstarlark.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Print(g.Mermaid())
	// Output:
	// flowchart LR
	//     s0["numbers<br/>even"]
	//     sub0("function lambda")
	//     s1["squares"]
	//     sub1("function print")
	//     s2["numbers#gt;#gt;lambda"]
	//     s0 --> sub0
	//     sub0 --> s2
	//     s1 --> sub1
	//     s2 --> s1
}

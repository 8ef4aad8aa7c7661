package starlark_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.starlark.net/starlark"

	"github.com/rayvens/rayvens/engine"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// Run a script from a string, with its print output going to a Go writer.
func ExampleRun() {
	var out strings.Builder
	err := rstarlark.Run(context.Background(), "hello.star", `
stream = Stream("example")
stream >> (lambda event: print("LOG:", event))
stream << "hello" << "world"
`, rstarlark.Options{Stdout: &out})
	fmt.Print(out.String(), err)
	// Output:
	// LOG: hello
	// LOG: world
	// <nil>
}

// Share streams both ways: the Go program creates a stream the script
// subscribes to, appends to it from Go, and consumes in Go the stream the
// script derives from it.
func ExampleScript() {
	script, err := rstarlark.New(rstarlark.Options{})
	if err != nil {
		panic(err)
	}
	orders, _ := script.Engine().NewStream("orders", engine.StreamConfig{})
	_ = script.Define("orders", orders)

	ctx := context.Background()
	err = script.Start(ctx, "pipeline.star", `
def total(order):
    return {"id": order["id"], "total": order["qty"] * order["price"]}

orders >> total >> Stream("totals")
`)
	if err != nil {
		panic(err)
	}
	totals := make(chan any, 2)
	_, _ = script.Stream("totals").Subscribe("go", engine.Func("go", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		totals <- rstarlark.GoValue(ev) // plain Go: map[string]any
		return nil, nil
	}))
	_ = orders.Append(ctx, map[string]any{"id": "a", "qty": 2, "price": 1.5})
	_ = orders.Append(ctx, map[string]any{"id": "b", "qty": 1, "price": 4.0})
	fmt.Println(<-totals)
	fmt.Println(<-totals)
	fmt.Println(script.Wait())
	// Output:
	// map[id:a total:3]
	// map[id:b total:4]
	// <nil>
}

// Give scripts the host program's own builtins.
func ExampleOptions_predeclared() {
	hostname := starlark.NewBuiltin("hostname", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.String("build-42"), nil
	})
	err := rstarlark.Run(context.Background(), "host.star", `print("running on", hostname())`,
		rstarlark.Options{Stdout: os.Stdout, Predeclared: starlark.StringDict{"hostname": hostname}})
	fmt.Println(err)
	// Output:
	// running on build-42
	// <nil>
}

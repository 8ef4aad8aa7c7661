package engine_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rayvens/rayvens/engine"
)

func printEvent(_ context.Context, ev engine.Event) (engine.Event, error) {
	fmt.Println(ev)
	return nil, nil
}

// A function subscriber's non-nil results form its derived stream, so
// subscriptions chain: tickers >> upper >> print.
func ExampleStream() {
	ctx := context.Background()
	e := engine.New(engine.Options{})
	tickers, err := e.NewStream("tickers", engine.StreamConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	upper, _ := tickers.Subscribe("upper", engine.Func("", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		if ev == "skip" {
			return nil, nil // nil results are dropped
		}
		return strings.ToUpper(ev.(string)), nil
	}))
	_, _ = upper.Subscribe("print", engine.Func("", printEvent))

	for _, t := range []string{"aapl", "skip", "ibm"} {
		_ = tickers.Append(ctx, t)
	}
	// Shutdown delivers everything accepted before it stops the goroutines.
	if err := e.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(upper.Name(), "got", upper.Stats().Appended, "events")
	// Output:
	// AAPL
	// IBM
	// tickers>>upper got 2 events
}

// An actor keeps state between events: init makes it on the actor's
// goroutine, and every method call sees the changes of the previous ones.
func ExampleEngine_NewActor() {
	ctx := context.Background()
	e := engine.New(engine.Options{})
	quotes, _ := e.NewStream("quotes", engine.StreamConfig{})

	type last struct {
		price float64
		set   bool
	}
	trend, _ := e.NewActor("trend", func(context.Context) (any, error) { return &last{}, nil }, 0)
	compare := trend.Method("compare", func(_ context.Context, state any, ev engine.Event) (engine.Event, error) {
		l, quote := state.(*last), ev.(float64)
		before, known := l.price, l.set
		l.price, l.set = quote, true
		switch {
		case !known:
			return nil, nil
		case quote > before:
			return "AAPL is up", nil
		case quote < before:
			return "AAPL is down", nil
		default:
			return "AAPL is unchanged", nil
		}
	})
	verdicts, _ := quotes.Subscribe("", compare)
	_, _ = verdicts.Subscribe("", engine.Func("print", printEvent))

	for _, q := range []float64{180, 182.5, 181, 181} {
		_ = quotes.Append(ctx, q)
	}
	if err := e.Wait(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(quotes.Subscriptions())
	_ = e.Shutdown(ctx)
	// Output:
	// AAPL is up
	// AAPL is down
	// AAPL is unchanged
	// [trend.compare]
}

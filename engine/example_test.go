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

// A task pool runs its function on several goroutines: results come in no
// particular order, so this example sums them.
func ExampleEngine_NewPool() {
	ctx := context.Background()
	e := engine.New(engine.Options{})
	numbers, _ := e.NewStream("numbers", engine.StreamConfig{})
	square, _ := e.NewPool("square", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		n := ev.(int)
		return n * n, nil
	}, 4)
	squares, _ := numbers.Subscribe("", square)
	total := 0
	_, _ = squares.Subscribe("sum", engine.Func("sum", func(_ context.Context, ev engine.Event) (engine.Event, error) {
		total += ev.(int) // function subscribers run one at a time
		return nil, nil
	}))
	for i := 1; i <= 10; i++ {
		_ = numbers.Append(ctx, i)
	}
	_ = e.Wait(ctx)
	fmt.Println(total)
	_ = e.Shutdown(ctx)
	// Output: 385
}

// A source produces events into a stream until it is exhausted; the engine
// is not idle while a source is connected.
func ExampleStream_AddSource() {
	ctx := context.Background()
	e := engine.New(engine.Options{})
	ticks, _ := e.NewStream("ticks", engine.StreamConfig{BatchSize: 2})
	_, _ = ticks.Subscribe("print", engine.Func("print", printEvent))
	_, _ = ticks.AddSource("counter", engine.SourceFunc(func(ctx context.Context, emit func(context.Context, engine.Event) error) error {
		for i := 1; i <= 5; i++ {
			if err := emit(ctx, i); err != nil {
				return err
			}
		}
		return nil // exhausted
	}))
	_ = e.Wait(ctx) // the partial last batch is flushed once everything else is idle
	_ = e.Shutdown(ctx)
	// Output:
	// [1 2]
	// [3 4]
	// [5]
}

// An async subscriber completes events later, as a connector sink does
// when its plugin acknowledges them; the stream waits for every done.
func ExampleAsync() {
	ctx := context.Background()
	e := engine.New(engine.Options{OnError: func(err error) { fmt.Println("failed:", err) }})
	out, _ := e.NewStream("out", engine.StreamConfig{})
	acks := make(chan func(error), 10)
	_, _ = out.Subscribe("sink", engine.Async("sink", func(ev engine.Event, done func(error)) {
		acks <- done
	}))
	go func() {
		for done := range acks {
			done(nil) // acknowledged
		}
	}()
	_ = out.Append(ctx, "a")
	_ = out.Append(ctx, "b")
	_ = e.Wait(ctx)
	fmt.Println("acknowledged:", out.Stats().Appended)
	_ = e.Shutdown(ctx)
	close(acks)
	// Output: acknowledged: 2
}

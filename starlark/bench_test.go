package starlark_test

import (
	"context"
	"io"
	"strconv"
	"testing"

	rstarlark "github.com/rayvens/rayvens/starlark"
)

// benchScript runs src with argv[0] = b.N and reports events per second.
func benchScript(b *testing.B, src string) {
	b.ReportAllocs()
	err := rstarlark.Run(context.Background(), "bench.star", src, rstarlark.Options{
		Argv:   []string{strconv.Itoa(b.N)},
		Stdout: io.Discard,
		Stderr: io.Discard,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendToLambda measures `s << i` from the top level into a
// Starlark lambda subscriber, end to end (the run drains before it returns).
func BenchmarkAppendToLambda(b *testing.B) {
	benchScript(b, `
s = Stream("s")
s >> (lambda e: e)
for i in range(int(argv[0])):
    s << i
`)
}

// BenchmarkLambdaChain measures a three-stage pipeline of lambdas.
func BenchmarkLambdaChain(b *testing.B) {
	benchScript(b, `
s = Stream("s")
s >> (lambda e: e + 1) >> (lambda e: e * 2) >> (lambda e: None)
for i in range(int(argv[0])):
    s << i
`)
}

// BenchmarkTask measures a Task subscriber with 4 goroutines.
func BenchmarkTask(b *testing.B) {
	benchScript(b, `
s = Stream("s")
s >> Task(lambda e: e, parallelism=4)
for i in range(int(argv[0])):
    s << i
`)
}

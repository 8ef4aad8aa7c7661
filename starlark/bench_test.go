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

// BenchmarkLambdaDirect makes the calls of BenchmarkAppendToLambda
// directly: the loop calls the lambda itself.
func BenchmarkLambdaDirect(b *testing.B) {
	benchScript(b, `
f = lambda e: e
for i in range(int(argv[0])):
    f(i)
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

// topLevelPipeline is the top-level-loop workload: argv[0] events
// appended by the top level into a lambda, whose results an actor counts.
const topLevelPipeline = `
def count(state, e):
    state["n"] += 1

def init():
    return {"n": 0}

s = Stream("s")
s >> (lambda e: e) >> Actor(init=init, append=count)
for i in range(int(argv[0])):
    s << i
`

// BenchmarkTopLevelLoop runs topLevelPipeline; compare with
// BenchmarkTopLevelDirect, the same calls made directly.
func BenchmarkTopLevelLoop(b *testing.B) { benchScript(b, topLevelPipeline) }

// BenchmarkTopLevelDirect makes the calls of BenchmarkTopLevelLoop without
// streams: the lambda and the actor's method, called by the loop itself.
func BenchmarkTopLevelDirect(b *testing.B) {
	benchScript(b, `
def count(state, e):
    state["n"] += 1

def init():
    return {"n": 0}

f = lambda e: e
state = init()
for i in range(int(argv[0])):
    r = f(i)
    if r != None:
        count(state, r)
`)
}

// cpuHeavy is a callback that computes for a while (about 1,000 steps).
const cpuHeavy = `
def heavy(e):
    x = 0
    for i in range(300):
        x += i * e
    return None
`

// BenchmarkTaskCPU1 and BenchmarkTaskCPU2 run a CPU-heavy callback as a
// Task with 1 and 2 workers: their ratio is the speed-up of parallelism.
// The events are appended before the top level ends, and the callbacks
// run in parallel only once it has (before, they share the interpreter).
func BenchmarkTaskCPU1(b *testing.B) { benchScript(b, cpuHeavy+taskOf(1)) }

func BenchmarkTaskCPU2(b *testing.B) { benchScript(b, cpuHeavy+taskOf(2)) }

func taskOf(parallelism int) string {
	return `
s = Stream("s", capacity=int(argv[0]) + 1)
s >> Task(heavy, parallelism=` + strconv.Itoa(parallelism) + `)
for i in range(int(argv[0])):
    s << i
`
}

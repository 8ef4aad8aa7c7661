package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// helloWorld is the baseline of BenchmarkStartup: the least a Go program
// does.
const helloWorld = `package main

import "fmt"

func main() { fmt.Println("hello, world") }
`

// BenchmarkStartup measures `rayvens run examples/stream.star`, a script
// without connectors, as a whole process (start to exit), against a
// hello-world Go binary built by the same toolchain, the two run in turns
// so that a noisy machine slows both alike. An op is one rayvens run;
// x-hello is the median of the runs' ratios to the hello-world run next
// to them (the target is <= 2).
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(helloWorld), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	hello := filepath.Join(dir, "hello")
	build := exec.Command("go", "build", "-o", hello, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building hello world: %v\n%s", err, out)
	}
	timed := func(name string, args ...string) time.Duration {
		start := time.Now()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		return time.Since(start)
	}
	var rayvens time.Duration
	ratios := make([]float64, 0, b.N)
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		h := timed(hello)
		r := timed(binary, "run", "examples/stream.star")
		rayvens += r
		ratios = append(ratios, float64(r)/float64(h))
	}
	slices.Sort(ratios)
	b.ReportMetric(float64(rayvens.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(ratios[len(ratios)/2], "x-hello")
}

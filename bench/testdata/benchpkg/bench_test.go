// Package benchpkg holds benchmarks that bench's tests run through a real
// test binary: one that reports a metric, one that prints while it runs,
// one that fails.
package benchpkg

import (
	"fmt"
	"testing"
)

func BenchmarkFast(b *testing.B) {
	for range b.N {
	}
	b.ReportMetric(float64(b.N)*10, "events/s")
}

func BenchmarkPrints(b *testing.B) {
	fmt.Println("working")
	b.ReportMetric(42, "p99-ns")
}

func BenchmarkFails(b *testing.B) {
	b.Fatal("no luck")
}

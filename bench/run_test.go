package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJobs(t *testing.T) {
	ws := []workload{
		{ID: "A", Kind: goBench, Where: "./p", BenchTime: "1x", Shared: true},
		{ID: "B", Kind: goBench, Where: "./p", BenchTime: "10x", Shared: true},
		{ID: "C", Kind: goBench, Where: "./p", BenchTime: "1x"},
		{ID: "D", Kind: goBench, Where: "./p", BenchTime: "1x", Shared: true},
		{ID: "E", Kind: goBench, Where: "./q", BenchTime: "1x", Shared: true},
	}
	var got [][]string
	for _, j := range jobs(ws) {
		got = append(got, j.ids())
	}
	require.Equal(t, [][]string{{"A", "D"}, {"B"}, {"C"}, {"E"}}, got,
		"only Shared benchmarks of one package and one -benchtime share a process")
}

// TestMeasureSharedBenchmarks builds a real test binary and runs three of
// its benchmarks in one process: the one that fails does not take the
// others with it, and the two that report share their peak RSS.
func TestMeasureSharedBenchmarks(t *testing.T) {
	root, err := moduleRoot()
	require.NoError(t, err)
	b := newBuilder(root, t.TempDir())
	w := workload{Kind: goBench, Where: "./bench/testdata/benchpkg", BenchTime: "100x", Shared: true}
	fast, prints, fails := w, w, w
	fast.ID, fast.Metric = "Fast", "events/s"
	prints.ID, prints.Metric = "Prints", "p99-ns"
	fails.ID, fails.Metric = "Fails", "events/s"
	results := measureAll(context.Background(), b, []workload{fast, prints, fails}, 2)

	require.Empty(t, results[0].Err)
	require.Len(t, results[0].Runs, 2)
	require.Equal(t, 1000.0, results[0].figure(), "100 iterations, reported times 10")
	require.Contains(t, results[0].Median, "ns/op", "every metric is kept")
	require.Equal(t, []string{"Prints", "Fails"}, results[0].SharedWith)

	require.Empty(t, results[1].Err, "a benchmark that prints gets its figures read")
	require.Equal(t, 42.0, results[1].figure())
	require.Positive(t, results[1].PeakRSS)
	require.Equal(t, results[0].PeakRSS, results[1].PeakRSS)

	require.Contains(t, results[2].Err, "exit status 1")
	require.Contains(t, results[2].Err, "no luck")
	require.Empty(t, results[2].Runs)

	// The binary was built once.
	require.Len(t, b.built, 1)
}

func TestMeasureProcess(t *testing.T) {
	root, err := moduleRoot()
	require.NoError(t, err)
	b := newBuilder(root, t.TempDir())
	results := measureAll(context.Background(), b, []workload{
		{ID: "Hello", Kind: process, Where: "hello", Metric: "ns/run"},
		{ID: "Nowhere", Kind: process, Where: "nowhere", Metric: "ns/run"},
	}, 1)
	require.Empty(t, results[0].Err)
	require.Positive(t, results[0].figure())
	require.LessOrEqual(t, results[0].Median["min-ns/run"], results[0].figure())
	require.Positive(t, results[0].PeakRSS)
	require.Equal(t, `no way to build process "nowhere"`, results[1].Err)
}

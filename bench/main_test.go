package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMetric(t *testing.T) {
	out := `goos: linux
BenchmarkAppendToFuncs-2   	 1000	       1 ns/op	   5 events/s
BenchmarkAppendToFunc-2   	 2000000	       548.9 ns/op	   1821805 events/s	       8 B/op	       0 allocs/op
PASS
`
	v, err := metric(strings.NewReader(out), "AppendToFunc", "events/s")
	require.NoError(t, err)
	require.Equal(t, 1821805.0, v, "the benchmark itself, not one whose name starts with it")
	v, err = metric(strings.NewReader(out), "AppendToFunc", "ns/op")
	require.NoError(t, err)
	require.Equal(t, 548.9, v)
	_, err = metric(strings.NewReader(out), "AppendToFunc", "B/stream")
	require.ErrorContains(t, err, "reported no B/stream")
	_, err = metric(strings.NewReader("PASS\n"), "Task", "events/s")
	require.EqualError(t, err, "benchmark Task printed no result")
}

func TestMedian(t *testing.T) {
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
	require.Equal(t, 7.0, median([]float64{7}))
}

func TestFormat(t *testing.T) {
	require.Equal(t, "1.82M events/s", format(1821805, "events/s"))
	require.Equal(t, "340k events/s", format(340000, "events/s"))
	require.Equal(t, "14.4 ms", format(14.4e6, "ns/op"))
	require.Equal(t, "69.5 KB/stream", format(69502, "B/stream"))
}

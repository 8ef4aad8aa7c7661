package main

import "testing"

// TestRunCountsEveryMessage runs the real stream, small: it ends by itself
// and every message generated reaches the output, in batches that do not
// divide the count too.
func TestRunCountsEveryMessage(t *testing.T) {
	for _, batch := range []int{1, 7} {
		r, err := run(1000, batch)
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if r.Messages != 1000 || r.Seconds <= 0 || r.MsgPerS <= 0 || r.PeakRSSBytes <= 0 {
			t.Fatalf("batch %d: %+v", batch, r)
		}
	}
}

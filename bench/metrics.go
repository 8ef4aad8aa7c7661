package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// metrics is what one run reported: a value per unit, as go test names
// them (ns/op, B/op, events/s, p99-ns, B/stream, ...).
type metrics map[string]float64

// benchMetrics reads every metric on the result line of benchmark name in
// go test's output, e.g.
//
//	BenchmarkX-2  1000  708 ns/op  1412429 events/s  8 B/op  0 allocs/op
//
// When the benchmark printed something while it ran, go test writes its
// name and its figures on separate lines; the figures are then on the
// first later line that starts with the iteration count.
func benchMetrics(out io.Reader, name string) (metrics, error) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	found := false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !found {
			if !isResultOf(fields[0], name) {
				continue
			}
			found = true
			if fields = fields[1:]; len(fields) == 0 {
				continue // the figures come later
			}
		}
		if _, err := strconv.ParseInt(fields[0], 10, 64); err != nil {
			continue // a line the benchmark printed
		}
		return pairs(fields[1:])
	}
	if found {
		return nil, fmt.Errorf("benchmark %s printed no figures", name)
	}
	return nil, fmt.Errorf("benchmark %s printed no result", name)
}

// isResultOf says whether field is benchmark name's, with or without the
// -GOMAXPROCS suffix, and not another's whose name starts with it.
func isResultOf(field, name string) bool {
	rest, ok := strings.CutPrefix(field, "Benchmark"+name)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	_, err := strconv.Atoi(strings.TrimPrefix(rest, "-"))
	return strings.HasPrefix(rest, "-") && err == nil
}

// pairs reads "value unit value unit ...".
func pairs(fields []string) (metrics, error) {
	if len(fields)%2 != 0 {
		return nil, fmt.Errorf("a benchmark result that is not value-unit pairs: %q", strings.Join(fields, " "))
	}
	m := metrics{}
	for i := 0; i < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return nil, fmt.Errorf("a benchmark result with %q for a value", fields[i])
		}
		m[fields[i+1]] = v
	}
	return m, nil
}

// peerMetrics reads the JSON line a peer prints last:
// {"messages": N, "seconds": s, "msg_per_s": x, "peak_rss_bytes": ...}.
func peerMetrics(out string) (metrics, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r struct {
		Messages *float64 `json:"messages"`
		Seconds  *float64 `json:"seconds"`
		MsgPerS  *float64 `json:"msg_per_s"`
		PeakRSS  *float64 `json:"peak_rss_bytes"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		return nil, fmt.Errorf("the peer's last line is not its JSON result: %q", lastLines(out, 1))
	}
	if r.Messages == nil || r.Seconds == nil || r.MsgPerS == nil {
		return nil, fmt.Errorf("the peer's result lacks messages, seconds or msg_per_s: %q", lastLines(out, 1))
	}
	m := metrics{"messages": *r.Messages, "s": *r.Seconds, "msg/s": *r.MsgPerS}
	if r.PeakRSS != nil {
		m["peak-rss-bytes"] = *r.PeakRSS
	}
	return m, nil
}

// judged is the workload's metric among those a run reported.
func judged(m metrics, w workload) (float64, error) {
	v, ok := m[w.Metric]
	if !ok {
		return 0, fmt.Errorf("%s reported no %s (only %s)", w.ID, w.Metric, strings.Join(slices.Sorted(maps.Keys(m)), ", "))
	}
	return v, nil
}

// medians is, per metric every run reported, the median of the runs.
func medians(runs []metrics) metrics {
	if len(runs) == 0 {
		return nil
	}
	m := metrics{}
	for unit := range runs[0] {
		var vs []float64
		for _, r := range runs {
			if v, ok := r[unit]; ok {
				vs = append(vs, v)
			}
		}
		if len(vs) == len(runs) {
			m[unit] = median(vs)
		}
	}
	return m
}

// median of a non-empty list.
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

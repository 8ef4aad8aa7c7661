package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// A result is a workload's outcome: every run's metrics, their medians,
// and its checks judged.
type result struct {
	workload
	Runs    []metrics `json:"runs"`
	Median  metrics   `json:"median"`
	PeakRSS int64     `json:"peak_rss_bytes"` // the largest of the runs
	// SharedWith are the workloads whose process (and peak RSS) this one
	// shared.
	SharedWith []string  `json:"shared_with,omitempty"`
	Err        string    `json:"error,omitempty"`
	Outcomes   []outcome `json:"outcomes,omitempty"`
}

// figure is the median of the workload's judged metric.
func (r result) figure() float64 { return r.Median[r.Metric] }

// spread is how far apart the runs' figures are, relative to their median:
// (max-min)/median, a measure of the noise.
func (r result) spread() float64 {
	var vs []float64
	for _, m := range r.Runs {
		vs = append(vs, m[r.Metric])
	}
	if len(vs) < 2 || r.figure() == 0 {
		return 0
	}
	return (slices.Max(vs) - slices.Min(vs)) / r.figure()
}

// printTable writes one line per workload and one more per check after
// its first: the figure and its spread, what each check measured, its
// target, the score against it (1 = on target) and the peak RSS; then why
// each workload that failed did.
func printTable(w io.Writer, results []result) {
	var failed []result
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tFIGURE\tRUNS\tSPREAD\tRATIO\tTARGET\tVS TARGET\tPEAK RSS")
	for _, r := range results {
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\tFAILED (below)\t\t\t\t\t\t\n", r.Name)
			failed = append(failed, r)
			continue
		}
		lead := fmt.Sprintf("%s\t%s\t%d\t%s", r.Name, figureText(r), len(r.Runs), spreadText(r))
		rss := bytesText(float64(r.PeakRSS))
		if len(r.SharedWith) > 0 {
			rss += " (with " + strings.Join(r.SharedWith, ", ") + ")"
		}
		if len(r.Outcomes) == 0 {
			fmt.Fprintf(tw, "%s\t\t\t\t%s\n", lead, rss)
			continue
		}
		for i, o := range r.Outcomes {
			if i > 0 {
				lead, rss = "\t\t\t", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", lead, o.describe(), o.targetText(r.Metric), scoreText(o), rss)
		}
	}
	tw.Flush()
	for _, r := range failed {
		fmt.Fprintf(w, "%s (%s) failed: %s\n", r.Name, r.ID, r.Err)
	}
}

// figureText is the judged metric and the others the workload shows.
func figureText(r result) string {
	parts := []string{format(r.figure(), r.Metric)}
	for _, unit := range r.Also {
		if v, ok := r.Median[unit]; ok {
			parts = append(parts, format(v, unit))
		}
	}
	return strings.Join(parts, ", ")
}

func spreadText(r result) string {
	if len(r.Runs) < 2 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*r.spread())
}

func scoreText(o outcome) string {
	switch {
	case o.Err != "":
		return "-"
	case math.IsInf(o.Score, 1):
		return "met"
	case o.Met:
		return fmt.Sprintf("%.2f met", o.Score)
	}
	return fmt.Sprintf("%.2f MISSED", o.Score)
}

// format writes a figure in its unit, as people read it.
func format(v float64, unit string) string {
	switch {
	case isRate(unit):
		switch {
		case v >= 1e6:
			return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v/1e6), "0"), ".") + "M " + unit
		case v >= 1e3:
			return fmt.Sprintf("%.0fk %s", v/1e3, unit)
		}
		return fmt.Sprintf("%.0f %s", v, unit)
	case unit == "ns/op" || unit == "ns/run":
		return duration(v)
	case strings.HasSuffix(unit, "-ns"): // p50-ns, p99-ns
		return strings.TrimSuffix(unit, "-ns") + " " + duration(v)
	case strings.HasSuffix(unit, "-MB"): // rss-100%-MB
		return fmt.Sprintf("%s %.1f MB", strings.TrimSuffix(unit, "-MB"), v)
	case unit == "B/stream":
		return fmt.Sprintf("%.1f KB/stream", v/kb)
	}
	return fmt.Sprintf("%g %s", v, unit)
}

// duration writes nanoseconds as people read them.
func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
	return fmt.Sprintf("%.0f µs", ns/1e3)
}

package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A check is one target of a workload: a bound on its figure, on its peak
// RSS, on its ratio to a baseline workload measured in the same run, or on
// its ratio to another metric of its own runs.
type check struct {
	On       target  `json:"on"`
	Baseline string  `json:"baseline,omitempty"` // the ID of the baseline workload (speed and time ratios)
	Over     string  `json:"over,omitempty"`     // the other metric (growth)
	Op       string  `json:"op"`                 // ">=" or "<="
	Value    float64 `json:"value"`
}

// target is what a check bounds.
type target string

const (
	onFigure target = "figure"   // the workload's judged metric
	onRSS    target = "peak RSS" // the peak RSS of its runs, in bytes
	// onSpeed is the ratio of the workload's speed to its baseline's ("x as
	// fast"), onTime the ratio of its time to its baseline's ("x the
	// time"): the inverse of each other, kept apart so that a check reads as
	// its target is written.
	onSpeed target = "speed ratio"
	onTime  target = "time ratio"
	// onGrowth is the ratio of the figure to another metric of the same
	// runs, such as the RSS at the end over the RSS at a quarter.
	onGrowth target = "growth"
)

func atLeast(v float64) check   { return check{On: onFigure, Op: ">=", Value: v} }
func atMost(v float64) check    { return check{On: onFigure, Op: "<=", Value: v} }
func rssAtMost(v float64) check { return check{On: onRSS, Op: "<=", Value: v} }

func speedOf(baseline, op string, v float64) check {
	return check{On: onSpeed, Baseline: baseline, Op: op, Value: v}
}

func timeOf(baseline, op string, v float64) check {
	return check{On: onTime, Baseline: baseline, Op: op, Value: v}
}

func growth(over, op string, v float64) check {
	return check{On: onGrowth, Over: over, Op: op, Value: v}
}

// An outcome is a check applied to the results of a run.
type outcome struct {
	check
	Actual float64 `json:"actual"` // the figure, the peak RSS or the ratio
	// Score is the actual value relative to the target, so that 1 is on
	// target, above 1 better and below 1 worse, whichever way the check
	// bounds: 0.5 is half the speed asked for, or twice the time allowed.
	Score float64 `json:"score"`
	Met   bool    `json:"met"`
	Err   string  `json:"error,omitempty"` // why it could not be judged
}

// judge applies every check of every result, ratios against the baselines
// among results.
func judge(results []result) {
	byID := map[string]*result{}
	for i := range results {
		byID[results[i].ID] = &results[i]
	}
	for i := range results {
		r := &results[i]
		r.Outcomes = nil
		for _, c := range r.Checks {
			r.Outcomes = append(r.Outcomes, apply(c, r, byID[c.Baseline]))
		}
	}
}

// apply judges one check of r; base is its baseline's result, nil if there
// is none.
func apply(c check, r, base *result) outcome {
	o := outcome{check: c}
	if r.Err != "" {
		o.Err = "the workload failed"
		return o
	}
	switch c.On {
	case onFigure:
		o.Actual = r.figure()
	case onRSS:
		o.Actual = float64(r.PeakRSS)
	case onGrowth:
		over, ok := r.Median[c.Over]
		if !ok || over <= 0 {
			o.Err = fmt.Sprintf("no %s to compare with", c.Over)
			return o
		}
		o.Actual = r.figure() / over
	case onSpeed, onTime:
		switch {
		case base == nil:
			o.Err = fmt.Sprintf("its baseline %s did not run", c.Baseline)
			return o
		case base.Err != "":
			o.Err = fmt.Sprintf("its baseline %s failed", c.Baseline)
			return o
		}
		ratio, err := speedRatio(r.figure(), r.Metric, base.figure(), base.Metric)
		if err != nil {
			o.Err = err.Error()
			return o
		}
		if c.On == onTime {
			ratio = 1 / ratio
		}
		o.Actual = ratio
	default:
		o.Err = fmt.Sprintf("unknown check on %q", c.On)
		return o
	}
	o.Score, o.Met = score(o.Actual, c.Op, c.Value)
	return o
}

// speedRatio is how many times as fast a figure is as its baseline's: the
// ratio of the two for rates, its inverse for costs (a time, bytes).
func speedRatio(v float64, unit string, base float64, baseUnit string) (float64, error) {
	if isRate(unit) != isRate(baseUnit) {
		return 0, fmt.Errorf("%s cannot be compared with %s", unit, baseUnit)
	}
	if v <= 0 || base <= 0 {
		return 0, fmt.Errorf("a ratio of %g to %g", v, base)
	}
	if isRate(unit) {
		return v / base, nil
	}
	return base / v, nil
}

// isRate says whether a metric is a rate (higher is better: events/s) or
// a cost (lower is better: ns/op, B/stream, p99-ns).
func isRate(unit string) bool { return strings.HasSuffix(unit, "/s") }

// score is actual relative to the bound op value, and whether it is met.
func score(actual float64, op string, value float64) (float64, bool) {
	var s float64
	switch op {
	case ">=":
		s = actual / value
	case "<=":
		s = value / actual
		if actual == 0 {
			s = math.Inf(1)
		}
	default:
		return 0, false
	}
	return s, s >= 1
}

// describe says what o measured, for the table's RATIO column: empty for
// a check on the figure itself. A baseline is named by its ID, short.
func (o outcome) describe() string {
	if o.Err != "" {
		return "(" + o.Err + ")"
	}
	base := o.Baseline
	switch o.On {
	case onSpeed:
		return fmt.Sprintf("%sx as fast as %s", ratioText(o.Actual), base)
	case onTime:
		return fmt.Sprintf("%sx the time of %s", ratioText(o.Actual), base)
	case onGrowth:
		return fmt.Sprintf("%sx its %s", ratioText(o.Actual), o.Over)
	case onRSS:
		return "peak RSS " + bytesText(o.Actual)
	}
	return ""
}

// targetText is the bound as people write it: ">= 10M events/s", "<= 2x".
func (c check) targetText(unit string) string {
	switch c.On {
	case onFigure:
		if name, ok := strings.CutSuffix(unit, "-ns"); ok { // p99-ns
			return name + " " + c.Op + " " + duration(c.Value)
		}
		return c.Op + " " + format(c.Value, unit)
	case onRSS:
		return "peak RSS " + c.Op + " " + bytesText(c.Value)
	}
	return c.Op + " " + ratioText(c.Value) + "x"
}

func ratioText(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func bytesText(v float64) string { return fmt.Sprintf("%.0f MB", v/mb) }

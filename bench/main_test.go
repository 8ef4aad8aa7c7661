package main

import (
	"encoding/xml"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMetric(t *testing.T) {
	out := `goos: linux
BenchmarkAppendToFuncs-2   	 1000	       1 ns/op	   5 events/s
BenchmarkAppendToFunc-2   	 2000000	       548.9 ns/op	   1821805 events/s	       8 B/op	       0 allocs/op
PASS
`
	m, err := benchMetrics(strings.NewReader(out), "AppendToFunc")
	require.NoError(t, err)
	require.Equal(t, metrics{"ns/op": 548.9, "events/s": 1821805, "B/op": 8, "allocs/op": 0}, m,
		"every metric of the benchmark itself, not of one whose name starts with it")
	_, err = judged(m, workload{ID: "AppendToFunc", Metric: "B/stream"})
	require.EqualError(t, err, "AppendToFunc reported no B/stream (only B/op, allocs/op, events/s, ns/op)")
	_, err = benchMetrics(strings.NewReader("PASS\n"), "Task")
	require.EqualError(t, err, "benchmark Task printed no result")
}

func TestMetricsOfABenchmarkThatPrints(t *testing.T) {
	// A benchmark that prints while it runs gets its figures on a later line.
	out := `BenchmarkLatency-2   	progress: 50%
progress: 100%
       1	 1200000000 ns/op	    412000 p50-ns	   1900000 p99-ns
PASS
`
	m, err := benchMetrics(strings.NewReader(out), "Latency")
	require.NoError(t, err)
	require.Equal(t, metrics{"ns/op": 1.2e9, "p50-ns": 412000, "p99-ns": 1.9e6}, m)

	m, err = benchMetrics(strings.NewReader("BenchmarkSlowSink \t       1\t 5 ns/op\t 3e+07 rss-bytes-at-1M\n"), "SlowSink")
	require.NoError(t, err, "GOMAXPROCS=1 has no -N suffix; metric names are whatever the benchmark reports")
	require.Equal(t, metrics{"ns/op": 5, "rss-bytes-at-1M": 3e7}, m)

	_, err = benchMetrics(strings.NewReader("BenchmarkX-2 \t 10 \t 5 ns/op 7\n"), "X")
	require.ErrorContains(t, err, "not value-unit pairs")
	_, err = benchMetrics(strings.NewReader("BenchmarkX-2 \t--- FAIL: BenchmarkX\n"), "X")
	require.EqualError(t, err, "benchmark X printed no figures")
}

func TestPeerMetrics(t *testing.T) {
	m, err := peerMetrics("some log line\n" + `{"messages":1000000,"seconds":3.1,"msg_per_s":322580.6,"peak_rss_bytes":41943040}` + "\n")
	require.NoError(t, err)
	require.Equal(t, metrics{"messages": 1e6, "s": 3.1, "msg/s": 322580.6, "peak-rss-bytes": 41943040}, m)
	_, err = peerMetrics("panic: oops\n")
	require.ErrorContains(t, err, "is not its JSON result")
	_, err = peerMetrics(`{"messages":10}`)
	require.ErrorContains(t, err, "lacks messages, seconds or msg_per_s")
}

func TestMedian(t *testing.T) {
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
	require.Equal(t, 7.0, median([]float64{7}))
	require.Equal(t, metrics{"events/s": 2, "ns/op": 20}, medians([]metrics{
		{"events/s": 3, "ns/op": 30, "extra": 1}, {"events/s": 1, "ns/op": 10}, {"events/s": 2, "ns/op": 20},
	}), "a metric missing from a run has no median")
}

func TestFormat(t *testing.T) {
	require.Equal(t, "1.82M events/s", format(1821805, "events/s"))
	require.Equal(t, "10M events/s", format(10e6, "events/s"))
	require.Equal(t, "1.5M events/s", format(1.5e6, "events/s"))
	require.Equal(t, "340k events/s", format(340000, "events/s"))
	require.Equal(t, "69k msg/s", format(69000, "msg/s"))
	require.Equal(t, "14.4 ms", format(14.4e6, "ns/op"))
	require.Equal(t, "2.90 s", format(2.9e9, "ns/op"))
	require.Equal(t, "p99 1.9 ms", format(1.9e6, "p99-ns"))
	require.Equal(t, "p50 412 µs", format(412e3, "p50-ns"))
	require.Equal(t, "69.5 KB/stream", format(69502, "B/stream"))
	require.Equal(t, "rss-100% 45.2 MB", format(45.2, "rss-100%-MB"))
	require.Equal(t, "3 widgets", format(3, "widgets"))
}

// run is a result with one run of the given metrics, as measure makes it.
func run(id, metric string, m metrics, rss int64, checks ...check) result {
	return result{
		workload: workload{ID: id, Name: id + " name", Metric: metric, Checks: checks},
		Runs:     []metrics{m}, Median: m, PeakRSS: rss,
	}
}

func TestJudge(t *testing.T) {
	results := []result{
		run("Direct", "events/s", metrics{"events/s": 2e6}, 0),
		run("Peer1", "msg/s", metrics{"msg/s": 50e3}, 0),
		run("Loop", "events/s", metrics{"events/s": 500e3}, 30*mb,
			timeOf("Direct", "<=", 2), speedOf("Peer1", ">=", 20), atLeast(1e6), rssAtMost(100*mb)),
		run("Hello", "ns/run", metrics{"ns/run": 10e6}, 0),
		run("Process", "ns/run", metrics{"ns/run": 15e6}, 0, timeOf("Hello", "<=", 2), speedOf("Hello", ">=", 1)),
		run("Latency", "p99-ns", metrics{"p99-ns": 1e6}, 0, atMost(2e6)),
		run("Slow", "rss-100%-MB", metrics{"rss-100%-MB": 60, "rss-25%-MB": 40}, 0, growth("rss-25%-MB", "<=", 1.25), growth("rss-50%-MB", "<=", 1.25)),
		run("Orphan", "events/s", metrics{"events/s": 1}, 0, speedOf("Missing", ">=", 1), timeOf("Broken", "<=", 1)),
		{workload: workload{ID: "Broken", Metric: "events/s", Checks: []check{atLeast(1)}}, Err: "boom"},
	}
	judge(results)

	loop := results[2].Outcomes
	require.Len(t, loop, 4)
	require.InDelta(t, 4.0, loop[0].Actual, 1e-9, "the loop takes 4x the time of the direct calls")
	require.InDelta(t, 0.5, loop[0].Score, 1e-9, "twice the time allowed")
	require.False(t, loop[0].Met)
	require.InDelta(t, 10.0, loop[1].Actual, 1e-9, "10x as fast as the peer, in events/s against msg/s")
	require.InDelta(t, 0.5, loop[1].Score, 1e-9)
	require.InDelta(t, 0.5, loop[2].Score, 1e-9, "half the events/s asked for")
	require.InDelta(t, 100.0/30, loop[3].Score, 1e-9)
	require.True(t, loop[3].Met)

	proc := results[4].Outcomes
	require.InDelta(t, 1.5, proc[0].Actual, 1e-9, "times are compared as times")
	require.True(t, proc[0].Met)
	require.InDelta(t, 2.0/3, proc[1].Actual, 1e-9, "and as speeds, the inverse")
	require.False(t, proc[1].Met)

	require.True(t, results[5].Outcomes[0].Met, "p99 1 ms is within 2 ms")
	require.Equal(t, "p99 <= 2.0 ms", results[5].Outcomes[0].targetText("p99-ns"))
	require.InDelta(t, 2.0, results[5].Outcomes[0].Score, 1e-9)

	slow := results[6].Outcomes
	require.Equal(t, "<= 1.25x", slow[0].targetText("rss-100%-MB"))
	require.InDelta(t, 1.5, slow[0].Actual, 1e-9, "the RSS grew by half from a quarter to the end")
	require.False(t, slow[0].Met)
	require.Equal(t, "1.5x its rss-25%-MB", slow[0].describe())
	require.Equal(t, "no rss-50%-MB to compare with", slow[1].Err)

	orphan := results[7].Outcomes
	require.Equal(t, "its baseline Missing did not run", orphan[0].Err)
	require.Equal(t, "its baseline Broken failed", orphan[1].Err)
	require.Equal(t, "the workload failed", results[8].Outcomes[0].Err)

	_, err := speedRatio(1, "events/s", 1, "ns/op")
	require.EqualError(t, err, "events/s cannot be compared with ns/op")
}

func TestTable(t *testing.T) {
	results := []result{
		run("Direct", "events/s", metrics{"events/s": 2e6}, 12*mb),
		run("Loop", "events/s", metrics{"events/s": 500e3}, 30*mb, timeOf("Direct", "<=", 2), atLeast(400e3)),
		{workload: workload{ID: "Gone", Name: "Gone name", Metric: "events/s"}, Err: "benchmark Gone printed no result"},
	}
	results[1].Runs = []metrics{{"events/s": 400e3}, {"events/s": 500e3}, {"events/s": 600e3}}
	judge(results)
	var b strings.Builder
	printTable(&b, results)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	require.Len(t, lines, 6)
	require.Regexp(t, `^WORKLOAD +FIGURE +RUNS +SPREAD +RATIO +TARGET +VS TARGET +PEAK RSS`, lines[0])
	require.Regexp(t, `^Direct name +2M events/s +1 +- +12 MB$`, lines[1])
	require.Regexp(t, `^Loop name +500k events/s +3 +40% +4x the time of Direct +<= 2x +0.50 MISSED +30 MB$`, lines[2])
	require.Regexp(t, `^ +>= 400k events/s +1.25 met *$`, lines[3], "a second check on its own line")
	require.Regexp(t, `^Gone name +FAILED \(below\) *$`, lines[4], "a failed workload keeps the columns aligned")
	require.Equal(t, "Gone name (Gone) failed: benchmark Gone printed no result", lines[5])
	require.Equal(t, strings.Index(lines[0], "FIGURE"), strings.Index(lines[4], "FAILED"))
	require.Equal(t, strings.Index(lines[0], "PEAK RSS"), strings.Index(lines[2], "30 MB"))
}

func TestSelectWorkloadsBringsBaselines(t *testing.T) {
	ids := func(ws []workload) []string {
		var s []string
		for _, w := range ws {
			s = append(s, w.ID)
		}
		return s
	}
	require.Equal(t, []string{"TopLevelDirect", "BenthosBatch1", "BenthosBatch100", "TopLevelLoop"},
		ids(selectWorkloads(workloads, regexp.MustCompile("TopLevelLoop"))))
	require.Equal(t, []string{"AppendToFunc", "ProcessHello", "ProcessStream"},
		ids(selectWorkloads(workloads, regexp.MustCompile("AppendToFunc$|Process"))))
}

func TestWorkloadsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range workloads {
		require.False(t, seen[w.ID], "%s twice", w.ID)
		seen[w.ID] = true
		require.NotEmpty(t, w.Metric, w.ID)
		if w.Kind == goBench {
			require.Regexp(t, `^\d+x$`, w.BenchTime, w.ID)
		}
	}
	for _, w := range workloads {
		for _, c := range w.Checks {
			if c.On == onSpeed || c.On == onTime {
				require.True(t, seen[c.Baseline], "%s's baseline %s", w.ID, c.Baseline)
			}
		}
	}
}

// svgDoc is the part of the chart the test reads.
type svgDoc struct {
	XMLName xml.Name  `xml:"svg"`
	Rects   []svgRect `xml:"rect"`
	Lines   []svgLine `xml:"line"`
	Texts   []svgText `xml:"text"`
}

type svgRect struct {
	Class string `xml:"class,attr"`
	X     string `xml:"x,attr"`
	Width string `xml:"width,attr"`
	Score string `xml:"data-score,attr"`
	Title string `xml:"title"`
}

type svgLine struct {
	Class string `xml:"class,attr"`
	Score string `xml:"data-score,attr"`
	X1    string `xml:"x1,attr"`
}

type svgText struct {
	Class string `xml:"class,attr"`
	Text  string `xml:",chardata"`
}

func num(t *testing.T, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}

func TestSVG(t *testing.T) {
	results := []result{
		run("Direct", "events/s", metrics{"events/s": 2e6}, 0),
		run("Loop", "events/s", metrics{"events/s": 500e3}, 0, timeOf("Direct", "<=", 2), atLeast(100e3), atLeast(1e12)),
		{workload: workload{ID: "Gone", Name: "s << i & co", Metric: "events/s"}, Err: "boom"},
		run("Lonely", "events/s", metrics{"events/s": 1}, 0, speedOf("Nobody", ">=", 1)),
	}
	judge(results)
	var b strings.Builder
	rep := report{Started: time.Date(2026, 12, 2, 1, 56, 0, 0, time.UTC), Runs: 5, CPUs: 2, GoVersion: "go1.26.8",
		LoadBefore: "6.65 7.05 5.24", LoadAfter: "4.23 5.31 5.13", Results: results}
	require.NoError(t, writeSVG(&b, rep))
	var doc svgDoc
	require.NoError(t, xml.Unmarshal([]byte(b.String()), &doc), "the chart is well-formed XML, its labels escaped")

	var bars []svgRect
	for _, r := range doc.Rects {
		if strings.HasPrefix(r.Class, "bar") {
			bars = append(bars, r)
		}
	}
	require.Len(t, bars, 3, "one bar per judged check")
	ticks := map[string]float64{}
	for _, l := range doc.Lines {
		if l.Class == "tick" {
			ticks[l.Score] = num(t, l.X1)
		}
	}
	require.Len(t, ticks, 5, "ticks at 0.01x, 0.1x, 1x, 10x, 100x")
	one := ticks["1"]
	decade := ticks["10"] - ticks["1"]
	require.InDelta(t, decade, ticks["1"]-ticks["0.1"], 0.1, "a log scale")
	missed := bars[0] // 4x the time where 2x is allowed: 0.5
	require.Equal(t, "bar missed", missed.Class)
	require.Equal(t, "0.5", missed.Score)
	require.Contains(t, missed.Title, "Loop name vs Direct (time <= 2x)")
	require.InDelta(t, one-decade*math.Log10(2), num(t, missed.X), 0.1, "a miss goes left of the target line")
	require.InDelta(t, decade*math.Log10(2), num(t, missed.Width), 0.1, "by log10 of how much it misses")

	met := bars[1] // 500k events/s where 100k are asked for: 5
	require.Equal(t, "bar met", met.Class)
	require.InDelta(t, one, num(t, met.X), 0.1, "a met target goes right of the line")
	require.InDelta(t, decade*math.Log10(5), num(t, met.Width), 0.1)

	far := bars[2] // 1e-6: drawn at the scale's end
	require.Equal(t, "bar missed", far.Class)
	require.InDelta(t, ticks["0.01"], num(t, far.X), 0.1, "at the end of the scale")

	var unjudged []string
	for _, tx := range doc.Texts {
		if tx.Class == "unjudged" {
			unjudged = append(unjudged, tx.Text)
		}
	}
	require.Equal(t, []string{"failed", "not judged: its baseline Nobody did not run"}, unjudged)
	require.Contains(t, b.String(), "s &lt;&lt; i &amp; co")
	var about []string
	for _, tx := range doc.Texts {
		if tx.Class == "about" {
			about = append(about, tx.Text)
		}
	}
	require.Equal(t, []string{"2026-12-02 01:56 UTC, the median of 5 runs each, 2 CPUs, go1.26.8; load average 6.65 7.05 5.24 before, 4.23 5.31 5.13 after"}, about)
}

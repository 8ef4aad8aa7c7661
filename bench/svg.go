package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// The chart: one row per check, a bar from the on-target line (score 1)
// to the score on a log scale, right and green when the target is met,
// left and red when it is missed; a workload that failed, or a check that
// could not be judged, is a row of text.
const (
	charWidth    = 6.6 // an average character of the labels, in pixels
	axisWidth    = 480
	minScore     = 0.01 // the scale's ends: a score beyond is drawn at the end
	maxScore     = 100
	rowHeight    = 20
	barHeight    = 14
	chartTop     = 84
	chartBottom  = 46
	colourMet    = "#3a9d5d"
	colourMissed = "#d0463b"
)

// axis is where the scale lies, after the longest label.
type axis struct{ left, right float64 }

func newAxis(rows []chartRow) axis {
	longest := 0
	for _, r := range rows {
		longest = max(longest, len([]rune(r.label)))
	}
	left := 30 + charWidth*float64(longest)
	return axis{left, left + axisWidth}
}

// x is where score s sits on the axis.
func (a axis) x(s float64) float64 {
	s = min(max(s, minScore), maxScore)
	return a.left + (a.right-a.left)*math.Log10(s/minScore)/math.Log10(maxScore/minScore)
}

// chartRow is one row of the chart.
type chartRow struct {
	label  string
	o      outcome
	failed string // why there is no bar
}

func chartRows(results []result) []chartRow {
	var rows []chartRow
	for _, r := range results {
		if r.Err != "" {
			rows = append(rows, chartRow{label: r.Name, failed: "failed"})
			continue
		}
		for _, o := range r.Outcomes {
			label := r.Name + " (" + o.targetText(r.Metric) + ")"
			switch o.On {
			case onSpeed:
				label = r.Name + " vs " + o.Baseline + " (speed " + o.targetText(r.Metric) + ")"
			case onTime:
				label = r.Name + " vs " + o.Baseline + " (time " + o.targetText(r.Metric) + ")"
			case onGrowth:
				label = r.Name + " (" + r.Metric + " " + o.targetText(r.Metric) + " " + o.Over + ")"
			}
			row := chartRow{label: label, o: o}
			if o.Err != "" {
				row.failed = "not judged: " + o.Err
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// writeSVG draws each check's score, relative to its target, and says
// under the title when and how the report was measured.
func writeSVG(w io.Writer, rep report) error {
	rows := chartRows(rep.Results)
	ax := newAxis(rows)
	width := int(ax.right) + 60
	height := chartTop + rowHeight*len(rows) + chartBottom
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">Rayvens for Go, issue 10: each workload relative to its target (1 = on target, log scale)</text>`+"\n")
	fmt.Fprintf(&b, `<text class="about" x="10" y="38" fill="#555555">%s</text>`+"\n", escape(about(rep)))
	bottom := chartTop + rowHeight*len(rows)
	for _, s := range []float64{0.01, 0.1, 1, 10, 100} {
		x := ax.x(s)
		stroke, strokeWidth := "#cccccc", 1
		if s == 1 {
			stroke, strokeWidth = "#333333", 2
		}
		fmt.Fprintf(&b, `<line class="tick" data-score="%g" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%d"/>`+"\n", s, x, chartTop-6, x, bottom, stroke, strokeWidth)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%gx</text>`+"\n", x, chartTop-10, s)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="end" fill="%s">missed</text>`+"\n", ax.x(1)-6, chartTop-28, colourMissed)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="%s">met</text>`+"\n", ax.x(1)+6, chartTop-28, colourMet)
	for i, row := range rows {
		y := chartTop + rowHeight*i
		mid := y + rowHeight/2 + 4
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="end">%s</text>`+"\n", ax.left-10, mid, escape(row.label))
		if row.failed != "" {
			fmt.Fprintf(&b, `<text class="unjudged" x="%.1f" y="%d" fill="#888888">%s</text>`+"\n", ax.x(1)+6, mid, escape(row.failed))
			continue
		}
		x0, x1 := ax.x(1), ax.x(row.o.Score)
		class, colour, anchor, tx := "bar met", colourMet, "start", max(x0, x1)+4
		if !row.o.Met {
			class, colour, anchor, tx = "bar missed", colourMissed, "end", min(x0, x1)-4
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" data-score="%g"><title>%s</title></rect>`+"\n",
			class, min(x0, x1), y+(rowHeight-barHeight)/2, max(math.Abs(x1-x0), 1), barHeight, colour, row.o.Score, escape(row.label))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s">%s</text>`+"\n", tx, mid, anchor, scoreLabel(row.o.Score))
	}
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555555">score = figure (or ratio) / target for a lower bound (>=), target / figure for an upper bound (&lt;=):</text>`+"\n", height-26)
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555555">0.5 is half the speed asked for, or twice the time allowed; 2 is twice as good as the target.</text>`+"\n", height-10)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func scoreLabel(s float64) string {
	if math.IsInf(s, 1) {
		return "met"
	}
	return ratioText(s) + "x"
}

// about says when, how often and on how loaded a machine rep was measured.
func about(rep report) string {
	return fmt.Sprintf("%s, the median of %d runs each, %d CPUs, %s; load average %s before, %s after",
		rep.Started.UTC().Format("2006-01-02 15:04 UTC"), rep.Runs, rep.CPUs, rep.GoVersion, rep.LoadBefore, rep.LoadAfter)
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Package live is the terminal view of `rayvens run --stats`: once a
// second, one row per stream (events/s in and out, pending, errors) and
// per sink (acknowledged, retried), and a line per long read of a source
// (a large file or S3 object) with its progress, redrawn in place under a terminal;
// without one, a summary line per stream at a longer interval; and a
// final summary when the run ends.
//
// Under a terminal the table stays at the bottom: output written through
// [View.Wrap] (the script's prints) is put above it, the table erased
// first and drawn again after, so the two never garble each other.
package live

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
)

// Snapshot is what one redraw shows.
type Snapshot struct {
	Uptime  time.Duration
	Streams []Stream
}

// Stream is one stream's figures. The rates are over the last second.
type Stream struct {
	Name                string
	InRate, OutRate     float64 // events/s appended and delivered
	Appended, Delivered uint64
	Dropped, Errors     uint64
	Pending             int64
	Sinks               []Sink
	Reads               []Read // its sources' long reads in progress
}

// Read is a long read of one of a stream's sources.
type Read struct {
	Source      string // the source's name
	Item        string // what it reads: a file's name, an object's key
	Done, Total uint64 // bytes read, and in all (0: not known)
}

// Sink is one sink's figures.
type Sink struct {
	Name    string
	Acked   uint64 // events the sink acknowledged as written
	Retries uint64 // sends retried after a transient failure, in all
}

// View draws snapshots on a writer (stderr).
type View struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	width func() int // the terminal's columns (0: unknown)
	drawn int        // lines of the table on screen (tty)
	last  []string   // the table's lines, to draw again after output
}

// New returns a view on w. tty says w is a terminal; width, when not nil,
// gives its columns (lines are cut to fit, so a redraw never wraps).
func New(w io.Writer, tty bool, width func() int) *View {
	return &View{w: w, tty: tty, width: width}
}

// Draw shows s: under a terminal it replaces the table on screen;
// otherwise it writes one line per stream.
func (v *View) Draw(s Snapshot) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.tty {
		var b strings.Builder
		for _, st := range s.Streams {
			fmt.Fprintf(&b, "rayvens: stats: %s\n", line(st))
		}
		io.WriteString(v.w, b.String())
		return
	}
	v.last = v.fit(table(s))
	v.redraw()
}

// Summary writes the run's final figures, after erasing the table: one
// line per stream with its totals.
func (v *View) Summary(s Snapshot) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	b.WriteString(v.erase())
	v.last = nil
	fmt.Fprintf(&b, "rayvens: stats: after %s:\n", s.Uptime.Round(time.Millisecond))
	for _, st := range s.Streams {
		fmt.Fprintf(&b, "rayvens: stats:   %s: appended %d, delivered %d, dropped %d, errors %d, pending %d", st.Name, st.Appended, st.Delivered, st.Dropped, st.Errors, st.Pending)
		for _, k := range st.Sinks {
			fmt.Fprintf(&b, "; sink %s: acked %d, retries %d", k.Name, k.Acked, k.Retries)
		}
		b.WriteString("\n")
	}
	io.WriteString(v.w, b.String())
}

// Wrap returns a writer for other output to the same terminal (the
// script's prints): under a terminal, each write erases the table, writes,
// and draws the table again below it. Without one it is w itself.
func (v *View) Wrap(w io.Writer) io.Writer {
	if !v.tty {
		return w
	}
	return writerFunc(func(p []byte) (int, error) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.drawn > 0 {
			io.WriteString(v.w, v.erase())
		}
		n, err := w.Write(p)
		if len(p) > 0 && p[len(p)-1] != '\n' {
			// A partial line: the table would be drawn on it.
			io.WriteString(w, "\n")
		}
		v.redraw()
		return n, err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// erase returns the escapes that move to the table's first line and clear
// to the end of the screen.
func (v *View) erase() string {
	if v.drawn == 0 {
		return ""
	}
	s := fmt.Sprintf("\x1b[%dA\r\x1b[J", v.drawn)
	v.drawn = 0
	return s
}

func (v *View) redraw() {
	var b strings.Builder
	b.WriteString(v.erase())
	for _, l := range v.last {
		b.WriteString(l)
		b.WriteString("\x1b[K\n")
	}
	v.drawn = len(v.last)
	io.WriteString(v.w, b.String())
}

// fit cuts lines to the terminal's width.
func (v *View) fit(lines []string) []string {
	w := 0
	if v.width != nil {
		w = v.width()
	}
	if w <= 0 {
		return lines
	}
	for i, l := range lines {
		if utf8.RuneCountInString(l) >= w {
			lines[i] = string([]rune(l)[:w-1])
		}
	}
	return lines
}

// table lays out s as aligned rows: a header, a row per stream and one
// per sink under its stream.
func table(s Snapshot) []string {
	rows := [][]string{{"STREAM", "IN/S", "OUT/S", "PENDING", "ERRORS", "DROPPED", "SINKS"}}
	for _, st := range s.Streams {
		var sinks []string
		for _, k := range st.Sinks {
			sinks = append(sinks, fmt.Sprintf("%s acked %d retries %d", k.Name, k.Acked, k.Retries))
		}
		rows = append(rows, []string{st.Name, rate(st.InRate), rate(st.OutRate),
			fmt.Sprint(st.Pending), fmt.Sprint(st.Errors), fmt.Sprint(st.Dropped), strings.Join(sinks, ", ")})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	lines := []string{fmt.Sprintf("rayvens: up %s", s.Uptime.Round(time.Second))}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0 || i == len(r)-1:
				b.WriteString(c + pad) // names left-aligned
			default:
				b.WriteString(pad + c) // figures right-aligned
			}
			if i < len(r)-1 {
				b.WriteString("  ")
			}
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	// The reads go under the table: their figures fit none of its columns.
	for _, st := range s.Streams {
		for _, r := range st.Reads {
			lines = append(lines, fmt.Sprintf("%s  %s", st.Name, reading(r)))
		}
	}
	return lines
}

// line is a stream's one-line summary, for a log.
func line(st Stream) string {
	s := fmt.Sprintf("%s: in %s/s, out %s/s, pending %d, errors %d, dropped %d", st.Name, rate(st.InRate), rate(st.OutRate), st.Pending, st.Errors, st.Dropped)
	for _, k := range st.Sinks {
		s += fmt.Sprintf("; sink %s: acked %d, retries %d", k.Name, k.Acked, k.Retries)
	}
	for _, r := range st.Reads {
		s += "; " + reading(r)
	}
	return s
}

// reading says how far a read is, e.g. "file-source-big reading
// big.bin: 12 MiB of 48 MiB (25%)".
func reading(r Read) string {
	s := fmt.Sprintf("%s reading %s: %s", r.Source, r.Item, humanize.IBytes(r.Done))
	if r.Total > 0 {
		s += fmt.Sprintf(" of %s (%d%%)", humanize.IBytes(r.Total), min(100, r.Done*100/r.Total))
	}
	return s
}

// rate writes events/s as people read them.
func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

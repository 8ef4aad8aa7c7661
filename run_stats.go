package main

import (
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/rayvens/rayvens/observe"
	"github.com/rayvens/rayvens/observe/live"
)

// liveStats is `rayvens run --stats`: the observer's figures on stderr,
// redrawn once a second under a terminal, or one line per stream every
// interval without one, and a summary when the run ends.
type liveStats struct {
	o     *observe.Observer
	view  *live.View
	quit  chan struct{}
	wg    sync.WaitGroup
	every time.Duration

	// Closed sinks leave the observer's stats, but their final figures
	// belong in the summary: the view remembers each sink's stream, and
	// reads the figures of those gone from the sinks themselves.
	sinks func() []observe.Sink
	home  map[string]string // sink name -> its stream
	shown func() map[string]bool
	seen  map[string]bool // the streams shown so far
}

// newLiveStats makes the view on stderr. It returns the writer the
// script's output must go through (the table stays below it when both go
// to the same terminal).
func newLiveStats(stdout, stderr io.Writer, interval time.Duration) (*liveStats, io.Writer) {
	tty, width := terminal(stderr)
	l := &liveStats{view: live.New(stderr, tty, width), quit: make(chan struct{}), every: interval}
	if tty {
		l.every = time.Second
	}
	out := stdout
	if same, _ := terminal(stdout); tty && same {
		out = l.view.Wrap(stdout)
	}
	return l, out
}

// wrapStderr returns the writer the run's own reports on stderr go
// through, so that under a terminal they too stay above the table.
func (l *liveStats) wrapStderr(stderr io.Writer) io.Writer { return l.view.Wrap(stderr) }

// start draws o's figures every interval (every second under a terminal).
// sinks are the sinks the run opened; shown names the streams to show
// (those of the pipeline's graph).
func (l *liveStats) start(o *observe.Observer, sinks func() []observe.Sink, shown func() map[string]bool) {
	l.o, l.sinks, l.shown, l.home, l.seen = o, sinks, shown, map[string]string{}, map[string]bool{}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		// Look often (for the sinks' streams), draw every interval.
		tick := time.NewTicker(min(l.every, homeEvery))
		defer tick.Stop()
		next := time.Now().Add(l.every)
		for {
			select {
			case now := <-tick.C:
				st := l.o.Stats()
				l.remember(st)
				if !now.Before(next) {
					l.view.Draw(l.snapshot(st))
					next = now.Add(l.every)
				}
			case <-l.quit:
				return
			}
		}
	}()
}

// homeEvery is how often the view looks for new sinks' streams.
const homeEvery = 250 * time.Millisecond

func (l *liveStats) remember(st observe.Stats) {
	for _, x := range st.Streams {
		for _, k := range x.Sinks {
			l.home[k.Name] = x.Name
		}
	}
}

// stop ends the redraws and writes the summary.
func (l *liveStats) stop() {
	if l.o == nil {
		return // never started: the run failed before its script ran
	}
	close(l.quit)
	l.wg.Wait()
	st := l.o.Stats()
	l.remember(st)
	for _, k := range l.sinks() {
		stream, ok := l.home[k.Name()]
		if !ok {
			continue
		}
		for i := range st.Streams {
			if st.Streams[i].Name == stream && !slices.ContainsFunc(st.Streams[i].Sinks, func(x observe.SinkStats) bool { return x.Name == k.Name() }) {
				st.Streams[i].Sinks = append(st.Streams[i].Sinks, observe.SinkStats{Name: k.Name(), Kind: k.Kind(), Acked: k.Acked(), Retries: k.Retries()})
			}
		}
	}
	l.view.Summary(l.snapshot(st))
}

// terminal reports whether w is a terminal, and a function giving its
// width.
func terminal(w io.Writer) (bool, func() int) {
	for {
		u, ok := w.(interface{ Unwrap() io.Writer })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, nil
	}
	return true, func() int {
		cols, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0
		}
		return cols
	}
}

// snapshot turns the observer's stats into the view's, for the streams
// of the pipeline's graph (not the derived streams nothing reads).
func (l *liveStats) snapshot(st observe.Stats) live.Snapshot {
	s := live.Snapshot{Uptime: time.Duration(st.UptimeSeconds * float64(time.Second))}
	// Once shown, a stream stays in the view (the graph loses what the
	// end of the run disconnects).
	for name := range l.shown() {
		l.seen[name] = true
	}
	shown := l.seen
	for _, x := range st.Streams {
		if len(shown) > 0 && !shown[x.Name] {
			continue
		}
		row := live.Stream{
			Name: x.Name, InRate: x.InPerSecond, OutRate: x.OutPerSecond,
			Appended: x.Appended, Delivered: x.Delivered, Dropped: x.Dropped, Errors: x.Errors, Pending: x.Pending,
		}
		for _, k := range x.Sinks {
			row.Sinks = append(row.Sinks, live.Sink{Name: k.Name, Acked: k.Acked, Retries: k.Retries})
		}
		for _, src := range x.Sources {
			for _, r := range src.Reading {
				row.Reads = append(row.Reads, live.Read{Source: src.Name, Item: r.Item, Done: r.Done, Total: r.Total})
			}
		}
		s.Streams = append(s.Streams, row)
	}
	return s
}

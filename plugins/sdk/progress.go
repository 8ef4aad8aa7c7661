package sdk

import (
	"context"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rayvens/rayvens/plugins/proto"
)

// A source that reads something large before it emits its event (a big
// file, an S3 object) tells the host how far it is, so that `rayvens run
// --stats` and the admin page show the read instead of a source that
// seems stuck:
//
//	r := sdk.TrackRead(ctx, key, size, body)
//	defer r.Finish()
//	content, err := io.ReadAll(r)
//
// Reads that end within progressDelay report nothing, so wrapping every
// read costs nothing visible. The reports are sent at most every
// progressInterval per instance, from a goroutine of their own, and only
// to a host that asked for them (Open.progress).

// progressDelay is how long a read goes before it is reported;
// progressInterval is the least time between two reports of an instance.
var (
	progressDelay    = 250 * time.Millisecond
	progressInterval = 250 * time.Millisecond
)

// ReadProgress is a reader that counts what is read through it as the
// progress of one read. Its Finish ends the read.
type ReadProgress struct {
	r      io.Reader
	item   string
	total  uint64
	start  time.Time
	done   atomic.Uint64
	finish sync.Once
	reads  *reads      // nil: nobody to report to
	timer  *time.Timer // reports a read that stalls before progressDelay
}

// TrackRead returns r counted as the read of item (a file's name, an
// object's key), total bytes long (0 when not known), reported to the
// host through ctx, the context given to Source.Run. Call Finish when the
// read ends, whether it succeeded or not. Without a host that takes
// progress reports (an older host, a test calling Run), it only reads.
func TrackRead(ctx context.Context, item string, total int64, r io.Reader) *ReadProgress {
	rp := &ReadProgress{r: r, item: item, total: uint64(max(total, 0)), start: time.Now()}
	if rs, ok := ctx.Value(readsKey{}).(*reads); ok {
		rp.reads = rs
		rs.add(rp)
		rp.timer = time.AfterFunc(progressDelay, rs.changed)
	}
	return rp
}

// Read reads from the underlying reader, counting the bytes.
func (rp *ReadProgress) Read(p []byte) (int, error) {
	n, err := rp.r.Read(p)
	if n > 0 {
		rp.done.Add(uint64(n))
		if rp.reads != nil && time.Since(rp.start) >= progressDelay {
			rp.reads.changed()
		}
	}
	return n, err
}

// Finish ends the read: the host forgets it. Calling it again does
// nothing.
func (rp *ReadProgress) Finish() {
	rp.finish.Do(func() {
		if rp.reads != nil {
			rp.timer.Stop()
			rp.reads.remove(rp)
		}
	})
}

// readsKey is the context key of an instance's reads.
type readsKey struct{}

// reads are the reads in progress of one source instance, and what of
// them the host has been told. Its goroutine (run) sends the reports;
// Read and Finish only mark that there is news.
type reads struct {
	mu       sync.Mutex
	active   map[*ReadProgress]bool // true once the host was told of it
	finished []string               // reported reads that ended since the last report
	news     chan struct{}          // holds a token while a report is due
}

func newReads() *reads {
	return &reads{active: map[*ReadProgress]bool{}, news: make(chan struct{}, 1)}
}

func (rs *reads) add(rp *ReadProgress) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.active[rp] = false
}

func (rs *reads) remove(rp *ReadProgress) {
	rs.mu.Lock()
	told := rs.active[rp]
	delete(rs.active, rp)
	if told {
		rs.finished = append(rs.finished, rp.item)
	}
	rs.mu.Unlock()
	if told {
		rs.changed()
	}
}

func (rs *reads) changed() {
	select {
	case rs.news <- struct{}{}:
	default:
	}
}

// due returns the reports to send now: every read that has gone on for
// progressDelay, and the end of each reported read that finished.
func (rs *reads) due() []*proto.Progress {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []*proto.Progress
	for _, item := range rs.finished {
		out = append(out, &proto.Progress{Item: item, Finished: true})
	}
	rs.finished = nil
	for _, rp := range slices.SortedFunc(maps.Keys(rs.active), func(a, b *ReadProgress) int { return a.start.Compare(b.start) }) {
		if time.Since(rp.start) < progressDelay {
			continue
		}
		rs.active[rp] = true
		out = append(out, &proto.Progress{Item: rp.item, Done: rp.done.Load(), Total: rp.total})
	}
	return out
}

// run sends the reports with send, at most every progressInterval, until
// ctx ends or send fails.
func (rs *reads) run(ctx context.Context, send func(*proto.Progress) error) {
	for {
		select {
		case <-rs.news:
		case <-ctx.Done():
			return
		}
		for _, p := range rs.due() {
			if send(p) != nil {
				return // the stream is broken: the sender sees it too
			}
		}
		select {
		case <-time.After(progressInterval):
		case <-ctx.Done():
			return
		}
	}
}

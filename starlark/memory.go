package starlark

import (
	"fmt"
	"runtime/metrics"
	"time"

	"github.com/dustin/go-humanize"
)

// MemoryError is the error of a run stopped because its live heap grew past
// Options.MaxMemory.
type MemoryError struct {
	Limit uint64 // Options.MaxMemory
	Live  uint64 // the live heap when the run was stopped
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("the run was stopped: it used %s of memory, past 90%% of its limit of %s", humanize.IBytes(e.Live), humanize.IBytes(e.Limit))
}

// memoryCheckInterval is how often the memory watch reads the live heap.
const memoryCheckInterval = 10 * time.Millisecond

// watchMemory stops the run once the live heap, as the garbage collector
// last measured it, is past 90% of the limit: the rest is headroom the
// collector needs, and a run that lives in it spends its time collecting.
func (s *Script) watchMemory() {
	defer close(s.watchingMemory)
	limit := s.opts.MaxMemory
	t := time.NewTicker(memoryCheckInterval)
	defer t.Stop()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for {
		select {
		case <-s.finished:
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return // not measured by this Go runtime
		}
		if live := sample[0].Value.Uint64(); live > limit/10*9 {
			var err error = &MemoryError{Limit: limit, Live: live}
			s.fatal.CompareAndSwap(nil, &err)
			s.killRun()
			s.stop()
			return
		}
	}
}

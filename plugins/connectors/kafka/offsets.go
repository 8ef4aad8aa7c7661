package kafka

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partitionLog is what kafka-source remembers of one partition it owns:
// the offsets it emitted, in order, and which of them were acknowledged.
//
// Invariant: commit is the offset after the last record of the longest
// prefix of emitted records that are all acknowledged (Kafka's "next offset
// to read"), and pending holds exactly the emitted records after that
// prefix. So a record not acknowledged (failed, or not answered yet) holds
// back the commit of every later record of its partition, and whatever is
// committed was done end to end. Offsets need not be contiguous (compacted
// topics, transaction markers): the log follows the records emitted.
//
// A partitionLog is not safe for concurrent use: the source guards it.
type partitionLog struct {
	pending []emitted // pending[head:] are the records after the committed prefix
	head    int
	commit  kgo.EpochOffset // Offset -1: nothing to commit yet
	dirty   bool            // commit moved since it was last committed
	revoked bool            // the partition went to another consumer: acks are ignored
}

// emitted is one record emitted and not yet part of the committed prefix.
type emitted struct {
	offset int64
	epoch  int32
	done   bool
}

func newPartitionLog() *partitionLog {
	return &partitionLog{commit: kgo.EpochOffset{Epoch: -1, Offset: -1}}
}

// add records that the record at offset was emitted. Offsets come in
// increasing order within a partition.
func (p *partitionLog) add(offset int64, epoch int32) {
	p.pending = append(p.pending, emitted{offset: offset, epoch: epoch})
}

// ack marks the record at offset done and moves the commit over the
// acknowledged prefix. It reports whether the commit moved.
func (p *partitionLog) ack(offset int64) bool {
	if p.revoked {
		return false
	}
	rest := p.pending[p.head:]
	i := sort.Search(len(rest), func(i int) bool { return rest[i].offset >= offset })
	if i == len(rest) || rest[i].offset != offset {
		return false // not ours (acked twice, or from before a reassignment)
	}
	rest[i].done = true
	n := 0
	for n < len(rest) && rest[n].done {
		n++
	}
	if n == 0 {
		return false
	}
	last := rest[n-1]
	p.commit = kgo.EpochOffset{Epoch: last.epoch, Offset: last.offset + 1}
	p.head += n
	if p.head > len(p.pending)/2 { // compact, so the log stays as long as what waits
		p.pending = append(p.pending[:0], p.pending[p.head:]...)
		p.head = 0
	}
	p.dirty = true
	return true
}

// waiting is how many emitted records are not committable yet.
func (p *partitionLog) waiting() int { return len(p.pending) - p.head }

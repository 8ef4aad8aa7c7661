package wire

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
)

// buffers holds the byte slices Codec encodes batches into and reads
// messages into. gRPC's default pool clears a whole buffer on every Get,
// and its buffers above 32 KiB are 1 MiB: a batch of 64 KiB cost clearing
// a mebibyte, twice (once sent, once received), which was a tenth of the
// host's time in a flood. A batch's encoding, or a message read, writes
// every byte it uses, so these buffers are handed out as they are. Sizes
// are powers of two, from minPooled up to maxPooled; others are allocated.
var buffers bufferPool

const (
	minPooledShift = 12 // 4 KiB
	maxPooledShift = 26 // 64 MiB, MaxMessageSize
)

type bufferPool struct {
	classes [maxPooledShift + 1]sync.Pool
}

// Get returns a buffer of length n whose contents are undefined.
func (p *bufferPool) Get(n int) *[]byte {
	shift := max(bits.Len(uint(n-1)), minPooledShift)
	if n <= 0 || shift > maxPooledShift {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.classes[shift].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<shift)
	return &b
}

// Put takes back a buffer Get returned.
func (p *bufferPool) Put(b *[]byte) {
	c := cap(*b)
	shift := bits.Len(uint(c - 1))
	if c <= 0 || c != 1<<shift || shift < minPooledShift || shift > maxPooledShift {
		return
	}
	p.classes[shift].Put(b)
}

var _ mem.BufferPool = (*bufferPool)(nil)

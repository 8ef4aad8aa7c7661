// Package sinkerr holds the marks a sink's Write puts on its error
// (sdk.Permanent, sdk.Partial) and how the SDK turns that error into the
// batch's Ack. The SDK's server acks with it, and the test kit
// (plugins/sdk/sdktest) reads a Write's error through it, so that a
// connector's tests see what the host will make of it.
package sinkerr

import (
	"errors"
	"strings"

	"github.com/rayvens/rayvens/plugins/proto"
)

// Permanent marks an error that sending the events again cannot fix.
type Permanent struct{ Err error }

func (e *Permanent) Error() string { return e.Err.Error() }
func (e *Permanent) Unwrap() error { return e.Err }

// Partial marks an error about the event at index Written of a batch,
// the ones before it written.
type Partial struct {
	Written int
	Err     error
}

func (e *Partial) Error() string { return e.Err.Error() }
func (e *Partial) Unwrap() error { return e.Err }

// Ack is the acknowledgement of batch seq, of n events, whose Write
// returned err. A Partial that names an event beyond the batch is left
// out: the error is then about the whole batch (misnamed reports it).
func Ack(seq uint64, n int, err error) (ack *proto.Ack, misnamed bool) {
	ack = &proto.Ack{Seq: seq}
	if err == nil {
		return ack, false
	}
	ack.Error = strings.ToValidUTF8(err.Error(), "\uFFFD") // the wire carries UTF-8 only
	ack.Permanent = errors.As(err, new(*Permanent))
	var p *Partial
	if errors.As(err, &p) {
		if p.Written < 0 || p.Written >= n {
			return ack, true
		}
		ack.Partial, ack.Written = true, uint32(p.Written)
	}
	return ack, false
}

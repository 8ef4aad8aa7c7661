package plugins

import (
	"slices"
	"strings"
	"sync"

	"github.com/rayvens/rayvens/plugins/proto"
)

// Read is a long read a source instance is in the middle of (a large
// file, an S3 object), as its plugin last reported it (sdk.TrackRead).
type Read struct {
	Item  string // what is read: a file's name, an object's key
	Done  uint64 // bytes read so far
	Total uint64 // bytes in all; 0 when not known
}

// readsInProgress are the reads of an instance in one session, by item.
// The session's receiver writes them; the live views read them.
type readsInProgress struct {
	mu    sync.Mutex
	items map[string]Read
}

// note applies a report of the plugin's.
func (r *readsInProgress) note(p *proto.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.GetFinished() {
		delete(r.items, p.GetItem())
		return
	}
	if r.items == nil {
		r.items = map[string]Read{}
	}
	r.items[p.GetItem()] = Read{Item: p.GetItem(), Done: p.GetDone(), Total: p.GetTotal()}
}

func (r *readsInProgress) list() []Read {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Read, 0, len(r.items))
	for _, rd := range r.items {
		out = append(out, rd)
	}
	slices.SortFunc(out, func(a, b Read) int { return strings.Compare(a.Item, b.Item) })
	return out
}

// Reads returns the long reads the instance is in the middle of, by item
// name; none when its plugin reports none, and none between sessions (a
// reopened instance starts its reads again).
func (s *Source) Reads() []Read { return s.reads.Load().list() }

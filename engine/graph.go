package engine

import (
	"fmt"
	"strings"
)

// graph holds the stream -> stream edges made by subscriptions: forwarding
// (a >> b) and derived streams (a >> f gives a -> a>>f). The engine refuses
// an edge that closes a cycle, since a cycle of bounded queues can deadlock
// and would circulate events forever.
type graph map[*Stream][]*Stream

// link adds from -> to unless it closes a cycle.
func (e *Engine) link(from, to *Stream) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if path := e.graph.path(to, from); path != nil {
		names := []string{from.name, to.name}
		if from != to {
			for _, s := range path {
				names = append(names, s.name)
			}
		}
		return fmt.Errorf("subscribing stream %q to stream %q would create a cycle (%s)",
			to.name, from.name, strings.Join(names, " >> "))
	}
	e.graph[from] = append(e.graph[from], to)
	return nil
}

// unlink removes one from -> to edge.
func (e *Engine) unlink(from, to *Stream) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.graph[from]
	for i, s := range out {
		if s == to {
			e.graph[from] = append(out[:i:i], out[i+1:]...)
			return
		}
	}
}

// path returns the streams on a path from -> ... -> to (from excluded), or
// nil when to is not reachable.
func (g graph) path(from, to *Stream) []*Stream {
	if from == to {
		return []*Stream{to}
	}
	seen := map[*Stream]bool{from: true}
	var walk func(s *Stream) []*Stream
	walk = func(s *Stream) []*Stream {
		for _, n := range g[s] {
			if n == to {
				return []*Stream{n}
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			if p := walk(n); p != nil {
				return append([]*Stream{n}, p...)
			}
		}
		return nil
	}
	return walk(from)
}

// Downstream returns the stream and every stream downstream of it (derived
// streams and streams it forwards to), in breadth-first order.
func (s *Stream) Downstream() []*Stream { return s.e.downstream(s) }

// downstream returns s and every stream reachable from it.
func (e *Engine) downstream(s *Stream) []*Stream {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []*Stream{s}
	seen := map[*Stream]bool{s: true}
	for i := 0; i < len(out); i++ {
		for _, n := range e.graph[out[i]] {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

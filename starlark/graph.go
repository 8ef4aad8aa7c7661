package starlark

import (
	"context"
	"errors"
	"io"

	"github.com/rayvens/rayvens/builtins"
)

// Graph returns the pipeline the script has built so far (see
// [builtins.Graph]); before Start, an empty one. It is safe to call from
// any goroutine while the script runs.
func (s *Script) Graph() builtins.Graph {
	rt := s.shown.Load()
	if rt == nil {
		return builtins.Graph{Streams: []builtins.GraphStream{}}
	}
	return rt.Graph()
}

// GraphOf evaluates a script's top level as [Check] does (no connector
// opened, appended events going nowhere, prints discarded) and returns
// the pipeline it built. Its errors are Check's; a top level still running
// after CheckSteps steps is not one: the graph is what it built until then.
func GraphOf(ctx context.Context, filename string, src any, opts Options) (builtins.Graph, error) {
	opts.dryRun = true
	opts.MaxSteps = CheckSteps
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	s, err := New(opts)
	if err != nil {
		return builtins.Graph{}, err
	}
	err = s.Start(ctx, filename, src)
	g := s.Graph()
	if err == nil {
		err = s.Wait()
	}
	if err != nil && !errors.Is(err, ErrMaxSteps) {
		return builtins.Graph{}, err
	}
	return g, ctx.Err()
}

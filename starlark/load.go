package starlark

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"
)

// loader implements load(): module paths are resolved relative to the file
// that contains the load statement, each file executes once per run, and a
// load cycle is an error that shows the cycle.
type loader struct {
	predeclared starlark.StringDict
	stop        context.Context // cancels a loading file's top level too
	newThread   func(name string) *starlark.Thread
	pace        func(*starlark.Thread) // the top level's step budget and turns, for a loading file too
	cache       map[string]*module
	stack       []string // files being loaded, outermost first
}

type module struct {
	globals starlark.StringDict
	err     error
}

func (l *loader) load(thread *starlark.Thread, name string) (starlark.StringDict, error) {
	path := name
	if !filepath.IsAbs(path) {
		from := thread.CallFrame(0).Pos.Filename()
		path = filepath.Join(filepath.Dir(from), name)
	}
	path = filepath.Clean(path)
	for i, p := range l.stack {
		if p == path {
			cycle := append(append([]string(nil), l.stack[i:]...), path)
			return nil, fmt.Errorf("load cycle: %s", strings.Join(cycle, " -> "))
		}
	}
	if m, ok := l.cache[path]; ok {
		return m.globals, m.err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no such file %s", path)
		}
		return nil, err
	}
	l.stack = append(l.stack, path)
	t := l.newThread("load " + path)
	t.Load = l.load
	if l.pace != nil {
		l.pace(t)
	}
	stop := context.AfterFunc(l.stop, func() { t.Cancel("the run was stopped") })
	defer stop()
	_, globals, err := execFile(t, path, src, l.predeclared)
	l.stack = l.stack[:len(l.stack)-1]
	if err != nil {
		// Keep the loaded file's own position and backtrace.
		err = scriptError(err, "")
	}
	l.cache[path] = &module{globals, err}
	return globals, err
}

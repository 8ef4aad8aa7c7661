// Package lines serializes writers shared by goroutines: script output,
// failure reports and plugin logs all end up on the same stdout or stderr,
// and each message must reach it whole, never interleaved with another.
package lines

import (
	"io"
	"sync"
)

// Writer writes each message to the underlying writer in one Write call,
// one message at a time. Give every producer that shares an output the same
// Writer: wrapping the output twice would take two locks that do not
// exclude each other.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a Writer on w; if w is a *Writer already, it is returned.
func New(w io.Writer) *Writer {
	if lw, ok := w.(*Writer); ok {
		return lw
	}
	return &Writer{w: w}
}

// Write writes p, whole.
func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Println writes msg and a newline, whole.
func (l *Writer) Println(msg string) {
	buf := make([]byte, 0, len(msg)+1)
	buf = append(append(buf, msg...), '\n')
	_, _ = l.Write(buf)
}

// Unwrap returns the underlying writer (to ask whether it is a terminal).
func (l *Writer) Unwrap() io.Writer { return l.w }

package sdktest

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rayvens/rayvens/plugins/internal/wire"
)

// Log records what an instance logs, for a test that checks it: give it
// to NewSource or NewSink with LogTo. The zero Log is ready to use; it is
// safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	records []Record
}

// Records returns what was logged so far, in order.
func (l *Log) Records() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

// String returns what was logged so far, one record per line as
// [Record.String] writes it.
func (l *Log) String() string {
	var b strings.Builder
	for _, r := range l.Records() {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// logger returns a logger that records into l. Like the SDK's, it drops
// what is below slog.LevelDebug.
func (l *Log) logger() *slog.Logger { return slog.New(&recorder{log: l}) }

// Record is one line an instance logged.
type Record struct {
	Level   slog.Level
	Message string
	// Attrs are its attributes, those the logger was made With first. The
	// attributes of a group are named "group.name".
	Attrs []slog.Attr
}

// Attr returns the value of the attribute named key as a string ("" when
// there is none).
func (r Record) Attr(key string) string {
	for _, a := range r.Attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// Output reports whether the line is connector output, logged through
// sdk.OutputLogger: the host shows it whatever its log level.
func (r Record) Output() bool {
	for _, a := range r.Attrs {
		if a.Key == wire.LogOutputKey && a.Value.Kind() == slog.KindBool && a.Value.Bool() {
			return true
		}
	}
	return false
}

// String formats r as slog's TextHandler does, without a time:
//
//	level=WARN msg="fetch failed" url=http://127.0.0.1:8080/quote
func (r Record) String() string {
	var b bytes.Buffer
	rec := slog.NewRecord(time.Time{}, r.Level, r.Message, 0)
	rec.AddAttrs(r.Attrs...)
	_ = slog.NewTextHandler(&b, nil).Handle(context.Background(), rec) // writing to a buffer does not fail
	return strings.TrimSuffix(b.String(), "\n")
}

// recorder is the slog.Handler of a Log.
type recorder struct {
	log    *Log
	attrs  []slog.Attr // from WithAttrs, flattened
	prefix string      // the open groups, "a.b."
}

func (h *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelDebug }

func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	attrs := slices.Clone(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		attrs = flatten(attrs, h.prefix, a)
		return true
	})
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	h.log.records = append(h.log.records, Record{Level: r.Level, Message: r.Message, Attrs: attrs})
	return nil
}

func (h *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	attrs := slices.Clone(h.attrs)
	for _, a := range as {
		attrs = flatten(attrs, h.prefix, a)
	}
	return &recorder{log: h.log, attrs: attrs, prefix: h.prefix}
}

func (h *recorder) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &recorder{log: h.log, attrs: h.attrs, prefix: h.prefix + name + "."}
}

// flatten appends a to attrs as slog's handlers see it: resolved, a group
// as its members named "group.member", empty attributes left out.
func flatten(attrs []slog.Attr, prefix string, a slog.Attr) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, m := range a.Value.Group() {
			attrs = flatten(attrs, prefix, m)
		}
		return attrs
	}
	if a.Equal(slog.Attr{}) {
		return attrs
	}
	return append(attrs, slog.Attr{Key: prefix + a.Key, Value: a.Value})
}

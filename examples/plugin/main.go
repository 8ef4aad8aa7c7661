// Command rayvens-plugin-example is a complete third-party Rayvens plugin.
// It serves two kinds:
//
//   - dice-source rolls a die periodically and emits the roll ("4");
//   - jsonl-sink appends each event to a file as one line of JSON.
//
// It uses only the plugin SDK and the standard library. Build it with
//
//	go build -o rayvens-plugin-example ./examples/plugin
//
// and put it in a directory given to rayvens with --plugin-dir or listed in
// RAYVENS_PLUGIN_PATH (see README.md).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/rayvens/rayvens/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:    "example",
		Version: "v1.0.0",
		Sources: []sdk.SourceKind{diceSource},
		Sinks:   []sdk.SinkKind{jsonlSink},
	})
}

var diceSource = sdk.SourceKind{
	Name:        "dice-source",
	Description: "Rolls a die periodically and emits the roll as text.",
	Params: []sdk.Param{
		{Name: "period", Type: sdk.Integer, Default: 1000, Description: "milliseconds between rolls; 0: as fast as the stream accepts them"},
		{Name: "sides", Type: sdk.Integer, Default: 6, Description: "how many sides the die has"},
		{Name: "count", Type: sdk.Integer, Description: "stop after that many rolls (default: never)"},
	},
	New: newDice,
}

// dice is one dice-source instance.
type dice struct {
	period time.Duration
	sides  int
	count  int64 // -1: forever
}

func newDice(cfg sdk.Config, _ *slog.Logger) (sdk.Source, error) {
	d := &dice{period: cfg.Millis("period"), sides: int(cfg.Int("sides")), count: -1}
	if cfg.Has("count") {
		d.count = cfg.Int("count")
	}
	switch {
	case d.period < 0:
		return nil, errors.New("dice-source: period must not be negative")
	case d.sides < 1:
		return nil, errors.New("dice-source: a die has at least one side")
	case d.count < -1:
		return nil, errors.New("dice-source: count must not be negative")
	}
	return d, nil
}

// Run rolls once every period until ctx ends or count rolls are out. emit
// blocks while the stream is full, so a slow stream slows the rolls down.
func (d *dice) Run(ctx context.Context, emit sdk.Emit) error {
	var tick <-chan time.Time
	if d.period > 0 {
		ticker := time.NewTicker(d.period)
		defer ticker.Stop()
		tick = ticker.C
	}
	for n := int64(0); d.count < 0 || n < d.count; n++ {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return nil
			}
		}
		roll := strconv.Itoa(rand.IntN(d.sides) + 1)
		if err := emit(ctx, sdk.Event{Body: []byte(roll), ContentType: "text/plain"}); err != nil {
			return nil // the host stopped the source
		}
	}
	return nil
}

var jsonlSink = sdk.SinkKind{
	Name:        "jsonl-sink",
	Description: "Appends each event to a file as one line of JSON.",
	Params: []sdk.Param{
		{Name: "path", Type: sdk.String, Required: true, Description: "the file to append to; created if missing"},
	},
	New: newJSONL,
}

// jsonl is one jsonl-sink instance. It implements io.Closer, so the SDK
// closes its file when the instance ends. The SDK calls Write one batch at
// a time, so one buffer serves every batch.
type jsonl struct {
	file *os.File
	log  *slog.Logger
	buf  []byte
}

// appendLine appends ev as one line of JSON, {"body": ..., "content_type":
// ..., "headers": {...}}, exactly as json.Marshal writes it (headers
// sorted by name, {} when there are none), and a newline. Written by hand
// because encoding/json's reflection was most of what a batch cost.
func appendLine(buf []byte, ev sdk.Event) []byte {
	buf = append(buf, `{"body":`...)
	buf = appendString(buf, ev.Body)
	buf = append(buf, `,"content_type":`...)
	buf = appendString(buf, ev.ContentType)
	buf = append(buf, `,"headers":{`...)
	if len(ev.Headers) > 0 {
		for i, name := range slices.Sorted(maps.Keys(ev.Headers)) {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(appendString(buf, name), ':')
			buf = appendString(buf, ev.Headers[name])
		}
	}
	return append(buf, "}}\n"...)
}

// appendString appends s as a JSON string. A string with anything
// encoding/json escapes (quotes, backslashes, control characters, <, >, &,
// anything but ASCII) is left to it.
func appendString[S string | []byte](buf []byte, s S) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(string(s)) // a string always encodes
			return append(buf, quoted...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

func newJSONL(cfg sdk.Config, log *slog.Logger) (sdk.Sink, error) {
	f, err := openDurably(cfg.String("path"))
	if err != nil {
		return nil, fmt.Errorf("jsonl-sink: %w", err)
	}
	cut, err := cutPartialLine(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("jsonl-sink: %w", err)
	}
	if cut > 0 {
		// A process killed in the middle of a write left it; the host
		// sends that batch again, since it was never acknowledged.
		log.Warn("cut off a partial last line left by a crash", "bytes", cut)
	}
	return &jsonl{file: f, log: log}, nil
}

// openDurably opens path for appending, creating it if missing. A file it
// creates is on disk, name and all, before it returns: syncing a file's
// data (Write) makes it durable only once its directory entry is, and a
// first sync that also commits the new file is the slowest.
func openDurably(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o644)
	}
	if err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	// Where a directory can be synced (not on Windows, say).
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return f, nil
}

// cutPartialLine cuts off the end of f after its last newline, what a write
// interrupted by a crash (a SIGKILL) leaves, and returns how many bytes it
// cut.
func cutPartialLine(f *os.File) (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := info.Size()
	buf := make([]byte, 4096)
	for end := size; end > 0; {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep := end - n + int64(i) + 1
			return size - keep, f.Truncate(keep)
		}
		end -= n
	}
	return size, f.Truncate(0)
}

// Write appends the whole batch with one write and returns only once the
// lines are on disk: nil tells the host the batch is safe. If the write
// fails, whatever part of it reached the file is cut off again, and the
// host sends the batch again; a crash in the middle of the write leaves a
// partial line, which the next instance cuts off (newJSONL).
func (j *jsonl) Write(_ context.Context, batch []sdk.Event) error {
	j.buf = j.buf[:0]
	for _, ev := range batch {
		j.buf = appendLine(j.buf, ev)
	}
	info, err := j.file.Stat()
	if err != nil {
		return err
	}
	if _, err := j.file.Write(j.buf); err != nil {
		if terr := j.file.Truncate(info.Size()); terr != nil {
			j.log.Error("cannot cut off a partial write", "error", terr)
		}
		return err
	}
	return j.file.Sync()
}

// Close closes the file.
func (j *jsonl) Close() error { return j.file.Close() }

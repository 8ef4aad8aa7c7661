package plugins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/rayvens/rayvens/internal/lines"
	"github.com/rayvens/rayvens/plugins/internal/wire"
)

// Level is a log level for plugin and host messages. The zero value is
// LevelWarn, the default of Options.LogLevel.
type Level int

// Log levels, from the most verbose.
const (
	LevelDebug Level = iota - 2
	LevelInfo
	LevelWarn // zero
	LevelError
	LevelOff
)

// ParseLevel parses "debug", "info", "warn", "error" or "off".
func ParseLevel(s string) (Level, error) {
	for i, name := range levelNames {
		if strings.EqualFold(s, name) {
			return LevelDebug + Level(i), nil
		}
	}
	return LevelWarn, fmt.Errorf("unknown log level %q (want debug, info, warn, error or off)", s)
}

// levelNames are the names of the levels from LevelDebug on.
var levelNames = []string{"debug", "info", "warn", "error", "off"}

func (l Level) String() string {
	if i := int(l - LevelDebug); i >= 0 && i < len(levelNames) {
		return levelNames[i]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// logger writes whole log lines, prefixed with where they come from, to
// the host's log output.
type logger struct {
	out   *lines.Writer
	level Level
}

func (l *logger) log(level Level, source, msg string, kv ...any) {
	if level < l.level {
		return
	}
	l.write(level, source, msg, kv...)
}

// output writes a line that is a connector's output (see
// wire.LogOutputKey): shown whatever the level, unless logging is off.
func (l *logger) output(level Level, source, msg string, kv ...any) {
	if l.level == LevelOff {
		return
	}
	l.write(level, source, msg, kv...)
}

func (l *logger) write(level Level, source, msg string, kv ...any) {
	var b strings.Builder
	fmt.Fprintf(&b, "rayvens: [%s] %s: %s", source, level, msg)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	l.out.Println(b.String())
}

// pluginLog is the stderr of one plugin process: JSON lines from the SDK
// are shown at their level, prefixed with the plugin and instance names;
// anything else a plugin prints (a Go panic, say) is shown as a warning.
type pluginLog struct {
	l      *logger
	plugin string
	buf    []byte
}

func (p *pluginLog) Write(data []byte) (int, error) {
	p.buf = append(p.buf, data...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.line(p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	if len(p.buf) > 64<<10 { // a runaway line without newline
		p.line(p.buf)
		p.buf = nil
	}
	return len(data), nil
}

func (p *pluginLog) line(line []byte) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	var fields map[string]any
	if json.Unmarshal(line, &fields) != nil {
		p.l.log(LevelWarn, p.plugin, string(line))
		return
	}
	level := LevelInfo
	if s, ok := fields[wire.LogLevelKey].(string); ok {
		if l, err := ParseLevel(s); err == nil {
			level = l
		}
	}
	msg, _ := fields[wire.LogMessageKey].(string)
	source := p.plugin
	if inst, ok := fields[wire.LogInstanceKey].(string); ok && inst != "" {
		source += " " + inst
	}
	output, _ := fields[wire.LogOutputKey].(bool)
	for _, k := range []string{wire.LogLevelKey, wire.LogMessageKey, wire.LogInstanceKey, wire.LogKindKey, wire.LogOutputKey, "@timestamp", "@module"} {
		delete(fields, k)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		kv = append(kv, k, fields[k])
	}
	if output {
		p.l.output(level, source, msg, kv...)
		return
	}
	p.l.log(level, source, msg, kv...)
}

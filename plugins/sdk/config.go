package sdk

import (
	"fmt"
	"time"
)

// Config is the validated configuration of one instance: every declared
// parameter that was given or has a default, with the declared type
// (string, int64, float64 or bool).
type Config struct {
	values map[string]any
	taken  uint64
}

// NewConfig makes a Config from values, for tests of a connector.
func NewConfig(values map[string]any) Config { return Config{values: values} }

// Taken returns how many events the host took from this source instance
// before it was opened again: 0 when the instance is first opened; after
// its plugin process died and was restarted, how many events the host had
// taken into its stream from the earlier processes. Events a dead process
// had emitted that the host had not taken are not counted: the new
// process is to emit them again. A source that emits a fixed number of events (a
// repeat count) emits only the rest, so that the count holds for the run,
// not for each process. A source that reads from a position of its own
// (an offset, a file) should rely on Event.Ack instead. Sinks get 0.
func (c Config) Taken() uint64 { return c.taken }

// WithTaken returns c as a source reopened after the host took n events
// from it gets it (see Taken), for tests of a connector.
func (c Config) WithTaken(n uint64) Config {
	c.taken = n
	return c
}

// Has reports whether the parameter has a value.
func (c Config) Has(name string) bool { _, ok := c.values[name]; return ok }

// String returns a string parameter ("" when absent).
func (c Config) String(name string) string {
	switch v := c.values[name].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Int returns an integer parameter (0 when absent).
func (c Config) Int(name string) int64 {
	switch v := c.values[name].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}

// Float returns a number parameter (0 when absent).
func (c Config) Float(name string) float64 {
	switch v := c.values[name].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case int:
		return float64(v)
	}
	return 0
}

// Bool returns a boolean parameter (false when absent).
func (c Config) Bool(name string) bool {
	v, _ := c.values[name].(bool)
	return v
}

// Millis returns an integer parameter that counts milliseconds as a duration.
func (c Config) Millis(name string) time.Duration {
	return time.Duration(c.Int(name)) * time.Millisecond
}

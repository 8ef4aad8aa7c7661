// Package sdk is everything a connector author needs to write a Rayvens
// plugin: describe the kinds the plugin serves and their parameters,
// implement a [Source] (Run(ctx, emit)) or a [Sink] (Write(ctx, batch)), and
// call [Serve] from main. No gRPC and no go-plugin types appear here.
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name:    "dice",
//			Version: "v1.0.0",
//			Sources: []sdk.SourceKind{{
//				Name:        "dice-source",
//				Description: "Rolls a die periodically.",
//				Params: []sdk.Param{
//					{Name: "period", Type: sdk.Integer, Default: 1000, Description: "milliseconds between rolls"},
//					{Name: "sides", Type: sdk.Integer, Default: 6},
//				},
//				New: newDice,
//			}},
//		})
//	}
//
// Guarantees the SDK gives a connector:
//   - Sources: emit blocks while the host is not accepting events (its
//     stream is full), so a source never needs a queue of its own. Events are
//     batched adaptively: an event alone is sent at once, a flood moves in
//     batches. Event.Ack, when set, is called once the host's stream has
//     accepted the event (nil) or once it is known that it never will be.
//     A source that reads something large before it emits (a file, an
//     object) reads it through [TrackRead]: `rayvens run --stats` and the
//     admin page then show how far the read is.
//   - Sinks: Write receives batches in order, one at a time per instance; a
//     nil return acknowledges the batch, an error means it was not written
//     and the host will send it again (at-least-once), unless it is
//     [Permanent]; [Partial] says that the events before one were written.
//     After a failure, no later batch reaches Write before the events that
//     were not written, so a sink sees its events in order.
//   - The plugin exits when its host goes away, even if the host was killed.
//   - Logs go through the *slog.Logger given to New; the host shows them
//     prefixed with the plugin and instance names. Nothing may be written to
//     stdout: it carries the go-plugin handshake.
//   - With [EnvProfileDir] set in the host's environment, the plugin writes
//     its CPU and allocation profiles there when it stops.
//
// Package [github.com/rayvens/rayvens/plugins/sdk/sdktest] runs a kind in
// process for its tests, validating configs exactly as the host does.
package sdk

import (
	"context"
	"errors"
	"log/slog"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/sdk/internal/sinkerr"
)

// Plugin describes a plugin binary: its name, version and the kinds it serves.
type Plugin struct {
	Name    string
	Version string
	Sources []SourceKind
	Sinks   []SinkKind
}

// SourceKind is a kind of source, e.g. "dice-source": its declaration
// (what `rayvens kinds` shows and the host validates configs against) and
// its constructor.
type SourceKind struct {
	Name        string
	Description string
	// Events says what the source emits, e.g. "the body of each POST, as a
	// string".
	Events string
	// Kamelet names the Apache Camel Kamelet the kind follows, if any.
	Kamelet string
	Params  []Param
	// New creates one source instance from a validated config.
	New func(cfg Config, log *slog.Logger) (Source, error)
	// Rewrite, instead of New, makes the kind stand for another (see
	// camel.Kind.Rewrite): for kinds of the built-in plugin only.
	Rewrite camel.Rewrite
}

// SinkKind is a kind of sink, e.g. "jsonl-sink": its declaration and its
// constructor.
type SinkKind struct {
	Name        string
	Description string
	// Events says what the sink writes of each event, e.g. "each event is
	// the body of one request".
	Events string
	// Kamelet names the Apache Camel Kamelet the kind follows, if any.
	Kamelet string
	Params  []Param
	// New creates one sink instance from a validated config.
	New func(cfg Config, log *slog.Logger) (Sink, error)
	// Rewrite, instead of New, makes the kind stand for another (see
	// camel.Kind.Rewrite): for kinds of the built-in plugin only.
	Rewrite camel.Rewrite
}

// Source produces events. Run emits until ctx ends (the host disconnected
// the source or is shutting down) or the source is exhausted; returning nil
// ends the source normally, an error ends it with that error (reported by
// the host, without the config values).
type Source interface {
	Run(ctx context.Context, emit Emit) error
}

// Emit hands one event to the host. It blocks while the host cannot accept
// more, and returns an error only when ctx ends or the instance is closing.
type Emit func(ctx context.Context, ev Event) error

// Sink consumes events. Write is called with one batch at a time, in order;
// returning nil acknowledges it. An error says that the batch was not
// written: the host sends it again, unless the error is [Permanent]; a
// sink that wrote some of the batch says so with [Partial], and then only
// the events it did not write are sent again. If the sink also implements
// io.Closer, Close is called when the instance ends.
type Sink interface {
	Write(ctx context.Context, batch []Event) error
}

// Event is one event: a body, its content type (e.g. "text/plain",
// "application/json"), and string headers (e.g. "CamelFileName").
type Event struct {
	Body        []byte
	ContentType string
	Headers     map[string]string
	// Ack, when set on an event a source emits, is called exactly once,
	// with the event's outcome end to end: nil when the host is done with
	// it (every subscriber it reached, the events it caused downstream and
	// the sink writes it reached are finished), a *FailedError when the
	// host took it but it failed on its way (its Reason says where and
	// why; IsFailed tells), or another error when the host never took it
	// (the instance closed first): it may be emitted again. Sources that
	// must not lose data (delete a file, commit an offset, answer a
	// request) act on it.
	Ack func(err error)
}

// Param declares one parameter of a kind. The host validates configs
// against these before an instance is created: required parameters are
// present, types match, unknown names are refused, defaults are filled in.
type Param = camel.Param

// Type is a parameter's type.
type Type = camel.Type

// Parameter types, as in the Kamelet catalog.
const (
	String  = camel.String
	Integer = camel.Integer
	Number  = camel.Number
	Boolean = camel.Boolean
)

// Kind returns the declaration of k as the catalog has it.
func (k SourceKind) Kind() camel.Kind {
	return camel.Kind{Name: k.Name, Direction: camel.Source, Description: k.Description, Events: k.Events, Kamelet: k.Kamelet, Params: k.Params, Rewrite: k.Rewrite}
}

// Kind returns the declaration of k as the catalog has it.
func (k SinkKind) Kind() camel.Kind {
	return camel.Kind{Name: k.Name, Direction: camel.Sink, Description: k.Description, Events: k.Events, Kamelet: k.Kamelet, Params: k.Params, Rewrite: k.Rewrite}
}

// Kinds returns the declarations of every kind p serves, sources first.
func (p Plugin) Kinds() []camel.Kind {
	out := make([]camel.Kind, 0, len(p.Sources)+len(p.Sinks))
	for _, k := range p.Sources {
		out = append(out, k.Kind())
	}
	for _, k := range p.Sinks {
		out = append(out, k.Kind())
	}
	return out
}

// FailedError is the outcome given to Event.Ack of an event the host took
// but that failed on its way: a subscriber or operator returned an error,
// or a sink could not write it. Emitting it again would most likely fail
// the same way.
type FailedError struct {
	Reason string // where and why, e.g. `stream "s": subscriber "f": ...`
}

func (e *FailedError) Error() string { return "the event failed: " + e.Reason }

// IsFailed reports whether err, given to Event.Ack, says that the host
// took the event and it failed (a *FailedError), as opposed to never
// having taken it.
func IsFailed(err error) bool {
	var f *FailedError
	return errors.As(err, &f)
}

// Permanent marks an error returned by Sink.Write as one that sending the
// events again cannot fix, such as a 4xx answer from the peer: the host
// then reports the batch's events as failed at once, with the error,
// instead of sending the batch again (which it does for other errors, in
// order, with backoff, for plugins.Options.SinkRetryFor: 2 minutes by
// default).
// With [Partial], only the one event the error is about fails. Permanent
// of nil is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &sinkerr.Permanent{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// [Permanent]: whether the host will fail the events rather than send
// them again.
func IsPermanent(err error) bool { return errors.As(err, new(*sinkerr.Permanent)) }

// Partial marks an error returned by Sink.Write as being about one event
// of the batch, batch[written]: the events before it were written and are
// done, so the host never sends them again. What becomes of the others
// depends on err:
//   - not permanent: none from batch[written] on was written; the host
//     sends them again, before any later batch, so the sink's order holds.
//   - marked with [Permanent] (either way round: Partial(n,
//     Permanent(err)) or Permanent(Partial(n, err))): batch[written] fails
//     with err, and the events after it, which were not tried, are sent
//     again as above.
//
// A sink that writes its events one by one returns Partial(i, err) when
// event i fails. Without Partial an error is about the whole batch: no
// event of it was written (or, if permanent, every one fails). If written
// is not the index of an event of the batch, the error is taken to be
// about the whole batch, and the SDK logs the mistake. Partial of a nil
// error is nil.
func Partial(written int, err error) error {
	if err == nil {
		return nil
	}
	return &sinkerr.Partial{Written: written, Err: err}
}

// Written reports how many events of its batch err, returned by
// Sink.Write, says were written, and whether it says so: whether err, or
// an error it wraps, was made by [Partial].
func Written(err error) (int, bool) {
	var p *sinkerr.Partial
	if errors.As(err, &p) {
		return p.Written, true
	}
	return 0, false
}

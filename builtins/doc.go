// Package builtins defines the names predeclared in every Rayvens script:
//
//   - Stream(name, source_config=None, sink_config=None, operator=None,
//     batch_size=None, batch_timeout=None, capacity=None) and its methods
//     (append/<<, send_to/>>, add_operator, add_source, add_sink,
//     unsubscribe, disconnect_source, disconnect_sink, disconnect_all,
//     event_count, name)
//   - Actor(append=None, init=None, **methods), a stateful subscriber
//   - Task(fn, parallelism=N), a parallel subscriber
//   - OutputEvent(data, headers={}), an event carrying connector headers
//   - sleep(seconds), argv, env(name, default=None)
//   - the modules json, time and math, and the struct constructor
//   - in test files only (see [Runtime.TestPredeclared]): the assert
//     module, collect, drain, fake_source, fake_sink, fake_connectors and
//     sink_events
//
// Every value here is a thin Starlark face over the engine package; the
// [Runtime] ties them to one engine, made with a [Config], and holds the
// interpreter lock that keeps the main script and callbacks from racing
// (see [Runtime.Call]).
//
// Connectors (source_config, sink_config, add_source, add_sink) are opened
// through the [Connectors] interface the program passes in Config: this
// package validates nothing itself and links no plugin code, so a program
// that embeds scripts without connectors carries none. Events from sources
// are camel.Event values, seen by scripts as their body, or as a [Message]
// with its headers when the source config has with_headers=True; events
// to sinks are encoded from script values (a string as text, bytes as
// bytes, a Message as it came, an OutputEvent with its headers, anything
// else as JSON).
package builtins

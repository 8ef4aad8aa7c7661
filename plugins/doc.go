// Package plugins is the connector plugin host: it finds plugins, launches
// them lazily as separate processes speaking the connector protocol
// (plugins/proto over hashicorp/go-plugin), opens source and sink instances
// in them, supervises the processes, and makes sure none outlives the run.
//
//   - [Host] discovers plugins (the built-in connectors served by the
//     rayvens binary itself, and executables named rayvens-plugin-* in the
//     plugin directories), validates configs against each kind's
//     declaration (a camel.Kind), and opens instances. It owns them: their
//     contexts derive from it, and [Host.Close] ends them and waits for
//     them before it stops the processes.
//   - [Source] runs a source instance; it is an engine.Source whose events
//     are [Event] values: it reads batches from the plugin, emits each event
//     (blocking while the stream is full, which stops the plugin through the
//     protocol's window) and acknowledges each batch.
//   - [Sink] runs a sink instance; it is an engine.Sink (subscribe it with
//     engine.ToSink): it batches events adaptively, keeps a window of
//     batches in flight (sink_session.go), and reports each event done only
//     when the plugin has acknowledged its batch.
//   - [ScriptConnectors] is the host as scripts need it
//     (builtins.Connectors), for starlark.Options.Connectors.
//
// Supervision: when a plugin process dies, its instances reconnect to a new
// process (started with exponential backoff); a sink re-sends every batch not
// yet acknowledged (at-least-once), a source is reopened. A plugin that
// crashes more than Options.MaxRestarts times within Options.RestartWindow
// fails the host: [Host.Failed] is closed and [Host.Err] says why, and a
// script run stops with that error. A plugin that breaks the protocol but
// still answers (a message with a string that is not valid UTF-8) has not
// crashed: the instance fails with the reason, and nothing is restarted.
// The host never sends such a message: [Sink.Deliver] refuses an event
// with such a header.
//
// No orphans: every plugin process gets SIGTERM from the kernel when the
// host dies (Linux parent-death signal; the SDK then removes its socket and
// exits), and watches a lifeline pipe whose write end only the host holds,
// so it exits on its own if the host is gone.
package plugins

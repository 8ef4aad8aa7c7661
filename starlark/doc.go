// Package starlark is the Rayvens script host: it runs a Starlark file in the
// Rayvens dialect with the predeclared names of package builtins, resolves
// load() relative to the loading file, drives the run's lifecycle (top level,
// then drain) and turns every error into a message with its script position
// and backtrace.
//
// The entry point is [Run]. Errors it returns are an [*Error] or an
// [ErrorList] for problems in the script itself, and a [*FailuresError] when
// the script ran but some subscribers failed (each failure was already
// reported on Options.Stderr as it happened).
//
// A Go program that shares streams with a script uses a [Script] instead:
// New, then Define (streams and values for the script), Start (the top
// level), Wait (the pipeline, until it drains). Every event on a stream the
// script can see is a frozen starlark.Value, Go values being converted when
// they are appended; [GoValue] turns an event back into plain Go. Steps
// called out of order fail with [ErrStarted], [ErrNotStarted] or
// [ErrFinished].
//
// Cancelling the context of Run or Start stops the run gracefully, within
// Options.DrainTimeout ([DefaultDrainTimeout] by default): past it the run
// is killed and the error is [ErrDrainTimeout].
package starlark

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
package starlark

// Package guard turns a connector's panics into errors. The SDK's server
// calls a connector's New, Run, Write and Close through it, so that one
// broken instance does not end the plugin's others; the test kit
// (plugins/sdk/sdktest) calls them through it too, so that a test sees a
// panic as the host would.
package guard

import (
	"fmt"
	"log/slog"
	"runtime/debug"
)

// Call calls f, what naming it ("New", "Run", ...). A panic in f is logged
// to log with its stack and returned as the error `WHAT panicked: VALUE`.
func Call(log *slog.Logger, what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error(what+" panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s panicked: %v", what, r)
		}
	}()
	return f()
}

package starlark_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every script run must stop every goroutine it started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

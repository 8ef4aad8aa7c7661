package cluster

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that closing a Cluster stops every goroutine it started
// (the subscriptions', the ackers', the embedded server's).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

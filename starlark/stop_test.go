package starlark

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDrainTimeoutDefault checks the documented defaults of
// Options.DrainTimeout (0 means no bound).
func TestDrainTimeoutDefault(t *testing.T) {
	kill := context.Background()
	for _, tt := range []struct {
		opts Options
		want time.Duration
	}{
		{Options{}, DefaultDrainTimeout},
		{Options{Kill: kill}, 0},
		{Options{Kill: kill, DrainTimeout: time.Second}, time.Second},
		{Options{DrainTimeout: -1}, 0},
		{Options{DrainTimeout: time.Minute}, time.Minute},
	} {
		require.Equal(t, tt.want, tt.opts.drainTimeout(), "%+v", tt.opts)
	}
}

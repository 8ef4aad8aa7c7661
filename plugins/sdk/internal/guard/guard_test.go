package guard

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCall(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	failed := errors.New("failed")
	require.ErrorIs(t, Call(log, "Write", func() error { return failed }), failed)
	require.Empty(t, logs.String(), "an error is not a panic")

	err := Call(log, "Write", func() error { panic("nil map") })
	require.EqualError(t, err, "Write panicked: nil map")
	require.Contains(t, logs.String(), `level=ERROR msg="Write panicked" panic="nil map" stack=`)
	require.Contains(t, logs.String(), "guard_test.go", "the stack shows where")
}

package starlark_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	rstarlark "github.com/rayvens/rayvens/starlark"
)

func TestCheck(t *testing.T) {
	// A top level that produces forever is checked up to its step budget.
	require.NoError(t, rstarlark.Check(context.Background(), "loop.star", `
s = Stream("s")
s >> print
i = 0
while True:
    s << i
    i += 1
    sleep(1)
`, rstarlark.Options{}))

	// So is a loaded file's: the step budget is that of every file's top level.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "forever.star"), []byte("y = 1\nwhile True:\n    pass\n"), 0o644))
	require.NoError(t, rstarlark.Check(context.Background(), filepath.Join(dir, "main.star"), `load("forever.star", "y")`, rstarlark.Options{}))

	// Callbacks never run in a check: nothing is appended.
	require.NoError(t, rstarlark.Check(context.Background(), "cb.star", `
s = Stream("s")
s >> (lambda e: 1 // 0)
s << 1
s.disconnect_all(after=3600)
`, rstarlark.Options{}))

	// An append after disconnect_all fails in a check as in a run.
	err := rstarlark.Check(context.Background(), "late.star", "s = Stream('s')\ns.disconnect_all(after=3600)\ns << 1\n", rstarlark.Options{})
	require.ErrorContains(t, err, `late.star:3:3: cannot append to stream "s": disconnect_all has disconnected it`)

	// Only the step budget is forgiven, not an error that says the same.
	require.Error(t, rstarlark.Check(context.Background(), "words.star", `fail("too many steps")`, rstarlark.Options{}))

	err = rstarlark.Check(context.Background(), "bad.star", "s = Stream('s')\ns >> 42\n", rstarlark.Options{})
	var e *rstarlark.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "bad.star:2:3", e.Pos.String())
}

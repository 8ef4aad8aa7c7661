package starlark_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	rstarlark "github.com/rayvens/rayvens/starlark"
)

// TestGuardedMultiplicationComputesTheSame: with a memory limit, `*` and
// `*=` go through the checked multiplication, and every product (numbers,
// repetitions on either side, in functions, lambdas, comprehensions,
// default values and loaded modules) is what Starlark computes without it.
func TestGuardedMultiplicationComputesTheSame(t *testing.T) {
	src := `
def f(x, y=[1] * 2):
    z = x
    z *= 3
    return (x * 2, 2 * x, z, y)
g = lambda v: v * v
print(f(2), f("ab"), f([1]), f((1,)), g(1.5), g(3), 2 * 3, 1.5 * 2)
print([i * i for i in range(4)], {k * 2: k for k in "ab".elems()}, (lambda: "x" * 3)())
l = [0]
l *= 2
print(l, list(range(3)), tuple("ab".elems()), sorted([3, 1]), list(enumerate(["a", "b"])), list(reversed([1, 2])))
`
	run := func(maxMemory uint64) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := rstarlark.Run(context.Background(), "mul.star", src, rstarlark.Options{Stdout: &stdout, Stderr: &stderr, MaxMemory: maxMemory})
		return stdout.String(), stderr.String(), err
	}
	plain, _, err := run(0)
	require.NoError(t, err)
	guarded, stderr, err := run(1 << 30)
	require.NoError(t, err, stderr)
	require.Equal(t, plain, guarded)
	require.Contains(t, plain, `(4, 4, 6, [1, 1]) ("abab", "abab", "ababab", [1, 1]) ([1, 1], [1, 1], [1, 1, 1], [1, 1])`)

	// A type error keeps Starlark's message and the operator's position.
	var stderr2 bytes.Buffer
	err = rstarlark.Run(context.Background(), "bad.star", "x = 'a' * 'b'\n", rstarlark.Options{Stderr: &stderr2, MaxMemory: 1 << 30})
	var e *rstarlark.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "bad.star:1:9: unknown binary op: string * string", e.Error())
}

// TestAllocationPastTheLimit: a repetition or a sized builtin that needs
// more memory than the run has fails at its position, before it allocates;
// the run goes on.
func TestAllocationPastTheLimit(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := rstarlark.Run(context.Background(), "bomb.star", `
s = Stream("s")
def bomb(e):
    x = [0] * 1000000000
s >> bomb
s >> (lambda e: print("still delivered", e))
s << 1
def sized():
    return list(range(1000000000))
sized()
`, rstarlark.Options{Stdout: &stdout, Stderr: &stderr, MaxMemory: 256 << 20})
	var e *rstarlark.Error
	require.ErrorAs(t, err, &e)
	require.Regexp(t, `^bomb.star:9:16: in list: a result of 1000000000 elements needs 15 GiB of memory, more than the run has left \(.* in use of its limit of 256 MiB\)\n`, e.Error())
	require.Contains(t, stderr.String(), `bomb.star:4:13: stream "s": subscriber "bomb": list * 1000000000 needs 15 GiB of memory, more than the run has left`)
	require.Equal(t, "still delivered 1\n", stdout.String())
}

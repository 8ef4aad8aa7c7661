package main

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	rstarlark "github.com/rayvens/rayvens/starlark"
)

// durations are what varies from one report of rayvens test to another.
var durations = regexp.MustCompile(`\d+\.\d\ds`)

// TestTestCommand runs rayvens test on passing, failing and broken test
// files and checks exactly what a user sees, and the exit status.
func TestTestCommand(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stdout string
		stderr string
		exit   int
	}{
		{name: "passing", args: []string{"test", "testdata/test/pass"}, stdout: `ok   testdata/test/pass/other_test.star 0.00s
ok   testdata/test/pass/pipeline_test.star 0.00s
3 passed, 0 failed
`},
		{name: "verbose", args: []string{"test", "-v", "testdata/test/pass/pipeline_test.star"}, stdout: `=== RUN   test_squares
--- PASS: test_squares (0.00s)
=== RUN   test_from_a_source
printed, shown with -v only
--- PASS: test_from_a_source (0.00s)
ok   testdata/test/pass/pipeline_test.star 0.00s
2 passed, 0 failed
`},
		{name: "run", args: []string{"test", "-run", "^test_sq", "testdata/test/pass"}, stdout: `ok   testdata/test/pass/other_test.star 0.00s [no tests to run]
ok   testdata/test/pass/pipeline_test.star 0.00s
1 passed, 0 failed
`},
		{name: "failing, erroring and broken files, reported in order", args: []string{"test", "testdata/test/pass", "testdata/test/fail/..."}, exit: 1, stdout: `ok   testdata/test/pass/other_test.star 0.00s
ok   testdata/test/pass/pipeline_test.star 0.00s
--- FAIL: testdata/test/fail/broken_test.star
    testdata/test/fail/broken_test.star:2:1: got newline, want ':'
FAIL testdata/test/fail/broken_test.star 0.00s
computing
--- FAIL: test_wrong (testdata/test/fail/fail_test.star:12)
    assert.eq: 3 != 4: the total
    Traceback (most recent call last):
      testdata/test/fail/fail_test.star:12:14: in test_wrong
--- FAIL: test_helper (testdata/test/fail/fail_test.star:15)
    assert.true: False is not true: positive
    Traceback (most recent call last):
      testdata/test/fail/fail_test.star:18:19: in test_helper
      testdata/test/fail/fail_test.star:15:16: in check_positive
--- FAIL: test_error (testdata/test/fail/fail_test.star:4)
    error: unknown binary op: int + string
    Traceback (most recent call last):
      testdata/test/fail/fail_test.star:21:10: in test_error
      testdata/test/fail/fail_test.star:4:11: in total
FAIL testdata/test/fail/fail_test.star 0.00s
4 passed, 4 failed
`},
		{name: "the examples' tests", args: []string{"test", "examples"}, stdout: `ok   examples/batching_test.star 0.00s
ok   examples/kafka_test.star 0.00s
ok   examples/operator_test.star 0.00s
ok   examples/slack_test.star 0.00s
ok   examples/timer_test.star 0.00s
ok   examples/webhook_test.star 0.00s
11 passed, 0 failed
`},
		{name: "rayvens check takes test files", args: []string{"check", "testdata/test/pass"}},
		{name: "bad -run", args: []string{"test", "-run", "(", "testdata/test/pass"}, exit: 2,
			stderr: "rayvens: test: bad -run pattern \"(\": error parsing regexp: missing closing ): `(` (see rayvens help)\n"},
		{name: "no such path", args: []string{"test", "testdata/test/nosuch"}, exit: 2,
			stderr: "rayvens: test: cannot read testdata/test/nosuch (see rayvens help)\n"},
		{name: "not a test file", args: []string{"test", "testdata/test/pass/pipeline.star"}, exit: 2,
			stderr: "rayvens: test: testdata/test/pass/pipeline.star is not a test file (its name must end in _test.star) (see rayvens help)\n"},
		{name: "no test files", args: []string{"test", "testdata/test/empty"}, exit: 2,
			stderr: "rayvens: test: no *_test.star files in testdata/test/empty (see rayvens help)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := rayvens(t, tt.args...)
			require.Equal(t, tt.stdout, durations.ReplaceAllString(stdout, "0.00s"))
			require.Equal(t, tt.stderr, stderr)
			require.Equal(t, tt.exit, code)
		})
	}
}

// TestTestFilesRunInParallel: files run at the same time (each of these
// two finishes only once both have started), and their reports come in
// the order of the files even when the second finishes first.
func TestTestFilesRunInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var started sync.WaitGroup
	started.Add(2)
	secondDone := make(chan struct{})
	run := func(ctx context.Context, file string) *rstarlark.TestFile {
		started.Done()
		both := make(chan struct{})
		go func() { started.Wait(); close(both) }()
		res := &rstarlark.TestFile{Path: file, Tests: []rstarlark.TestResult{{Name: "test_" + file}}}
		select {
		case <-both:
		case <-time.After(10 * time.Second):
			res.Err = errors.New("ran alone")
		}
		if file == "b_test.star" {
			close(secondDone)
		} else {
			select { // the first reports last
			case <-secondDone:
			case <-time.After(10 * time.Second):
			}
		}
		return res
	}
	var out strings.Builder
	passed, failed := runTestFiles(context.Background(), []string{"a_test.star", "b_test.star"}, run, &out, true)
	require.Equal(t, 2, passed)
	require.Zero(t, failed)
	require.Equal(t, "=== RUN   test_a_test.star\n--- PASS: test_a_test.star (0.00s)\nok   a_test.star 0.00s\n"+
		"=== RUN   test_b_test.star\n--- PASS: test_b_test.star (0.00s)\nok   b_test.star 0.00s\n", out.String())
}

package starlark_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	rstarlark "github.com/rayvens/rayvens/starlark"
)

// TestScripts runs every testdata/*.star script and compares what it prints
// with the expectations written in the script itself, as comments:
//
//	#> stdout: a line the script prints (in order)
//	#> stderr: a line the run prints on stderr (in order)
//	#> exit: 1            (default 0; 1 means Run returned an error)
//	#> unordered          (compare stdout lines as a set, for tasks)
//	#> argv: a b c        (the script's argv)
//	#> env: NAME=value    (one environment variable visible to env())
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.star")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".star"), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			want := parseExpectations(string(src))

			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			runErr := rstarlark.Run(ctx, file, nil, rstarlark.Options{
				Argv:   want.argv,
				Stdout: &stdout,
				Stderr: &stderr,
				LookupEnv: func(name string) (string, bool) {
					v, ok := want.env[name]
					return v, ok
				},
			})
			gotStderr := lines(stderr.String())
			if runErr != nil {
				gotStderr = append(gotStderr, lines(runErr.Error())...)
			}
			exit := 0
			if runErr != nil {
				exit = 1
			}
			gotStdout := lines(stdout.String())
			if want.unordered {
				sort.Strings(gotStdout)
				sort.Strings(want.stdout)
			}
			require.Equal(t, want.stdout, gotStdout, "stdout of %s", file)
			require.Equal(t, want.stderr, gotStderr, "stderr of %s", file)
			require.Equal(t, want.exit, exit, "exit status of %s (error: %v)", file, runErr)
		})
	}
}

type expectations struct {
	stdout, stderr []string
	exit           int
	unordered      bool
	argv           []string
	env            map[string]string
}

func parseExpectations(src string) expectations {
	want := expectations{stdout: []string{}, stderr: []string{}, env: map[string]string{}}
	for _, line := range strings.Split(src, "\n") {
		rest, ok := strings.CutPrefix(line, "#> ")
		if !ok {
			continue
		}
		key, value, _ := strings.Cut(rest, ":")
		value = strings.TrimPrefix(value, " ")
		switch key {
		case "stdout":
			want.stdout = append(want.stdout, value)
		case "stderr":
			want.stderr = append(want.stderr, value)
		case "exit":
			want.exit = map[string]int{"0": 0, "1": 1}[value]
		case "unordered":
			want.unordered = true
		case "argv":
			want.argv = strings.Fields(value)
		case "env":
			k, v, _ := strings.Cut(value, "=")
			want.env[k] = v
		}
	}
	return want
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

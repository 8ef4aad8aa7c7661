package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocScripts runs the Starlark code blocks of README.md and docs/*.md.
// A header "# name.star — run as: VAR=x rayvens run name.star ARGS" gives
// the environment and arguments of the run.
// A block whose first line is a comment naming a file ("# lib/text.star") is
// written under that name (without that line), so later blocks can load it. Every block must
// pass `rayvens check`, unless an output block follows it directly: then it
// is run, and what it prints (stdout and stderr) must be the lines of that
// output block, in any order (tasks print in no particular order). Blocks
// marked <!-- file: --> or <!-- include: --> belong to other tests. A block
// named *_test.star runs with rayvens test instead: its tests must pass, or
// its output block is exactly the report (durations shown as 0.00s).
func TestDocScripts(t *testing.T) {
	pluginDir := buildExamplePlugin(t)
	docs, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	block := regexp.MustCompile("(?s)(<!-- (?:file|include): \\S+ -->\\n)?```python\\n(.*?)```\\n(```\\n(.*?)```\\n)?")
	named := regexp.MustCompile(`^# ((?:\w+/)*\w+\.star)\b`)
	for _, doc := range append([]string{"README.md"}, docs...) {
		text, err := os.ReadFile(doc)
		require.NoError(t, err)
		dir := t.TempDir()
		for i, m := range block.FindAllStringSubmatchIndex(string(text), -1) {
			get := func(g int) string {
				if m[2*g] < 0 {
					return ""
				}
				return string(text[m[2*g]:m[2*g+1]])
			}
			if get(1) != "" {
				continue
			}
			src, output, hasOutput := get(2), get(4), m[6] >= 0
			line := strings.Count(string(text[:m[0]]), "\n") + 1
			name := filepath.Join("block", strings.ReplaceAll(filepath.Base(doc), ".", "_")+"_"+strconv.Itoa(i)+".star")
			var env, args []string
			if _, how, ok := strings.Cut(strings.SplitN(src, "\n", 2)[0], "run as: "); ok {
				env, args = runAs(how)
			}
			if n := named.FindStringSubmatch(src); n != nil {
				// The naming comment is a label, not part of the file: the
				// positions the doc shows count from the next line.
				name = n[1]
				src = src[strings.IndexByte(src, '\n')+1:]
			}
			path := filepath.Join(dir, name)
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
			if strings.HasPrefix(name, "lib/") {
				continue // a library for later blocks
			}
			t.Run(filepath.Base(doc)+":"+strconv.Itoa(line), func(t *testing.T) {
				if strings.HasSuffix(name, "_test.star") {
					// A test file runs with rayvens test; an output block
					// is its report, durations shown as 0.00s.
					cmd := exec.Command(binary, "test", name)
					cmd.Dir = dir
					out, err := cmd.CombinedOutput()
					if !hasOutput {
						require.NoError(t, err, "%s:%d: the tests pass:\n%s", doc, line, out)
						return
					}
					got := regexp.MustCompile(`\d+\.\d\ds`).ReplaceAllString(string(out), "0.00s")
					require.Equal(t, output, got, "%s:%d: rayvens test prints what the doc shows", doc, line)
					return
				}
				if !hasOutput {
					cmd := exec.Command(binary, "check", "--plugin-dir", pluginDir, name)
					cmd.Dir = dir
					out, err := cmd.CombinedOutput()
					require.NoError(t, err, "%s:%d: the block passes rayvens check:\n%s", doc, line, out)
					return
				}
				cmd := exec.Command(binary, append([]string{"run", "--for", "30s", "--plugin-dir", pluginDir, name}, args...)...)
				cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
				out, _ := cmd.CombinedOutput()
				require.Equal(t, sortedLines(output), sortedLines(string(out)), "%s:%d: the block prints what the doc shows", doc, line)
			})
		}
	}
}

// runAs reads a block's "run as: VAR=x rayvens run [flags] NAME ARGS..."
// header: the environment it sets and the script's arguments.
func runAs(how string) (env, args []string) {
	words := strings.Fields(how)
	for len(words) > 0 && strings.Contains(words[0], "=") {
		env, words = append(env, words[0]), words[1:]
	}
	for i, w := range words {
		if strings.HasSuffix(w, ".star") {
			return env, words[i+1:]
		}
	}
	return env, nil
}

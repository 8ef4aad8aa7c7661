package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReliabilityTableNamesRealTests keeps docs/reliability.md honest:
// every test it names as a proof exists.
func TestReliabilityTableNamesRealTests(t *testing.T) {
	doc, err := os.ReadFile("docs/reliability.md")
	require.NoError(t, err)
	var tests strings.Builder
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != "." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			tests.Write(b)
		}
		return nil
	})
	require.NoError(t, err)
	names := regexp.MustCompile(`\bTest[A-Z]\w*`).FindAllString(string(doc), -1)
	require.NotEmpty(t, names)
	for _, name := range names {
		require.Contains(t, tests.String(), "func "+name+"(", "docs/reliability.md names %s, which is not a test", name)
	}
	for _, m := range regexp.MustCompile("`starlark: (testdata/[^`]+)`").FindAllStringSubmatch(string(doc), -1) {
		require.FileExists(t, filepath.Join("starlark", m[1]))
	}
}

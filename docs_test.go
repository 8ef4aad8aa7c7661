package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocIncludes checks that every code block marked
// <!-- include: PATH --> in the docs is exactly the file it shows, so the
// docs show code that the tests build and run.
func TestDocIncludes(t *testing.T) {
	docs, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	include := regexp.MustCompile("(?s)<!-- include: (\\S+) -->\\n```\\w*\\n(.*?)```")
	found := 0
	for _, doc := range append(docs, "README.md") {
		text, err := os.ReadFile(doc)
		require.NoError(t, err)
		for _, m := range include.FindAllStringSubmatch(string(text), -1) {
			found++
			want, err := os.ReadFile(m[1])
			require.NoError(t, err, "%s includes %s", doc, m[1])
			require.Equal(t, string(want), m[2], "%s shows %s as it is", doc, m[1])
		}
	}
	require.NotZero(t, found)
}

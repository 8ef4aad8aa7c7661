package lines

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLinesNeverInterleave(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf)
	require.Same(t, w, New(w), "a Writer is not wrapped twice")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				w.Println(strings.Repeat(string(rune('a'+g)), 100))
			}
		}()
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, got, 8*200)
	for _, line := range got {
		require.Equal(t, strings.Repeat(line[:1], 100), line)
	}
}

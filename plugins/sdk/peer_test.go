package sdk

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"channel_not_found", 200, "channel_not_found"},
		{"  <html>\r\n\t<body>oops</body>\n</html>\n", 200, "<html> <body>oops</body> </html>"},
		{"a\x00b\x1bc", 200, "a b c"},
		{"bad \xff byte", 200, "bad \uFFFD byte"},
		{strings.Repeat("ab ", 10), 8, "ab ab ab..."},
		{"ééééé", 5, "éé..."}, // a third é would make 6 bytes
		{"", 200, ""},
	} {
		require.Equal(t, tc.want, Excerpt([]byte(tc.in), tc.limit), "%q", tc.in)
	}
}

func TestRetryAfter(t *testing.T) {
	wait, ok := RetryAfter("3")
	require.True(t, ok)
	require.Equal(t, 3*time.Second, wait)
	wait, ok = RetryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	require.True(t, ok)
	require.InDelta(t, time.Hour.Seconds(), wait.Seconds(), 5)
	wait, ok = RetryAfter("Mon, 02 Jan 2006 15:04:05 GMT")
	require.True(t, ok, "a date that has passed")
	require.Zero(t, wait)
	for _, bad := range []string{"", "-1", "soon"} {
		_, ok := RetryAfter(bad)
		require.False(t, ok, "%q", bad)
	}
}

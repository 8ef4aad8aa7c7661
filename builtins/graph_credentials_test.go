package builtins

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAGraphShowsNoCredentialInAURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://example.com/quote?apikey=k3y&symbol=AAPL": "http://example.com/quote?apikey=(secret)&symbol=(secret)",
		"https://user:pa55@example.com/x":                 "https://user:(secret)@example.com/x",
		"https://example.com/x":                           "https://example.com/x",
		"/tmp/out.txt":                                    "/tmp/out.txt",
		"#general":                                        "#general",
		"3000":                                            "3000",
	} {
		got := withoutCredentials(in)
		require.Equal(t, want, got, in)
		require.NotContains(t, got, "k3y")
		require.NotContains(t, got, "pa55")
	}
}

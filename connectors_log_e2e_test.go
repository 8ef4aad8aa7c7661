package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLogSinkLines checks that a log-sink's lines reach stderr whatever
// --log-level says (the default is warn, the lines are info), unless off.
func TestLogSinkLines(t *testing.T) {
	lines := "rayvens: [rayvens logged-log-sink] info: log-sink: Exchange[ExchangePattern: InOnly, Headers: {}, BodyType: text/plain, Body: hello]\n" +
		"rayvens: [rayvens logged-log-sink] info: log-sink: Exchange[ExchangePattern: InOnly, Headers: {CamelFileName=a.txt}, BodyType: text/plain, Body: user=ann password=xxxxx]\n"
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"run", "testdata/log_sink.star"}, lines},
		{[]string{"run", "--log-level", "error", "testdata/log_sink.star"}, lines},
		{[]string{"run", "--log-level", "off", "testdata/log_sink.star"}, ""},
	} {
		stdout, stderr, code := rayvens(t, tt.args...)
		require.Equal(t, 0, code, stderr)
		require.Empty(t, stdout)
		require.Equal(t, tt.stderr, stderr, "rayvens %v", tt.args)
	}
}

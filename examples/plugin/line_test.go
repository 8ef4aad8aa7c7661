package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// TestJSONLLineIsWhatEncodingJSONWrites: a line is byte for byte what
// json.Marshal writes for it, whatever its strings hold.
func TestJSONLLineIsWhatEncodingJSONWrites(t *testing.T) {
	type line struct {
		Body        string            `json:"body"`
		ContentType string            `json:"content_type"`
		Headers     map[string]string `json:"headers"`
	}
	for _, s := range []string{"", "4", `{"a":1}`, `back\slash`, "tab\tnew\nline\x00", "<b>&amp;</b>", "é ünï 😀", "bad \xff utf-8", "\u2028\u2029", "\x7f"} {
		for _, ev := range []sdk.Event{
			{Body: []byte(s), ContentType: "text/plain"},
			{Body: []byte("x"), ContentType: s},
			{Headers: map[string]string{s: "v", "b": s, "a": ""}},
		} {
			headers := ev.Headers
			if headers == nil {
				headers = map[string]string{}
			}
			want, err := json.Marshal(line{Body: string(ev.Body), ContentType: ev.ContentType, Headers: headers})
			require.NoError(t, err)
			require.Equal(t, string(want)+"\n", string(appendLine(nil, ev)), "%q", s)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// A connector is tested in process with plugins/sdk/sdktest: configs are
// validated as the host validates them, and events cross the wire's
// encoding, as they do when rayvens runs the plugin.

func TestDiceRollsCountTimes(t *testing.T) {
	src := sdktest.NewSource(t, diceSource, map[string]any{"period": 0, "count": 100})
	var rolls sdktest.Collector
	require.NoError(t, sdktest.Run(t, src, rolls.Emit).Wait(), "the source ends after count rolls")
	require.Equal(t, 100, rolls.Len())
	for _, ev := range rolls.Events() {
		n, err := strconv.Atoi(string(ev.Body))
		require.NoError(t, err)
		require.Equal(t, "text/plain", ev.ContentType)
		require.True(t, 1 <= n && n <= 6, n)
	}
}

func TestDiceRefusesNoSides(t *testing.T) {
	_, err := sdktest.OpenSource(diceSource, map[string]any{"sides": 0})
	require.EqualError(t, err, "dice-source: a die has at least one side")
	_, err = sdktest.Validate(diceSource, map[string]any{"sides": "six"})
	require.EqualError(t, err, `dice-source: parameter "sides" must be an integer, got string`)
}

func TestJSONLAppendsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rolls.jsonl")
	sink := sdktest.NewSink(t, jsonlSink, map[string]any{"path": path})
	require.NoError(t, sdktest.Write(t, sink,
		sdk.Event{Body: []byte("4"), ContentType: "text/plain"},
		sdk.Event{Body: []byte(`{"a":1}`), ContentType: "application/json", Headers: map[string]string{"CamelFileName": "a.json"}},
	))
	require.NoError(t, sdktest.Write(t, sink, sdk.Event{Body: []byte("6")}))

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, `{"body":"4","content_type":"text/plain","headers":{}}
{"body":"{\"a\":1}","content_type":"application/json","headers":{"CamelFileName":"a.json"}}
{"body":"6","content_type":"","headers":{}}
`, string(got))
}

// TestJSONLCutsAPartialLine: a sink opened on a file that a crashed writer
// left with half a line cuts that half off and says so; the lines before it
// stay, and new lines start on a line of their own.
func TestJSONLCutsAPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rolls.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{\"body\":\"1\"}\n{\"body\":\"2\",\"cont"), 0o644))
	var log sdktest.Log
	sink := sdktest.NewSink(t, jsonlSink, map[string]any{"path": path}, sdktest.LogTo(&log))
	require.NoError(t, sdktest.Write(t, sink, sdk.Event{Body: []byte("2")}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "{\"body\":\"1\"}\n{\"body\":\"2\",\"content_type\":\"\",\"headers\":{}}\n", string(got))
	require.Contains(t, log.String(), "cut off a partial last line left by a crash")
}

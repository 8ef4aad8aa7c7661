package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// A connector is tested by calling its New and Run or Write directly, with
// a config made by sdk.NewConfig (values as the host passes them: strings,
// int64, float64, bool).
var discard = slog.New(slog.DiscardHandler)

func TestDiceRollsCountTimes(t *testing.T) {
	src, err := newDice(sdk.NewConfig(map[string]any{"period": int64(0), "sides": int64(6), "count": int64(100)}), discard)
	require.NoError(t, err)
	var rolls []int
	emit := func(_ context.Context, ev sdk.Event) error {
		n, err := strconv.Atoi(string(ev.Body))
		require.NoError(t, err)
		require.Equal(t, "text/plain", ev.ContentType)
		rolls = append(rolls, n)
		return nil
	}
	require.NoError(t, src.Run(t.Context(), emit))
	require.Len(t, rolls, 100)
	for _, n := range rolls {
		require.True(t, 1 <= n && n <= 6, n)
	}
}

func TestDiceRefusesNoSides(t *testing.T) {
	_, err := newDice(sdk.NewConfig(map[string]any{"period": int64(0), "sides": int64(0)}), discard)
	require.EqualError(t, err, "dice-source: a die has at least one side")
}

func TestJSONLAppendsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rolls.jsonl")
	sink, err := newJSONL(sdk.NewConfig(map[string]any{"path": path}), discard)
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, sink.Write(ctx, []sdk.Event{
		{Body: []byte("4"), ContentType: "text/plain"},
		{Body: []byte(`{"a":1}`), ContentType: "application/json", Headers: map[string]string{"CamelFileName": "a.json"}},
	}))
	require.NoError(t, sink.Write(ctx, []sdk.Event{{Body: []byte("6")}}))
	require.NoError(t, sink.(*jsonl).Close())

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, `{"body":"4","content_type":"text/plain","headers":{}}
{"body":"{\"a\":1}","content_type":"application/json","headers":{"CamelFileName":"a.json"}}
{"body":"6","content_type":"","headers":{}}
`, string(got))
}

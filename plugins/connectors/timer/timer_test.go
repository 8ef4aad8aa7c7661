package timer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

func TestRepeatCountEndsTheSource(t *testing.T) {
	src := sdktest.NewSource(t, Kind, map[string]any{"message": "tick", "period": 1, "repeatCount": 3})
	var c sdktest.Collector
	require.NoError(t, sdktest.Run(t, src, c.Emit).Wait(), "the source ends by itself")
	require.Len(t, c.Events(), 3)
	for _, ev := range c.Events() {
		require.Equal(t, "tick", string(ev.Body))
		require.Equal(t, "text/plain", ev.ContentType)
	}
}

// TestRepeatCountIsPerRun: reopened after its plugin process died, the
// source emits only what the host has not taken yet, so repeatCount holds
// for the run.
func TestRepeatCountIsPerRun(t *testing.T) {
	for taken, want := range map[uint64]int{0: 5, 2: 3, 5: 0, 7: 0} {
		src := sdktest.NewSource(t, Kind, map[string]any{"message": "tick", "period": 0, "repeatCount": 5}, sdktest.Reopened(taken))
		var c sdktest.Collector
		require.NoError(t, sdktest.Run(t, src, c.Emit).Wait(), "the source ends by itself")
		require.Len(t, c.Events(), want, "%d taken before", taken)
	}
	src := sdktest.NewSource(t, Kind, map[string]any{"message": "tick", "period": 0}, sdktest.Reopened(1_000))
	var c sdktest.Collector
	r := sdktest.Run(t, src, c.Emit)
	c.Wait(t, 10)
	require.NoError(t, r.Stop(), "without repeatCount it runs until stopped, however many were taken")
}

func TestRunsUntilStopped(t *testing.T) {
	src := sdktest.NewSource(t, Kind, map[string]any{"message": `{"a":1}`, "period": 1, "content_type": "application/json"})
	var c sdktest.Collector
	r := sdktest.Run(t, src, c.Emit)
	events := c.Wait(t, 5)
	require.NoError(t, r.Stop())
	require.Equal(t, "application/json", events[0].ContentType)
}

func TestPeriodZeroFloods(t *testing.T) {
	src := sdktest.NewSource(t, Kind, map[string]any{"message": "m", "period": 0, "repeat_count": 10_000})
	var c sdktest.Collector
	require.NoError(t, sdktest.Run(t, src, c.Emit).Wait())
	require.Equal(t, 10_000, c.Len())
}

func TestParameters(t *testing.T) {
	_, err := sdktest.Validate(Kind, map[string]any{"period": 5})
	require.EqualError(t, err, `timer-source: missing required parameter "message"`)
	_, err = sdktest.OpenSource(Kind, map[string]any{"message": "m", "period": -1})
	require.EqualError(t, err, `timer-source: parameter "period" must not be negative`)
	values, err := sdktest.Validate(Kind, map[string]any{"message": "m"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"message": "m", "period": int64(1000), "contentType": "text/plain"}, values)
}

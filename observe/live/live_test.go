package live

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func snapshot(in float64, pending int64) Snapshot {
	return Snapshot{Uptime: 3 * time.Second, Streams: []Stream{
		{Name: "orders", InRate: in, OutRate: in - 1, Appended: 300, Delivered: 297, Pending: pending},
		{Name: "priced", InRate: 4.25, OutRate: 4, Appended: 50, Delivered: 49, Dropped: 7, Errors: 2, Pending: 1,
			Sinks: []Sink{{Name: "slack", Acked: 49, Retries: 3}}},
	}}
}

func TestWithoutATerminalALinePerStream(t *testing.T) {
	var b bytes.Buffer
	v := New(&b, false, nil)
	v.Draw(snapshot(120, 3))
	require.Equal(t, "rayvens: stats: orders: in 120/s, out 119/s, pending 3, errors 0, dropped 0\n"+
		"rayvens: stats: priced: in 4.2/s, out 4.0/s, pending 1, errors 2, dropped 7; sink slack: acked 49, retries 3\n", b.String())
	require.NotContains(t, b.String(), "\x1b", "no escape sequence without a terminal")

	var out bytes.Buffer
	require.Same(t, &out, v.Wrap(&out).(*bytes.Buffer), "output goes straight through")

	b.Reset()
	v.Summary(snapshot(0, 0))
	require.Equal(t, "rayvens: stats: after 3s:\n"+
		"rayvens: stats:   orders: appended 300, delivered 297, dropped 0, errors 0, pending 0\n"+
		"rayvens: stats:   priced: appended 50, delivered 49, dropped 7, errors 2, pending 1; sink slack: acked 49, retries 3\n", b.String())
}

// screen plays what a terminal does with the bytes the view writes (the
// escapes it uses: cursor up, carriage return, clear to the end of the
// screen or the line) and returns the lines left on screen.
func screen(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	row, col := 0, 0
	put := func(r rune) {
		for len(lines) <= row {
			lines = append(lines, "")
		}
		l := []rune(lines[row])
		for len(l) < col {
			l = append(l, ' ')
		}
		if col < len(l) {
			l[col] = r
		} else {
			l = append(l, r)
		}
		lines[row] = string(l)
		col++
	}
	esc := regexp.MustCompile(`^\x1b\[(\d*)([AJK])`)
	for i := 0; i < len(out); {
		if m := esc.FindStringSubmatch(out[i:]); m != nil {
			n, _ := strconv.Atoi(m[1])
			switch m[2] {
			case "A":
				row -= n
				require.GreaterOrEqual(t, row, 0, "the cursor went above the screen")
			case "J":
				if row < len(lines) {
					lines = append(lines[:row], string([]rune(lines[row])[:min(col, len([]rune(lines[row])))]))
				}
			case "K":
				if row < len(lines) && col < len([]rune(lines[row])) {
					lines[row] = string([]rune(lines[row])[:col])
				}
			}
			i += len(m[0])
			continue
		}
		require.NotEqual(t, byte('\x1b'), out[i], "an escape the view should not use: %q", out[i:min(i+6, len(out))])
		switch out[i] {
		case '\n':
			row, col = row+1, 0
		case '\r':
			col = 0
		default:
			r := []rune(out[i:])[0]
			put(r)
			i += len(string(r))
			continue
		}
		i++
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func TestUnderATerminalTheTableIsRedrawnInPlace(t *testing.T) {
	var b bytes.Buffer
	v := New(&b, true, func() int { return 200 })
	print := v.Wrap(&b)
	v.Draw(snapshot(120, 3))
	_, err := print.Write([]byte("hello from the script\n"))
	require.NoError(t, err)
	v.Draw(snapshot(250, 9))
	_, err = print.Write([]byte("no newline"))
	require.NoError(t, err)

	want := []string{
		"hello from the script",
		"no newline",
		"rayvens: up 3s",
		"STREAM  IN/S  OUT/S  PENDING  ERRORS  DROPPED  SINKS",
		"orders   250    249        9       0        0",
		"priced   4.2    4.0        1       2        7  slack acked 49 retries 3",
	}
	require.Equal(t, want, screen(t, b.String()), "the prints stay above one table, the latest")

	v.Summary(snapshot(0, 0))
	got := screen(t, b.String())
	require.Equal(t, []string{
		"hello from the script",
		"no newline",
		"rayvens: stats: after 3s:",
		"rayvens: stats:   orders: appended 300, delivered 297, dropped 0, errors 0, pending 0",
		"rayvens: stats:   priced: appended 50, delivered 49, dropped 7, errors 2, pending 1; sink slack: acked 49, retries 3",
	}, got, "the summary replaces the table")
}

func TestLinesAreCutToTheTerminal(t *testing.T) {
	var b bytes.Buffer
	v := New(&b, true, func() int { return 30 })
	v.Draw(snapshot(120, 3))
	for _, l := range screen(t, b.String()) {
		require.Less(t, len([]rune(l)), 30, "%q", l)
	}
	require.True(t, strings.HasPrefix(screen(t, b.String())[1], "STREAM  IN/S"))
}

// TestLongReadsShowTheirProgress: a source's long read is a line under
// the table, and part of its stream's line without a terminal; a read of
// unknown size shows only what was read.
func TestLongReadsShowTheirProgress(t *testing.T) {
	s := snapshot(120, 3)
	s.Streams[0].Reads = []Read{
		{Source: "s3-source-orders", Item: "2026/12/orders.csv", Done: 12 << 20, Total: 48 << 20},
		{Source: "s3-source-orders", Item: "stream.bin", Done: 1536},
	}

	var b bytes.Buffer
	New(&b, false, nil).Draw(s)
	require.Equal(t, "rayvens: stats: orders: in 120/s, out 119/s, pending 3, errors 0, dropped 0"+
		"; s3-source-orders reading 2026/12/orders.csv: 12 MiB of 48 MiB (25%)"+
		"; s3-source-orders reading stream.bin: 1.5 KiB\n"+
		"rayvens: stats: priced: in 4.2/s, out 4.0/s, pending 1, errors 2, dropped 7; sink slack: acked 49, retries 3\n", b.String())

	b.Reset()
	v := New(&b, true, func() int { return 200 })
	v.Draw(s)
	require.Equal(t, []string{
		"rayvens: up 3s",
		"STREAM  IN/S  OUT/S  PENDING  ERRORS  DROPPED  SINKS",
		"orders   120    119        3       0        0",
		"priced   4.2    4.0        1       2        7  slack acked 49 retries 3",
		"orders  s3-source-orders reading 2026/12/orders.csv: 12 MiB of 48 MiB (25%)",
		"orders  s3-source-orders reading stream.bin: 1.5 KiB",
	}, screen(t, b.String()))

	s.Streams[0].Reads = nil
	v.Draw(s)
	require.Len(t, screen(t, b.String()), 4, "a read that ended leaves the screen")
}

package starlark_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
	rstarlark "github.com/rayvens/rayvens/starlark"
)

// writeFiles writes name -> text under a new folder and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	return dir
}

// outcome is what a test's result says, in short: "pass", or the line,
// the kind ("fail" or "error") and the message.
func outcomes(f *rstarlark.TestFile) map[string]string {
	out := map[string]string{}
	for _, r := range f.Tests {
		switch {
		case r.Err == nil:
			out[r.Name] = "pass"
		case r.Broke:
			out[r.Name] = "error at " + r.Pos.String() + ": " + r.Err.Msg
		default:
			out[r.Name] = "fail at " + r.Pos.String() + ": " + r.Err.Msg
		}
	}
	return out
}

// TestRunTestsAssert: each assertion passes when it holds and otherwise
// fails the test at its line with a message that shows the values; an
// error that is not an assertion's is reported as an error.
func TestRunTestsAssert(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a_test.star": `
def test_pass():
    assert.eq(1 + 1, 2)
    assert.ne(1, 2)
    assert.true([1])
    assert.contains([1, 2], 2)
    assert.contains("abc", "b")
    assert.eq(assert.fails(lambda: 1 // 0, "division"), "floored division by zero")

def test_eq():
    assert.eq(3, 4)

def test_eq_msg():
    assert.eq("a", "b", "the letter")

def test_ne():
    assert.ne([1], [1])

def test_true():
    assert.true(0)

def test_contains():
    assert.contains([1], 2)

def test_fails_not():
    assert.fails(lambda: None, "x")

def test_fails_other():
    assert.fails(lambda: {}["k"], "division")

def helper():
    return {}["k"]

def test_error():
    helper()
`})
	f := rstarlark.RunTests(context.Background(), filepath.Join(dir, "a_test.star"), rstarlark.TestOptions{})
	require.NoError(t, f.Err)
	file := filepath.Join(dir, "a_test.star")
	require.Equal(t, map[string]string{
		"test_pass":        "pass",
		"test_eq":          "fail at " + file + ":11:14: assert.eq: 3 != 4",
		"test_eq_msg":      "fail at " + file + ":14:14: assert.eq: \"a\" != \"b\": the letter",
		"test_ne":          "fail at " + file + ":17:14: assert.ne: [1] == [1]",
		"test_true":        "fail at " + file + ":20:16: assert.true: 0 is not true",
		"test_contains":    "fail at " + file + ":23:20: assert.contains: 2 not in [1]",
		"test_fails_not":   "fail at " + file + ":26:17: assert.fails: lambda did not fail",
		"test_fails_other": "fail at " + file + ":29:17: assert.fails: lambda failed with \"key \\\"k\\\" not in dict\", which does not match \"division\"",
		"test_error":       "error at " + file + ":32:14: key \"k\" not in dict",
	}, outcomes(f))
	require.True(t, f.Failed())
	// The tests ran in the order of the file, and an error keeps its
	// whole backtrace, outermost first.
	var names []string
	for _, r := range f.Tests {
		names = append(names, r.Name)
	}
	require.Equal(t, []string{"test_pass", "test_eq", "test_eq_msg", "test_ne", "test_true", "test_contains", "test_fails_not", "test_fails_other", "test_error"}, names)
	last := f.Tests[len(f.Tests)-1]
	require.Len(t, last.Err.Backtrace, 2)
	require.Equal(t, "test_error", last.Err.Backtrace[0].Name)
	require.Equal(t, "helper", last.Err.Backtrace[1].Name)
}

// TestRunTestsFreshRuns: every test runs the file's top level (and its
// loads) in a run of its own, so a stream of the top level, and what a
// loaded module counts, start afresh; collect sees what a stream delivers
// after it, drain waits for actors and batches; print output is kept per
// test; Match picks tests by name.
func TestRunTestsFreshRuns(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"lib.star": `
def double(e):
    return 2 * e

def init():
    return {"sum": 0}

def add(state, e):
    state["sum"] += e
    return state["sum"]
`,
		"b_test.star": `
load("lib.star", "double", "init", "add")

numbers = Stream("numbers")
doubled = collect(numbers >> double)

def test_first():
    print("first")
    numbers << 1 << 2
    drain()
    assert.eq(doubled, [2, 4])
    assert.eq(len(doubled), 2)
    assert.eq(doubled[1], 4)
    assert.eq(list(doubled), [2, 4])

def test_second():
    print("second")
    numbers << 5
    drain()
    assert.eq(doubled, [10])

def test_actor_and_batch():
    s = Stream("s")
    sums = collect(s >> Actor(add, init = init))
    b = Stream("b", batch_size = 2, batch_timeout = 60)
    batches = collect(b)
    s << 1 << 2 << 3
    b << 1 << 2 << 3
    drain()
    assert.eq(sums, [1, 3, 6])
    assert.eq(batches, [[1, 2], [3]])
`,
	})
	file := filepath.Join(dir, "b_test.star")
	f := rstarlark.RunTests(context.Background(), file, rstarlark.TestOptions{})
	require.NoError(t, f.Err)
	require.Equal(t, map[string]string{"test_first": "pass", "test_second": "pass", "test_actor_and_batch": "pass"}, outcomes(f))
	require.Equal(t, "first\n", f.Tests[0].Output)
	require.Equal(t, "second\n", f.Tests[1].Output)

	f = rstarlark.RunTests(context.Background(), file, rstarlark.TestOptions{Match: regexp.MustCompile("sec")})
	require.Equal(t, map[string]string{"test_second": "pass"}, outcomes(f))
}

// fakeTestConnectors validates configs against a catalog of one kind per
// direction, each with a required parameter; opening a real connector is
// counted, so that a test can show fakes open none. Its source never ends.
type fakeTestConnectors struct {
	catalog *camel.Catalog
	opened  atomic.Int32
}

func newFakeTestConnectors(t *testing.T) *fakeTestConnectors {
	catalog, err := camel.NewCatalog(
		camel.Kind{Name: "quote-source", Direction: camel.Source, Description: "quotes", Params: []camel.Param{{Name: "url", Type: camel.String, Required: true, Description: "where"}}},
		camel.Kind{Name: "chat-sink", Direction: camel.Sink, Description: "chat", Params: []camel.Param{{Name: "token", Type: camel.String, Required: true, Secret: true, Description: "secret"}}},
	)
	require.NoError(t, err)
	return &fakeTestConnectors{catalog: catalog}
}

func (c *fakeTestConnectors) Check(_ context.Context, kind string, dir camel.Direction, config map[string]any) error {
	_, err := c.catalog.Validate(kind, dir, config)
	return err
}

func (c *fakeTestConnectors) OpenSource(context.Context, string, string, map[string]any) (engine.Source, error) {
	c.opened.Add(1)
	return engine.SourceFunc(func(ctx context.Context, _ func(context.Context, engine.Event) error) error {
		<-ctx.Done()
		return nil
	}), nil
}

func (c *fakeTestConnectors) OpenSink(context.Context, string, string, map[string]any, camel.Encoder) (engine.Sink, error) {
	c.opened.Add(1)
	return nil, errors.New("no real sink in this test")
}

// TestRunTestsFakes: fake_source emits its events when the source starts
// and ends; fake_sink records what reaches it; fake_connectors makes every
// later connector config a stand-in, checked with the real validation,
// fed by stream name, observed with sink_events, even in a script run
// with run_script; no real connector opens.
func TestRunTestsFakes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"app.star": `
quotes = Stream("quotes", source_config = dict(kind = "quote-source", url = argv[0]))
chat = Stream("chat", sink_config = dict(kind = "chat-sink", token = "s3cr3t"))
quotes >> (lambda q: "price " + q) >> chat
`,
		"c_test.star": `
def test_fake_source_and_sink():
    out = fake_sink()
    s = Stream("s", source_config = fake_source(["a", "b"]))
    s >> (lambda e: e.upper()) >> Stream("o", sink_config = out)
    seen = collect(s)
    assert.eq(out, [], "nothing before the sources start")
    drain()
    assert.eq(seen, ["a", "b"])
    assert.eq(out, ["A", "B"])
    assert.contains(out, "B")

def test_add_source_and_sink():
    s = Stream("s")
    out = fake_sink()
    s.add_sink(out)
    s.add_source(fake_source([1, 2]))
    drain()
    assert.eq(out, [1, 2])

def test_fake_connectors():
    fake_connectors(sources = {"quotes": ["1", "2"]})
    app = run_script("app.star", "http://example.com/q")
    drain()
    assert.eq(sink_events("chat"), ["price 1", "price 2"])
    assert.eq(app.quotes.name, "quotes")

def test_headers():
    fake_connectors(sources = {"quotes": [OutputEvent("1", headers = {"symbol": "AAPL"})]})
    q = collect(Stream("quotes", source_config = dict(kind = "quote-source", url = "u", with_headers = True)))
    drain()
    assert.eq([(m.body, m.headers["symbol"]) for m in q], [("1", "AAPL")])

def test_validation():
    fake_connectors()
    Stream("chat", sink_config = dict(kind = "chat-sink", tokn = "x"))

def test_unencodable():
    s = Stream("s", sink_config = fake_sink())
    s << struct(f = lambda: 1)
`,
	})
	conns := newFakeTestConnectors(t)
	file := filepath.Join(dir, "c_test.star")
	f := rstarlark.RunTests(context.Background(), file, rstarlark.TestOptions{Options: rstarlark.Options{Connectors: conns}})
	require.NoError(t, f.Err)
	got := outcomes(f)
	require.Equal(t, "pass", got["test_fake_source_and_sink"])
	require.Equal(t, "pass", got["test_add_source_and_sink"])
	require.Equal(t, "pass", got["test_fake_connectors"])
	require.Equal(t, "pass", got["test_headers"])
	require.Equal(t, "error at "+file+":36:11: in Stream: chat-sink: unknown parameter \"tokn\" (did you mean \"token\"?)", got["test_validation"])
	require.Contains(t, got["test_unencodable"], "error at "+file+":38:1")
	require.Contains(t, f.Tests[5].Output, "cannot send a struct to a sink")
	require.Zero(t, conns.opened.Load(), "no real connector opened")
	for _, r := range f.Tests {
		require.NotContains(t, r.Output, "s3cr3t")
	}
}

// TestRunTestsPipelineBusy: drain gives up after its timeout, naming the
// sources still connected; a pipeline that is still busy after the test
// returned fails the test too, as does a subscriber that failed.
func TestRunTestsPipelineBusy(t *testing.T) {
	dir := writeFiles(t, map[string]string{"d_test.star": `
def test_drain():
    Stream("q", source_config = dict(kind = "quote-source", url = "u"))
    drain(timeout = 0.2)

def test_after():
    Stream("q", source_config = dict(kind = "quote-source", url = "u"))

def test_subscriber():
    s = Stream("s")
    s >> (lambda e: 1 // e)
    s << 0 << 1
`})
	file := filepath.Join(dir, "d_test.star")
	f := rstarlark.RunTests(context.Background(), file, rstarlark.TestOptions{
		Options:   rstarlark.Options{Connectors: newFakeTestConnectors(t), DrainTimeout: time.Second},
		DrainWait: 200 * time.Millisecond,
	})
	require.NoError(t, f.Err)
	require.Equal(t, map[string]string{
		"test_drain":      "error at " + file + ":4:10: drain: the pipeline was still busy after 200ms: 0 events in flight; sources still connected: q-quote-source (stream \"q\")",
		"test_after":      "error at " + file + ":6:1: the pipeline was still busy 200ms after the test returned (a source that never ends? fake it, or disconnect it)",
		"test_subscriber": "error at " + file + ":9:1: the test's pipeline had 1 failure (reported above)",
	}, outcomes(f))
	require.True(t, strings.HasPrefix(f.Tests[2].Output, file+":11:23: stream \"s\": subscriber \"lambda\": floored division by zero"), f.Tests[2].Output)
}

// TestRunTestsBadFile: a file that does not load is an error with its
// position, and no test runs.
func TestRunTestsBadFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"e_test.star": "def test_x(:\n    pass\n", "f_test.star": "x = 1 // 0\ndef test_y():\n    pass\n"})
	f := rstarlark.RunTests(context.Background(), filepath.Join(dir, "e_test.star"), rstarlark.TestOptions{})
	require.EqualError(t, f.Err, filepath.Join(dir, "e_test.star")+":1:13: got ':', want ')'")
	require.Empty(t, f.Tests)
	f = rstarlark.RunTests(context.Background(), filepath.Join(dir, "f_test.star"), rstarlark.TestOptions{})
	require.EqualError(t, f.Err, filepath.Join(dir, "f_test.star")+":1:7: floored division by zero")
	require.True(t, f.Failed())
}

// TestRunTestsTimeout: a test that does not finish within the timeout
// fails, and the next test still runs.
func TestRunTestsTimeout(t *testing.T) {
	dir := writeFiles(t, map[string]string{"g_test.star": "def test_loop():\n    while True:\n        pass\n\ndef test_next():\n    pass\n\ndef test_script_loops():\n    run_script(\"loop.star\")\n",
		"loop.star": "while True:\n    pass\n"})
	file := filepath.Join(dir, "g_test.star")
	f := rstarlark.RunTests(context.Background(), file, rstarlark.TestOptions{Timeout: 300 * time.Millisecond})
	require.NoError(t, f.Err)
	require.Equal(t, map[string]string{
		"test_loop":         "error at " + file + ":1:1: the test did not finish within 300ms",
		"test_next":         "pass",
		"test_script_loops": "error at " + file + ":8:1: the test did not finish within 300ms",
	}, outcomes(f))
}

package postgresql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
	"github.com/rayvens/rayvens/plugins/sdk"
	"github.com/rayvens/rayvens/plugins/sdk/sdktest"
)

// accounts makes the table the source tests poll, with n rows.
func accounts(p *peer, n int) {
	p.exec("CREATE TABLE accounts (user_id serial PRIMARY KEY, username text, city text)")
	for i := 1; i <= n; i++ {
		p.exec("INSERT INTO accounts (username, city) VALUES ($1, $2)", fmt.Sprint("user", i), "Paris")
	}
}

func polling(p *peer, more ...any) map[string]any {
	return p.config(append([]any{"query", "SELECT * FROM accounts ORDER BY user_id",
		"consumedQuery", "DELETE FROM accounts WHERE user_id = :#user_id", "delay", 10}, more...)...)
}

func rowJSON(i int) string {
	return fmt.Sprintf(`{"user_id":%d,"username":"user%d","city":"Paris"}`, i, i)
}

func bodies(events []sdk.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, string(ev.Body))
	}
	return out
}

// short makes a source's waits short for a test.
func short(src sdk.Source) sdk.Source {
	s := src.(*source)
	s.drainWait, s.firstWait, s.maxWait = 200e6, 20e6, 200e6
	return src
}

func sourceEmitsAndConsumesRows(t *testing.T, p *peer) {
	accounts(p, 3)
	src := sdktest.NewSource(t, SourceKind, polling(p))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	events := c.Wait(t, 3)
	require.Equal(t, []string{rowJSON(1), rowJSON(2), rowJSON(3)}, bodies(events))
	require.Equal(t, "application/json", events[0].ContentType)
	require.Equal(t, map[string]string{"CamelBatchIndex": "2", "CamelBatchSize": "3"}, events[2].Headers)
	require.Eventually(t, func() bool { return len(p.strings("SELECT username FROM accounts")) == 0 }, 10e9, 10e6,
		"each row is consumed once its event is done")

	// A row added later is the next event: none of the first was
	// emitted again by the polls in between.
	p.exec("INSERT INTO accounts (username, city) VALUES ('user4', 'Paris')")
	require.Equal(t, []string{rowJSON(1), rowJSON(2), rowJSON(3), rowJSON(4)}, bodies(c.Wait(t, 4)))
	require.Eventually(t, func() bool { return len(p.strings("SELECT username FROM accounts")) == 0 }, 10e9, 10e6)
	require.Equal(t, 4, c.Len())
}

// TestSourceActsOnlyOnOutcomes: a row is consumed only once its event is
// done; until its outcome comes it is not emitted again; a failed one is
// left in the table and not emitted again; one the host never took is
// emitted again.
func sourceActsOnlyOnOutcomes(t *testing.T, p *peer) {
	accounts(p, 3)
	src := short(sdktest.NewSource(t, SourceKind, polling(p)))
	c := sdktest.Collector{Hold: true}
	sdktest.Run(t, src, c.Emit)
	events := c.Wait(t, 3)
	marker := func(i int) {
		p.exec("INSERT INTO accounts (username, city) VALUES ($1, 'Paris')", fmt.Sprint("user", i))
	}

	marker(4) // polls go on; the three held rows are not emitted again
	require.Equal(t, []string{rowJSON(1), rowJSON(2), rowJSON(3), rowJSON(4)}, bodies(c.Wait(t, 4)))
	require.Equal(t, []string{"user1", "user2", "user3", "user4"}, p.strings("SELECT username FROM accounts ORDER BY user_id"),
		"nothing is consumed before its event is done")

	events[0].Ack(nil)
	require.Eventually(t, func() bool { return len(p.strings("SELECT username FROM accounts")) == 3 }, 10e9, 10e6)
	require.Equal(t, []string{"user2", "user3", "user4"}, p.strings("SELECT username FROM accounts ORDER BY user_id"))

	events[1].Ack(&sdk.FailedError{Reason: "subscriber failed"})
	events[2].Ack(fmt.Errorf("the source instance closed before the host accepted the event"))
	all := c.Wait(t, 5)
	require.Equal(t, rowJSON(3), string(all[4].Body), "the row the host never took is emitted again")
	marker(5)
	all = c.Wait(t, 6)
	require.Equal(t, rowJSON(5), string(all[5].Body), "the failed row is not emitted again")
	require.Equal(t, []string{"user2", "user3", "user4", "user5"}, p.strings("SELECT username FROM accounts ORDER BY user_id"),
		"the failed row stays in the table")
}

// TestSourceCrashAndRestart: an instance stops with rows emitted but not
// done; a new instance emits them again, and nothing is lost or consumed
// before its event is done.
func sourceCrashAndRestart(t *testing.T, p *peer) {
	accounts(p, 4)
	first := short(sdktest.NewSource(t, SourceKind, polling(p)))
	held := sdktest.Collector{Hold: true}
	run := sdktest.Run(t, first, held.Emit)
	events := held.Wait(t, 4)
	events[0].Ack(nil)
	events[1].Ack(nil)
	require.Eventually(t, func() bool { return len(p.strings("SELECT username FROM accounts")) == 2 }, 10e9, 10e6)
	require.NoError(t, run.Stop(), "stopped with two rows in flight")

	second := sdktest.NewSource(t, SourceKind, polling(p), sdktest.Reopened(4))
	var c sdktest.Collector
	sdktest.Run(t, second, c.Emit)
	require.Equal(t, []string{rowJSON(3), rowJSON(4)}, bodies(c.Wait(t, 2)), "the rows not done are emitted again")
	require.Eventually(t, func() bool { return len(p.strings("SELECT username FROM accounts")) == 0 }, 10e9, 10e6)
}

// TestSourceReconnects: the server is killed and started again while the
// source polls; it polls again once the server is back.
func TestSourceReconnects(t *testing.T) {
	p := startPostgres(t)
	accounts(p, 1)
	var log sdktest.Log
	src := short(sdktest.NewSource(t, SourceKind, polling(p), sdktest.LogTo(&log)))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	c.Wait(t, 1)
	require.Eventually(t, func() bool { return len(p.strings("SELECT username FROM accounts")) == 0 }, 10e9, 10e6)

	p.kill()
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "poll failed; polling again") }, 10e9, 10e6)
	require.Contains(t, log.String(), "postgresql-source: ")
	p.start()
	p.exec("INSERT INTO accounts (user_id, username, city) VALUES (2, 'user2', 'Paris')") // a sequence jumps after a crash
	require.Equal(t, []string{rowJSON(1), rowJSON(2)}, bodies(c.Wait(t, 2)))
	require.Eventually(t, func() bool { return len(p.strings("SELECT username FROM accounts")) == 0 }, 10e9, 10e6)
}

func sourceColumnTypes(t *testing.T, p *peer) {
	p.exec(`CREATE TABLE things (id int, price numeric, ratio float8, ok bool, meta jsonb, at timestamptz, note text, nothing text, odd numeric)`)
	p.exec(`INSERT INTO things VALUES (1, 12.50, 0.25, true, '{"a": [1, 2]}', '2026-12-02 10:00:00+00', 'say "hi"', NULL, 'NaN')`)
	src := sdktest.NewSource(t, SourceKind, p.config("query", "SELECT * FROM things", "delay", 10))
	var c sdktest.Collector
	sdktest.Run(t, src, c.Emit)
	require.Equal(t, `{"id":1,"price":12.50,"ratio":0.25,"ok":true,"meta":{"a": [1, 2]},"at":"2026-12-02 10:00:00+00","note":"say \"hi\"","nothing":null,"odd":"NaN"}`,
		string(c.Wait(t, 1)[0].Body))
	// Without consumedQuery, every poll emits the rows again, as Camel's
	// sql consumer does.
	require.Equal(t, bodies(c.Wait(t, 2))[0], bodies(c.Wait(t, 2))[1])
}

func TestSourceUnreachable(t *testing.T) {
	port := testpeer.FreePort(t)
	src := sdktest.NewSource(t, SourceKind, map[string]any{"serverName": "127.0.0.1", "serverPort": fmt.Sprint(port),
		"username": "u", "password": secret, "databaseName": "d", "query": "SELECT 1"})
	var c sdktest.Collector
	err := sdktest.Run(t, src, c.Emit).Wait()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	require.EqualError(t, err, "postgresql-source: cannot reach "+addr+": dial tcp "+addr+": connect: connection refused")
}

func sourceCredentials(t *testing.T, p *peer) {
	var log sdktest.Log
	src := sdktest.NewSource(t, SourceKind, p.config("query", "SELECT 1 AS one", "password", secret+"-wrong"), sdktest.LogTo(&log))
	var c sdktest.Collector
	err := sdktest.Run(t, src, c.Emit).Wait()
	require.EqualError(t, err, "postgresql-source: "+p.addr()+` refused the credentials: FATAL: password authentication failed for user "rayvens" (SQLSTATE 28P01)`)
	require.NotContains(t, err.Error()+log.String(), secret)

	_, err = sdktest.Validate(SourceKind, p.config("query", "SELECT 1", "password", 12))
	require.EqualError(t, err, `postgresql-source: parameter "password" must be a string, got integer`)
}

func TestSourceConfigErrors(t *testing.T) {
	base := map[string]any{"serverName": "localhost", "username": "u", "password": secret, "databaseName": "d", "query": "SELECT 1"}
	with := func(k string, v any) map[string]any {
		cfg := map[string]any{}
		for n, x := range base {
			cfg[n] = x
		}
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
		return cfg
	}
	for _, tc := range []struct {
		config map[string]any
		err    string
	}{
		{with("password", nil), `postgresql-source: missing required parameter "password"`},
		{with("query", nil), `postgresql-source: missing required parameter "query"`},
		{with("serverPort", "http"), "postgresql-source: serverPort must be a port number (1 to 65535)"},
		{with("serverPort", "70000"), "postgresql-source: serverPort must be a port number (1 to 65535)"},
		{with("query", "SELECT * FROM t WHERE id = :#id"), "postgresql-source: query: :#id has no value: a poll's query takes no parameters"},
		{with("consumedQuery", "DELETE FROM t WHERE id = :#"), `postgresql-source: consumedQuery: ":#" at byte 25 is not followed by a parameter name (letters, digits, _)`},
		{with("delay", 0), "postgresql-source: delay must be at least 1 millisecond, got 0"},
	} {
		_, err := sdktest.OpenSource(SourceKind, tc.config)
		require.EqualError(t, err, tc.err)
		require.NotContains(t, err.Error(), secret)
	}
	values, err := sdktest.Validate(SourceKind, base)
	require.NoError(t, err)
	require.Equal(t, "5432", values["serverPort"])
	require.Equal(t, int64(500), values["delay"], "the Kamelet's defaults")
}

func sourceConsumedQueryColumns(t *testing.T, p *peer) {
	accounts(p, 1)
	src := sdktest.NewSource(t, SourceKind, polling(p, "consumedQuery", "DELETE FROM accounts WHERE id = :#id"))
	var c sdktest.Collector
	err := sdktest.Run(t, src, c.Emit).Wait()
	require.EqualError(t, err, "postgresql-source: consumedQuery: :#id is not a column of the query's rows (user_id, username, city)")
	require.Zero(t, c.Len())
}

// sourceConsumedQueryFails: the rows done together are consumed together;
// when consumedQuery fails for one of them, the others are still
// consumed, and only that row is emitted again.
func sourceConsumedQueryFails(t *testing.T, p *peer) {
	accounts(p, 3)
	src := short(sdktest.NewSource(t, SourceKind, polling(p, "consumedQuery", "DELETE FROM accounts WHERE user_id = :#user_id AND 1 / (user_id - 2) <> 0")))
	c := sdktest.Collector{Hold: true}
	sdktest.Run(t, src, c.Emit)
	for _, ev := range c.Wait(t, 3) {
		ev.Ack(nil)
	}
	require.Equal(t, rowJSON(2), string(c.Wait(t, 4)[3].Body), "the row its consumedQuery failed on is emitted again")
	require.Equal(t, []string{"user2"}, p.strings("SELECT username FROM accounts"))
	c.Wait(t, 4)[3].Ack(&sdk.FailedError{Reason: "done with it"})
}

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

const insert = "INSERT INTO people (id, name, city, age, active, meta) VALUES (:#id, :#name, :#city, :#age, :#active, :#meta)"

func people(p *peer) {
	p.exec("CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, city text, age int CHECK (age >= 0), active bool, meta jsonb)")
}

func person(id int, name string) sdk.Event {
	return sdk.Event{Body: fmt.Appendf(nil, `{"id": %d, "name": %q, "city": "Oslo", "age": 30, "active": true, "meta": {"k": [1]}}`, id, name)}
}

// table lists the rows of people as text, by id.
func table(p *peer) []string {
	return p.strings("SELECT concat_ws('|', id, name, city, age, active, meta) FROM people ORDER BY id")
}

func sinkInserts(t *testing.T, p *peer) {
	people(p)
	s := sdktest.NewSink(t, SinkKind, p.config("query", insert))
	require.NoError(t, sdktest.Write(t, s, person(1, "Ada"), person(2, "Grace"),
		sdk.Event{Body: []byte(`{"id": "3", "name": "Linus", "city": null, "age": 7, "active": false, "meta": null}`)},
		// A field the body lacks comes from the header of that name.
		sdk.Event{Body: []byte(`{"id": 4, "name": "Ken", "age": 80, "active": true, "meta": {}}`), Headers: map[string]string{"city": "Murray Hill"}},
	))
	require.Equal(t, []string{`1|Ada|Oslo|30|t|{"k": [1]}`, `2|Grace|Oslo|30|t|{"k": [1]}`, `3|Linus|7|f`, `4|Ken|Murray Hill|80|t|{}`}, table(p))
}

// TestSinkFailsOneEvent: an event the database refuses, or that does not
// fill the query, fails alone: those before it are committed, those after
// it are sent again.
func sinkFailsOneEvent(t *testing.T, p *peer) {
	people(p)
	s := sdktest.NewSink(t, SinkKind, p.config("query", insert))
	require.NoError(t, sdktest.Write(t, s, person(1, "Ada")))

	err := sdktest.Write(t, s, person(2, "Grace"), person(1, "Ada again"), person(3, "Linus"))
	require.EqualError(t, err, "postgresql-sink: "+p.addr()+` refused an event: ERROR: duplicate key value violates unique constraint "people_pkey" (SQLSTATE 23505)`)
	require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err))
	require.Equal(t, []string{`1|Ada|Oslo|30|t|{"k": [1]}`, `2|Grace|Oslo|30|t|{"k": [1]}`}, table(p), "the event before it is committed, none after")

	for body, msg := range map[string]string{
		`{"id": 5, "name": "x", "city": "c", "age": -1, "active": true, "meta": null}`:    `refused an event: ERROR: new row for relation "people" violates check constraint "people_age_check" (SQLSTATE 23514)`,
		`{"id": 5, "name": "x", "city": "c", "age": "old", "active": true, "meta": null}`: `refused an event: ERROR: invalid input syntax for type integer: "old" (SQLSTATE 22P02)`,
		`{"id": 5, "name": "x"}`: `postgresql-sink: an event has no field "city" for :#city`,
		`not json`:               `postgresql-sink: an event is not a JSON object: not json`,
		`[1, 2]`:                 `postgresql-sink: an event is not a JSON object: [1, 2]`,
	} {
		err := sdktest.Write(t, s, person(3, "Linus"), sdk.Event{Body: []byte(body)}, person(4, "Ken"))
		require.ErrorContains(t, err, msg, body)
		require.Equal(t, []sdktest.Outcome{sdktest.Written, sdktest.Failed, sdktest.Resent}, sdktest.Outcomes(3, err), body)
		p.exec("DELETE FROM people WHERE id = 3")
	}
	require.Len(t, table(p), 2)
}

// TestSinkSurvivesARestart: what the sink acknowledged is in the table
// after the server is killed and started again; a write while it is down
// is an error (the host sends the batch again), and is written once the
// server is back.
func TestSinkSurvivesARestart(t *testing.T) {
	p := startPostgres(t)
	people(p)
	s := sdktest.NewSink(t, SinkKind, p.config("query", "INSERT INTO people (id, name) VALUES (:#id, :#name)"))
	batch := func(from, to int) []sdk.Event {
		var out []sdk.Event
		for i := from; i < to; i++ {
			out = append(out, sdk.Event{Body: fmt.Appendf(nil, `{"id": %d, "name": "n%d"}`, i, i)})
		}
		return out
	}
	for i := 0; i < 100; i += 25 {
		require.NoError(t, sdktest.Write(t, s, batch(i, i+25)...))
	}
	p.kill()
	err := sdktest.Write(t, s, batch(100, 125)...)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "postgresql-sink: "), err.Error())
	require.False(t, sdk.IsPermanent(err), "the host sends the batch again")
	require.Equal(t, []sdktest.Outcome{sdktest.Resent}, sdktest.Outcomes(1, err))

	p.start()
	require.Eventually(t, func() bool { return sdktest.Write(t, s, batch(100, 125)...) == nil }, 10e9, 20e6,
		"the batch sent again once the server is back")
	var want []string
	for i := range 125 {
		want = append(want, fmt.Sprintf("%d|n%d", i, i))
	}
	require.Equal(t, want, table(p), "nothing acknowledged is lost, nothing is written twice")
}

func TestSinkUnreachable(t *testing.T) {
	port := testpeer.FreePort(t)
	s := sdktest.NewSink(t, SinkKind, map[string]any{"serverName": "127.0.0.1", "serverPort": fmt.Sprint(port),
		"username": "u", "password": secret, "databaseName": "d", "query": "INSERT INTO t VALUES (:#x)"})
	err := sdktest.Write(t, s, sdk.Event{Body: []byte(`{"x": 1}`)})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	require.EqualError(t, err, "postgresql-sink: cannot reach "+addr+": dial tcp "+addr+": connect: connection refused")
	require.False(t, sdk.IsPermanent(err))
}

func sinkCredentials(t *testing.T, p *peer) {
	people(p)
	var log sdktest.Log
	s := sdktest.NewSink(t, SinkKind, p.config("query", insert, "password", secret+"-wrong"), sdktest.LogTo(&log))
	err := sdktest.Write(t, s, person(1, "Ada"))
	require.EqualError(t, err, "postgresql-sink: "+p.addr()+` refused the credentials: FATAL: password authentication failed for user "rayvens" (SQLSTATE 28P01)`)
	require.False(t, sdk.IsPermanent(err))
	require.NotContains(t, err.Error()+log.String(), secret)
	require.Empty(t, table(p))
}

func TestSinkConfigErrors(t *testing.T) {
	base := map[string]any{"serverName": "localhost", "username": "u", "password": secret, "databaseName": "d", "query": "INSERT INTO t VALUES (:#x)"}
	for k, want := range map[string]string{
		"serverName":   `postgresql-sink: missing required parameter "serverName"`,
		"username":     `postgresql-sink: missing required parameter "username"`,
		"databaseName": `postgresql-sink: missing required parameter "databaseName"`,
	} {
		cfg := map[string]any{}
		for n, v := range base {
			if n != k {
				cfg[n] = v
			}
		}
		_, err := sdktest.OpenSink(SinkKind, cfg)
		require.EqualError(t, err, want)
	}
	bad := map[string]any{}
	for n, v := range base {
		bad[n] = v
	}
	bad["query"] = "INSERT INTO t VALUES (:#)"
	_, err := sdktest.OpenSink(SinkKind, bad)
	require.EqualError(t, err, `postgresql-sink: query: ":#" at byte 22 is not followed by a parameter name (letters, digits, _)`)
	bad["query"], bad["serverPort"] = "SELECT 1", "0"
	_, err = sdktest.OpenSink(SinkKind, bad)
	require.EqualError(t, err, "postgresql-sink: serverPort must be a port number (1 to 65535)")
}

package postgresql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SinkKind declares postgresql-sink.
var SinkKind = sdk.SinkKind{
	Name:    "postgresql-sink",
	Kamelet: "postgresql-sink",
	Description: "Runs a statement for each event, its named parameters (:#name) taken from the fields of the event's JSON object. " +
		"A batch is written in one transaction, acknowledged once it is committed; " +
		"an event the database refuses (a violated constraint, bad data) fails alone, the others are written.",
	Events: `each event is a JSON object whose fields fill the query's named parameters: {"username": "ada", "city": "London"} for INSERT INTO accounts (username, city) VALUES (:#username, :#city)`,
	Params: []sdk.Param{
		serverNameParam,
		serverPortParam,
		usernameParam,
		passwordParam,
		databaseParam,
		{Name: "query", Type: sdk.String, Required: true,
			Description: "The statement to run for each event, with named parameters such as :#username, filled from the event's JSON fields (or, for a field it does not have, from its header of that name)."},
	},
	New: newSink,
}

// sink is one postgresql-sink instance.
type sink struct {
	server
	query namedQuery
	pool  *pgxpool.Pool
}

func newSink(cfg sdk.Config, _ *slog.Logger) (sdk.Sink, error) {
	srv, err := newServer("postgresql-sink", cfg)
	if err != nil {
		return nil, err
	}
	q, err := parseNamed(cfg.String("query"))
	if err != nil {
		return nil, fmt.Errorf("postgresql-sink: query: %w", err)
	}
	// With MinConns 0 the pool connects at the first Write.
	pool, err := pgxpool.NewWithConfig(context.Background(), srv.pool)
	if err != nil {
		return nil, fmt.Errorf("postgresql-sink: %w", err)
	}
	return &sink{server: srv, query: q, pool: pool}, nil
}

// Write runs the query for the events of batch in one transaction, sent
// in one round trip, and returns nil once it is committed. An event that
// is not a JSON object with the query's fields, or that the database
// refuses for good (SQLSTATE classes 22, 23, 42), fails alone: the
// transaction is rolled back, the events before it are written again in
// a new one, and Write says so with sdk.Partial and sdk.Permanent, so the
// host sends the events after it again. Any other failure (the
// connection, the commit) writes nothing: the host sends the batch again.
func (s *sink) Write(ctx context.Context, batch []sdk.Event) error {
	args := make([][]any, 0, len(batch))
	var bad error
	for _, ev := range batch {
		a, err := s.args(ev)
		if err != nil {
			bad = sdk.Permanent(err)
			break
		}
		args = append(args, a)
	}
	n, err := s.write(ctx, args)
	if err != nil {
		return sdk.Partial(n, err)
	}
	return sdk.Partial(len(args), bad)
}

// write runs the query with each of args in one transaction. It returns
// how many are committed: all with a nil error, those before a refused
// one with a permanent error, none with another.
func (s *sink) write(ctx context.Context, args [][]any) (int, error) {
	if len(args) == 0 {
		return 0, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, s.failure(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // nothing once committed
	b := &pgx.Batch{}
	for _, a := range args {
		b.Queue(s.query.sql, a...)
	}
	results := tx.SendBatch(ctx, b)
	refused, at := error(nil), -1
	for i := range args {
		if _, err := results.Exec(); err != nil {
			refused, at = err, i
			break
		}
	}
	closeErr := results.Close()
	switch {
	case refused != nil && isPermanent(refused):
		_ = tx.Rollback(ctx)
		n, err := s.write(ctx, args[:at])
		if err != nil {
			return n, err
		}
		return at, sdk.Permanent(fmt.Errorf("postgresql-sink: %s refused an event: %s", s.addr, oneLine(refused.Error())))
	case refused != nil:
		return 0, s.failure(refused)
	case closeErr != nil:
		return 0, s.failure(closeErr)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, s.failure(err)
	}
	return len(args), nil
}

// args returns the query's parameters for ev, from the fields of its JSON
// object, or from its headers for a field it does not have. A string
// stays a string, and every other value is given as its JSON text (a
// number as written, an object or an array as JSON), which PostgreSQL
// reads as the column's type; null is NULL.
func (s *sink) args(ev sdk.Event) ([]any, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(ev.Body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, errors.New("postgresql-sink: an event is not a JSON object: " + sdk.Excerpt(ev.Body, 80))
	}
	out := make([]any, len(s.query.names))
	for i, name := range s.query.names {
		raw, ok := fields[name]
		if !ok {
			h, ok := ev.Headers[name]
			if !ok {
				return nil, fmt.Errorf("postgresql-sink: an event has no field %q for :#%s", name, name)
			}
			out[i] = h
			continue
		}
		var str string
		switch {
		case string(raw) == "null":
			out[i] = nil
		case json.Unmarshal(raw, &str) == nil:
			out[i] = str
		default:
			out[i] = string(raw)
		}
	}
	return out, nil
}

// Close closes the connections.
func (s *sink) Close() error {
	s.pool.Close()
	return nil
}

package postgresql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SourceKind declares postgresql-source.
var SourceKind = sdk.SourceKind{
	Name:    "postgresql-source",
	Kamelet: "postgresql-source",
	Description: "Polls a PostgreSQL database with a query and emits each row it returns, as a JSON object of its columns. " +
		"Once a row's event is done, consumedQuery runs with the row's columns as parameters, to take the row out of the query's result; " +
		"until then, later polls do not emit the row again.",
	Events: `each row, as a JSON object {"column": value, ...}`,
	Params: []sdk.Param{
		serverNameParam,
		serverPortParam,
		usernameParam,
		passwordParam,
		databaseParam,
		{Name: "query", Type: sdk.String, Required: true,
			Description: "The query that is run at each poll; each row it returns is one event."},
		{Name: "consumedQuery", Type: sdk.String,
			Description: "A statement to run once a row's event is done, with the row's columns as named parameters, such as DELETE FROM accounts WHERE user_id = :#user_id. Without it, every poll emits the rows the query returns again."},
		{Name: "delay", Type: sdk.Integer, Default: 500,
			Description: "The number of milliseconds between the end of a poll and the next."},
	},
	New: newSource,
}

// Polls that fail are tried again with backoff from firstWait up to
// maxWait (or delay if it is longer).
const (
	firstWait = 100 * time.Millisecond
	maxWait   = 5 * time.Second
)

// drainWait bounds how long Run, once stopped, waits for the outcomes of
// the rows it emitted, to run consumedQuery for those that are done.
const drainWait = 10 * time.Second

// source is one postgresql-source instance. Its fields are Run's, but
// acked, which the acknowledgements fill.
type source struct {
	server
	query    string
	consumed *namedQuery // nil: no consumedQuery
	delay    time.Duration
	log      *slog.Logger
	// drainWait, firstWait and maxWait are the constants, shorter in tests.
	drainWait, firstWait, maxWait time.Duration

	// inFlight counts the rows emitted whose outcome has not come, by
	// their JSON; failed, those whose event failed. A poll emits a row
	// only past as many copies of it as these hold.
	inFlight map[string]int
	failed   map[string]int
	acked    outcomes
}

func newSource(cfg sdk.Config, log *slog.Logger) (sdk.Source, error) {
	srv, err := newServer("postgresql-source", cfg)
	if err != nil {
		return nil, err
	}
	q, err := parseNamed(cfg.String("query"))
	if err != nil {
		return nil, fmt.Errorf("postgresql-source: query: %w", err)
	}
	if len(q.names) > 0 {
		return nil, fmt.Errorf("postgresql-source: query: :#%s has no value: a poll's query takes no parameters", q.names[0])
	}
	s := &source{server: srv, query: q.sql, delay: cfg.Millis("delay"), log: log,
		drainWait: drainWait, firstWait: firstWait, maxWait: maxWait,
		inFlight: map[string]int{}, failed: map[string]int{}, acked: outcomes{signal: make(chan struct{}, 1)}}
	if s.delay < time.Millisecond {
		return nil, fmt.Errorf("postgresql-source: delay must be at least 1 millisecond, got %d", cfg.Int("delay"))
	}
	if cfg.String("consumedQuery") != "" {
		c, err := parseNamed(cfg.String("consumedQuery"))
		if err != nil {
			return nil, fmt.Errorf("postgresql-source: consumedQuery: %w", err)
		}
		s.consumed = &c
	}
	return s, nil
}

// row is a row a poll returned.
type row struct {
	json    string             // the event's body, and the row's identity
	columns map[string]*string // its values as text (nil for NULL), by column name
}

// outcome is the outcome of a row's event, as its Ack got it.
type outcome struct {
	row row
	err error
}

// outcomes is the queue from the acknowledgements, which must not block,
// to Run, which handles them in order.
type outcomes struct {
	mu     sync.Mutex
	queue  []outcome
	closed bool
	signal chan struct{} // holds a token while queue is not empty
}

// put queues an outcome; it reports false once Run no longer takes any.
func (o *outcomes) put(out outcome) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	o.queue = append(o.queue, out)
	select {
	case o.signal <- struct{}{}:
	default:
	}
	return true
}

// take returns the outcomes queued so far.
func (o *outcomes) take() []outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.queue
	o.queue = nil
	return q
}

func (o *outcomes) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
}

// Run polls until ctx ends, then waits (up to drainWait) for the outcomes
// of the rows it emitted. If the server cannot be reached or refuses the
// credentials at the start, Run fails with that error; later, a poll that
// fails is logged and tried again with backoff, pgx connecting again.
func (s *source) Run(ctx context.Context, emit sdk.Emit) error {
	pool, err := pgxpool.NewWithConfig(ctx, s.pool)
	if err != nil {
		return s.failure(err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return s.failure(err)
	}
	defer s.drain(ctx, pool)

	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval = s.firstWait, max(s.maxWait, s.delay)
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.acked.signal:
			s.handle(ctx, pool)
			continue
		case <-wait.C:
		}
		s.handle(ctx, pool) // so that the poll sees what was consumed
		rows, err := s.poll(ctx, pool)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errColumns) {
			return fmt.Errorf("postgresql-source: %w", err)
		}
		if err != nil {
			next := retry.NextBackOff()
			s.log.Warn("poll failed; polling again", "error", s.failure(err).Error(), "wait", next.Round(time.Millisecond).String())
			wait.Reset(next)
			continue
		}
		retry.Reset()
		if err := s.emit(ctx, emit, rows); err != nil {
			return err
		}
		wait.Reset(s.delay)
	}
}

// poll runs the query and returns its rows, those in flight or failed
// left out.
func (s *source) poll(ctx context.Context, pool *pgxpool.Pool) ([]row, error) {
	// Text results: a value's JSON is made from PostgreSQL's own text for
	// it, and consumedQuery gets that text back as a parameter, which
	// PostgreSQL reads as the type it expects.
	result, err := pool.Query(ctx, s.query, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return nil, err
	}
	defer result.Close()
	seen := map[string]int{}
	var rows []row
	for result.Next() {
		r := makeRow(result.FieldDescriptions(), result.RawValues())
		seen[r.json]++
		if seen[r.json] > s.inFlight[r.json]+s.failed[r.json] {
			rows = append(rows, r)
		}
	}
	if err := result.Err(); err != nil {
		return nil, err
	}
	if s.consumed != nil {
		// Known once the query has run.
		if err := checkColumns(s.consumed.names, result.FieldDescriptions()); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// errColumns is a consumedQuery that names a column the rows do not have:
// no poll can go on.
var errColumns = errors.New("consumedQuery")

func checkColumns(names []string, fields []pgconn.FieldDescription) error {
	have := map[string]bool{}
	var list []string
	for _, f := range fields {
		have[f.Name] = true
		list = append(list, f.Name)
	}
	for _, n := range names {
		if !have[n] {
			return fmt.Errorf("%w: :#%s is not a column of the query's rows (%s)", errColumns, n, strings.Join(list, ", "))
		}
	}
	return nil
}

// emit emits rows, counting each in flight until its outcome comes.
func (s *source) emit(ctx context.Context, emit sdk.Emit, rows []row) error {
	for i, r := range rows {
		ev := sdk.Event{Body: []byte(r.json), ContentType: "application/json",
			Headers: map[string]string{"CamelBatchIndex": strconv.Itoa(i), "CamelBatchSize": strconv.Itoa(len(rows))}}
		ev.Ack = func(err error) {
			if !s.acked.put(outcome{row: r, err: err}) && err == nil && s.consumed != nil {
				s.log.Warn("a row's event was done after the source stopped: consumedQuery was not run, and the row is emitted again", "row", sdk.Excerpt([]byte(r.json), 200))
			}
		}
		s.inFlight[r.json]++
		if err := emit(ctx, ev); err != nil {
			s.inFlight[r.json]--
			return nil // the source was disconnected
		}
	}
	return nil
}

// handle acts on the outcomes that came: runs consumedQuery for the rows
// that are done, remembers those that failed.
func (s *source) handle(ctx context.Context, pool *pgxpool.Pool) {
	var done []row
	for _, out := range s.acked.take() {
		key := out.row.json
		if s.inFlight[key]--; s.inFlight[key] <= 0 {
			delete(s.inFlight, key)
		}
		switch {
		case sdk.IsFailed(out.err):
			s.failed[key]++
			s.log.Warn("a row's event failed: it is not consumed, and not emitted again until the source restarts", "row", sdk.Excerpt([]byte(key), 200), "reason", out.err.Error())
		case out.err != nil:
			// The host never took it: the next poll emits it again.
		case s.consumed != nil:
			done = append(done, out.row)
		}
	}
	if len(done) == 0 {
		return
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.drainWait)
	defer cancel()
	// The rows done together are consumed in one transaction, in one round
	// trip; if that fails, one by one, so that a row whose consumedQuery
	// fails is the only one emitted again.
	if len(done) > 1 && s.consumeAll(qctx, pool, done) == nil {
		return
	}
	for _, r := range done {
		if _, err := pool.Exec(qctx, s.consumed.sql, s.consumedArgs(r)...); err != nil {
			s.log.Warn("consumedQuery failed: the row is emitted again", "error", s.failure(err).Error(), "row", sdk.Excerpt([]byte(r.json), 200))
		}
	}
}

// consumeAll runs consumedQuery for rows in one transaction.
func (s *source) consumeAll(ctx context.Context, pool *pgxpool.Pool, rows []row) error {
	b := &pgx.Batch{}
	for _, r := range rows {
		b.Queue(s.consumed.sql, s.consumedArgs(r)...)
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
}

// consumedArgs are consumedQuery's parameters for r: its columns' text.
func (s *source) consumedArgs(r row) []any {
	args := make([]any, len(s.consumed.names))
	for i, n := range s.consumed.names {
		if v := r.columns[n]; v != nil {
			args[i] = *v
		}
	}
	return args
}

// drain waits, after the source stopped, for the outcomes of the rows in
// flight, up to drainWait, and handles them.
func (s *source) drain(ctx context.Context, pool *pgxpool.Pool) {
	defer s.acked.close()
	deadline := time.NewTimer(s.drainWait)
	defer deadline.Stop()
	for len(s.inFlight) > 0 {
		select {
		case <-s.acked.signal:
			s.handle(ctx, pool)
		case <-deadline.C:
			s.log.Warn("stopped before the outcome of every row emitted came: those rows are emitted again by the next run", "rows", len(s.inFlight))
			return
		}
	}
}

// makeRow makes the JSON object of a row, its columns in order, from
// PostgreSQL's text for each value: booleans, numbers and JSON values as
// JSON, anything else as a string, NULL as null.
func makeRow(fields []pgconn.FieldDescription, values [][]byte) row {
	r := row{columns: make(map[string]*string, len(fields))}
	b := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(f.Name)
		b = append(append(b, name...), ':')
		v := values[i]
		if v == nil {
			b = append(b, "null"...)
			r.columns[f.Name] = nil
			continue
		}
		text := string(v)
		r.columns[f.Name] = &text
		b = appendValue(b, f.DataTypeOID, text)
	}
	r.json = string(append(b, '}'))
	return r
}

func appendValue(b []byte, oid uint32, text string) []byte {
	switch oid {
	case pgtype.BoolOID:
		return strconv.AppendBool(b, text == "t")
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID, pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID:
		if json.Valid([]byte(text)) { // not NaN or Infinity
			return append(b, text...)
		}
	case pgtype.JSONOID, pgtype.JSONBOID:
		return append(b, text...)
	}
	s, _ := json.Marshal(text)
	return append(b, s...)
}

// Package postgresql holds the PostgreSQL connectors, on
// github.com/jackc/pgx/v5, following the Apache Camel Kamelets of the same
// names (Camel's sql component):
//
//   - postgresql-source (source.go) runs query every delay milliseconds and
//     emits each row as a JSON object; once a row's event is done, it runs
//     consumedQuery with the row's columns as parameters (a DELETE or an
//     UPDATE that takes the row out of the query's result).
//   - postgresql-sink (sink.go) runs query for each event, its named
//     parameters taken from the event's JSON fields, a batch in one
//     transaction.
//
// Named parameters are Camel's, :#name (named.go). Nothing is dialled in
// New: the source connects in Run, the sink at its first Write.
package postgresql

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// The parameters both kinds have.
var (
	serverNameParam = sdk.Param{Name: "serverName", Type: sdk.String, Required: true,
		Description: "The host name or address of the PostgreSQL server."}
	serverPortParam = sdk.Param{Name: "serverPort", Type: sdk.String, Default: "5432",
		Description: "The port of the PostgreSQL server."}
	usernameParam = sdk.Param{Name: "username", Type: sdk.String, Required: true,
		Description: "The user to connect as."}
	passwordParam = sdk.Param{Name: "password", Type: sdk.String, Required: true, Secret: true,
		Description: "The password of the user."}
	databaseParam = sdk.Param{Name: "databaseName", Type: sdk.String, Required: true,
		Description: "The name of the database to connect to."}
)

// server is the database a kind connects to, from its config.
type server struct {
	kind string
	addr string
	pool *pgxpool.Config
}

// newServer reads the connection parameters of cfg, checking what can be
// checked without a network.
func newServer(kind string, cfg sdk.Config) (server, error) {
	host := strings.TrimSpace(cfg.String("serverName"))
	if host == "" {
		return server{}, fmt.Errorf("%s: serverName is empty", kind)
	}
	port, err := strconv.ParseUint(strings.TrimSpace(cfg.String("serverPort")), 10, 16)
	if err != nil || port == 0 {
		return server{}, fmt.Errorf("%s: serverPort must be a port number (1 to 65535)", kind)
	}
	// ParseConfig("") gives pgx's defaults (and libpq's environment
	// variables, PGSSLMODE and the like); the Kamelet's parameters win.
	pool, err := pgxpool.ParseConfig("")
	if err != nil {
		return server{}, fmt.Errorf("%s: %w", kind, err)
	}
	c := pool.ConnConfig
	c.Host, c.Port, c.Database = host, uint16(port), cfg.String("databaseName")
	c.User, c.Password = cfg.String("username"), cfg.String("password")
	c.Fallbacks = nil
	c.ConnectTimeout = 10 * time.Second
	pool.MaxConns = 2
	pool.MinConns = 0 // no connection before one is needed
	return server{kind: kind, addr: net.JoinHostPort(host, strconv.FormatUint(port, 10)), pool: pool}, nil
}

// failure turns an error talking to the server into the one line a user
// reads: the kind, the address and the cause. pgx's errors name the user
// and database, never the password.
func (s server) failure(err error) error {
	var pgErr *pgconn.PgError
	var netErr *net.OpError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"):
		return fmt.Errorf("%s: %s refused the credentials: %s", s.kind, s.addr, pgErr.Error())
	case errors.As(err, &pgErr):
		return fmt.Errorf("%s: %s answered: %s", s.kind, s.addr, pgErr.Error())
	case errors.As(err, &netErr):
		return fmt.Errorf("%s: cannot reach %s: %s", s.kind, s.addr, netErr.Error())
	}
	return fmt.Errorf("%s: %s: %s", s.kind, s.addr, oneLine(err.Error()))
}

// isPermanent reports whether err is the server refusing a statement for a
// reason that running it again cannot fix: bad data (SQLSTATE class 22), a
// violated constraint (23), a statement that does not fit the schema or
// its privileges (42).
func isPermanent(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "42":
		return true
	}
	return false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

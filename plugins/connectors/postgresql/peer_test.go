package postgresql

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
)

// The servers' credentials: the password is distinctive, so that a test
// finds it in any text that shows it.
const (
	dbUser   = "rayvens"
	secret   = "s3cret-Pg-Pa55-91c4"
	database = "postgres"
)

// pgBin is where Debian installs PostgreSQL's programs.
const pgBin = "/usr/lib/postgresql/*/bin"

// base holds the package's data directories. PostgreSQL refuses to run as
// root, so under root the servers run as the postgres user, which cannot
// enter t.TempDir()'s directories: base is made for it, and removed
// (by root, who can) when the tests end.
var base string

func TestMain(m *testing.M) {
	code := m.Run()
	if base != "" {
		_ = os.RemoveAll(base)
	}
	os.Exit(code)
}

// asServer runs a PostgreSQL program as the user a server runs as: the
// postgres user under root, else the current one.
func asServer(bin string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

// chownToServer gives path to the postgres user when running as root.
func chownToServer(t testing.TB, path string) {
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	require.NoError(t, err, "running as root needs the postgres user (Debian's postgresql package makes it)")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	require.NoError(t, os.Chown(path, uid, gid))
}

// template is a data directory made once by initdb, which each server
// copies: initdb takes seconds, a copy a fraction of one.
var template = struct {
	once sync.Once
	dir  string
	err  error
}{}

func makeTemplate(t testing.TB, initdb string) string {
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "rayvens-postgresql-test-")
		if err != nil {
			template.err = err
			return
		}
		base = dir
		if err := os.Chmod(dir, 0o755); err != nil {
			template.err = err
			return
		}
		chownToServer(t, dir)
		pwfile := filepath.Join(dir, "pwfile")
		if err := os.WriteFile(pwfile, []byte(secret+"\n"), 0o644); err != nil {
			template.err = err
			return
		}
		template.dir = filepath.Join(dir, "template")
		out, err := asServer(initdb, "-D", template.dir, "-U", dbUser, "--pwfile", pwfile, "-A", "scram-sha-256",
			"-E", "UTF8", "--locale", "C", "--no-sync").CombinedOutput()
		if err != nil {
			template.err = fmt.Errorf("initdb: %v:\n%s", err, out)
		}
	})
	require.NoError(t, template.err)
	return template.dir
}

// peer is a PostgreSQL server a test started on 127.0.0.1, with the user
// dbUser (password secret) and its own data directory.
type peer struct {
	t        testing.TB
	postgres string
	port     int
	data     string
	db       string // the database the test's own client and configs use
	srv      *testpeer.Server
}

// startPostgres starts a server of its own for the test.
func startPostgres(t testing.TB) *peer {
	postgres := testpeer.Binary(t, "postgres", "postgresql", pgBin)
	initdb := filepath.Join(filepath.Dir(postgres), "initdb")
	tmpl := makeTemplate(t, initdb)
	data, err := os.MkdirTemp(base, "data-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) }) // after the server is killed: cleanups run last first
	chownToServer(t, data)
	out, err := asServer("cp", "-a", tmpl+"/.", data).CombinedOutput()
	require.NoError(t, err, "%s", out)
	p := &peer{t: t, postgres: postgres, port: testpeer.FreePort(t), data: data, db: database}
	p.start()
	return p
}

func (p *peer) start() {
	cmd := asServer(p.postgres, "-D", p.data, "-p", strconv.Itoa(p.port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+p.data, "-c", "fsync=off", "-c", "shared_buffers=16MB", "-c", "max_connections=40")
	p.srv = testpeer.Start(p.t, p.addr(), cmd)
	// The port accepts connections before the server takes them: wait
	// until a query goes through.
	require.Eventually(p.t, func() bool {
		c, err := pgx.ConnectConfig(context.Background(), p.connConfig())
		if err != nil {
			return false
		}
		defer c.Close(context.Background())
		return c.Ping(context.Background()) == nil
	}, 30e9, 20e6, "postgres takes connections")
}

// kill kills the server (SIGKILL, the whole process group), as a crash.
// The postmaster is not the group's leader (runuser is), and may be a
// zombie for a moment after: its lock files, which would keep the next
// postmaster from starting while the old one seems alive, are removed
// once it is dead.
func (p *peer) kill() {
	p.srv.Kill()
	lock := filepath.Join(p.data, "postmaster.pid")
	content, err := os.ReadFile(lock)
	if err != nil {
		return // it had not written one
	}
	pid, _, _ := strings.Cut(string(content), "\n")
	require.Eventually(p.t, func() bool {
		stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
		if err != nil {
			return true // reaped
		}
		_, after, _ := strings.Cut(string(stat), ") ")
		return strings.HasPrefix(after, "Z")
	}, 10e9, 5e6, "the postmaster is dead")
	socket := filepath.Join(p.data, ".s.PGSQL."+strconv.Itoa(p.port))
	for _, f := range []string{lock, socket + ".lock", socket} {
		require.NoError(p.t, os.RemoveAll(f))
	}
}

// restart kills the server and starts it again on the same port and data.
func (p *peer) restart() {
	p.kill()
	p.start()
}

func (p *peer) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

func (p *peer) connConfig() *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig("")
	require.NoError(p.t, err)
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = "127.0.0.1", uint16(p.port), dbUser, secret, p.db
	cfg.Fallbacks = nil
	return cfg
}

// exec runs sql on the server as the test's own client.
func (p *peer) exec(sql string, args ...any) {
	p.t.Helper()
	c, err := pgx.ConnectConfig(context.Background(), p.connConfig())
	require.NoError(p.t, err)
	defer c.Close(context.Background())
	_, err = c.Exec(context.Background(), sql, args...)
	require.NoError(p.t, err, sql)
}

// strings runs a query of one column and returns its values as text.
func (p *peer) strings(sql string) []string {
	p.t.Helper()
	c, err := pgx.ConnectConfig(context.Background(), p.connConfig())
	require.NoError(p.t, err)
	defer c.Close(context.Background())
	rows, err := c.Query(context.Background(), sql)
	require.NoError(p.t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(p.t, err, sql)
	return out
}

// config is a connector config for this server, with more parameters.
func (p *peer) config(more ...any) map[string]any {
	cfg := map[string]any{"serverName": "127.0.0.1", "serverPort": strconv.Itoa(p.port), "username": dbUser, "password": secret, "databaseName": p.db}
	for i := 0; i+1 < len(more); i += 2 {
		cfg[more[i].(string)] = more[i+1]
	}
	return cfg
}

// database returns p for the test t, with a database of its own.
func (p *peer) database(t *testing.T) *peer {
	name := fmt.Sprintf("test_%d", databases.Add(1))
	p.exec("CREATE DATABASE " + name)
	return &peer{t: t, postgres: p.postgres, port: p.port, data: p.data, db: name, srv: p.srv}
}

var databases atomic.Int64

// TestOnOneServer runs the tests that leave their server running on one
// server, each in a database of its own: a server takes seconds to start.
// The tests that kill their server start their own.
func TestOnOneServer(t *testing.T) {
	p := startPostgres(t)
	for _, tc := range []struct {
		name string
		test func(*testing.T, *peer)
	}{
		{"SourceEmitsAndConsumesRows", sourceEmitsAndConsumesRows},
		{"SourceActsOnlyOnOutcomes", sourceActsOnlyOnOutcomes},
		{"SourceCrashAndRestart", sourceCrashAndRestart},
		{"SourceColumnTypes", sourceColumnTypes},
		{"SourceCredentials", sourceCredentials},
		{"SourceConsumedQueryColumns", sourceConsumedQueryColumns},
		{"SourceConsumedQueryFails", sourceConsumedQueryFails},
		{"SinkInserts", sinkInserts},
		{"SinkFailsOneEvent", sinkFailsOneEvent},
		{"SinkCredentials", sinkCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, p.database(t)) })
	}
}

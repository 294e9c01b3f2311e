package sqldb_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// These tests end the sessions of a database's pooled connections with
// pg_terminate_backend, as a database restart or a failover does, and
// check what the next statements and transactions do. Only the backends
// of the database under test are ended: its connections carry an
// application_name of their own.

// killer ends the sessions of one application_name, through a connection
// of its own.
type killer struct {
	t    *testing.T
	app  string
	conn *sql.DB
}

// restartable opens a fresh migrated database (row-level security on, as in
// production) whose connections can be ended by the returned killer; it
// skips the test without a PostgreSQL server.
func restartable(t *testing.T, sets ...sqldb.Migrations) (*sqldb.DB, *killer) {
	t.Helper()
	base := os.Getenv(sqldbtest.PostgresEnv)
	if base == "" {
		t.Skip(sqldbtest.PostgresEnv + " is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	app := "mercato_restart_" + hex.EncodeToString(b[:])
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db := sqldbtest.Open(t, u.String(), sets...)
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	conn := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { conn.Close() })
	return db, &killer{t: t, app: app, conn: conn}
}

// killAll ends every session of the database, waiting until their
// processes have exited, and returns how many.
func (k *killer) killAll() int {
	k.t.Helper()
	n, err := k.tryKillAll()
	if err != nil {
		k.t.Fatal(err)
	}
	return n
}

// tryKillAll is killAll for goroutines other than the test's. The sessions
// are all ended at once, as a restart does, and quickly: a connection
// taken from the pool within a second of its last use is not pinged by
// pgx, so only sqldb's own check stands between it and a dead session.
func (k *killer) tryKillAll() (int, error) {
	ctx := context.Background()
	// The pids are read first, then each is terminated by itself, the
	// function in the select list: in a WHERE clause the planner may call
	// it before it filters by application_name, on every session of the
	// server.
	rows, err := k.conn.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, k.app)
	if err != nil {
		return 0, fmt.Errorf("list backends: %w", err)
	}
	var pids []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return 0, err
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("list backends: %w", err)
	}
	for _, pid := range pids {
		if _, err := k.conn.ExecContext(ctx, `
			SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND application_name = $2`, pid, k.app); err != nil {
			return 0, fmt.Errorf("terminate backend %d: %w", pid, err)
		}
	}
	for deadline := time.Now().Add(time.Minute); ; {
		var left int
		if err := k.conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pids).Scan(&left); err != nil {
			return 0, err
		}
		if left == 0 {
			return len(pids), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d backends still there a minute after they were terminated", left)
		}
		time.Sleep(time.Millisecond)
	}
}

// kill ends the session of pid and waits until its process has exited.
func (k *killer) kill(pid int) {
	k.t.Helper()
	if err := k.tryKill(pid); err != nil {
		k.t.Fatal(err)
	}
}

func (k *killer) tryKill(pid int) error {
	var done bool
	if err := k.conn.QueryRowContext(context.Background(), `
		SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity WHERE pid = $1 AND application_name = $2`, pid, k.app).Scan(&done); err != nil {
		return fmt.Errorf("terminate backend %d: %w", pid, err)
	}
	if !done {
		return fmt.Errorf("backend %d did not exit within a minute", pid)
	}
	return nil
}

// warm opens n connections of db's pool at once (n transactions held
// together), and returns them to the pool. It does so twice, so that each
// connection has been taken from the pool just now: pgx pings a new one,
// or one idle for a second, before its next use.
func warm(t *testing.T, db *sqldb.DB, n int) {
	t.Helper()
	ctx := t.Context()
	for range 2 {
		var txs []*sql.Tx
		for range n {
			tx, err := db.Write().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `SELECT 1`); err != nil {
				t.Fatal(err)
			}
			txs = append(txs, tx)
		}
		for _, tx := range txs {
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestPooledConnectionsSurviveTheirSessionsEnding ends every session of a
// warm pool, then runs each kind of work the services do: reads and writes
// outside transactions, statements prepared on the pool, write and read
// transactions scoped to a tenant by row-level security. Each succeeds on
// a new connection: none reaches a dead one.
func TestPooledConnectionsSurviveTheirSessionsEnding(t *testing.T) {
	db, k := restartable(t, counters)
	ctx := tenancy.WithID(t.Context(), "acme")
	other := tenancy.WithID(t.Context(), "globex")
	insert, err := db.Write().PrepareContext(t.Context(),
		`INSERT INTO counters (tenant_id, name, n) VALUES ($1, $2, 1) ON CONFLICT (tenant_id, name) DO UPDATE SET n = counters.n + 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer insert.Close()
	count := func(ctx context.Context, name string) (n int64, err error) {
		err = db.ReadTx(ctx, func(tx *sql.Tx) error {
			// No tenant condition: the policy alone decides.
			return tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0) FROM counters WHERE name = $1`, name).Scan(&n)
		})
		return n, err
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"write transaction", func() error {
			return db.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('acme', 'w', 1)`)
				return err
			})
		}},
		{"write transaction with a statement prepared on the pool", func() error {
			return db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.StmtContext(ctx, insert).ExecContext(ctx, "acme", "p")
				return err
			})
		}},
		{"read transaction of the tenant", func() error {
			n, err := count(ctx, "w")
			if err == nil && n != 1 {
				return fmt.Errorf("acme's w = %d, want 1", n)
			}
			return err
		}},
		{"read transaction of another tenant", func() error {
			n, err := count(other, "w")
			if err == nil && n != 0 {
				return fmt.Errorf("globex sees w = %d of acme's rows, want 0", n)
			}
			return err
		}},
		{"read across tenants", func() error {
			n, err := count(sqldb.AllTenants(t.Context()), "p")
			if err == nil && n != 1 {
				return fmt.Errorf("p = %d, want 1", n)
			}
			return err
		}},
		{"query outside a transaction", func() error {
			var one int
			return db.Read().QueryRowContext(t.Context(), `SELECT 1`).Scan(&one)
		}},
		{"statement outside a transaction", func() error {
			_, err := db.Write().ExecContext(t.Context(), `SELECT 1`)
			return err
		}},
		{"prepared statement outside a transaction", func() error {
			// No tenant is set outside a transaction: the policy refuses
			// the row, which proves the statement reached the server.
			_, err := insert.ExecContext(t.Context(), "acme", "q")
			if err == nil {
				return errors.New("the policy let a write without a tenant through")
			}
			if errors.Is(err, sqldb.ErrUnavailable) {
				return err
			}
			return nil
		}},
		{"ping", func() error { return db.Ping(t.Context()) }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			warm(t, db, 6)
			if n := k.killAll(); n < 6 {
				t.Fatalf("ended %d sessions, want the 6 of the warm pool at least", n)
			}
			if err := st.run(); err != nil {
				t.Fatalf("after the database ended every session: %v", err)
			}
		})
	}
}

// TestTxRunsAgainWhenItsSessionEndsBeforeCommit ends the session of a
// transaction midway, and just before COMMIT: PostgreSQL rolls it back, so
// Tx runs it again on a new connection, once, and its effect is there once.
func TestTxRunsAgainWhenItsSessionEndsBeforeCommit(t *testing.T) {
	db, k := restartable(t, counters)
	for _, tc := range []struct {
		name    string
		midway  bool // else after fn's last statement, before COMMIT
		readTx  bool
		counter string
	}{
		{name: "midway", midway: true, counter: "midway"},
		{name: "before commit", counter: "before_commit"},
		{name: "read transaction midway", midway: true, readTx: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tenancy.WithID(t.Context(), "acme")
			runs := 0
			fn := func(tx *sql.Tx) error {
				runs++
				var pid int
				if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
					return err
				}
				if !tc.readTx {
					if _, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('acme', $1, 1)`, tc.counter); err != nil {
						return err
					}
				}
				if runs == 1 && !tc.midway {
					k.kill(pid)
					return nil
				}
				if runs == 1 {
					k.kill(pid)
				}
				var n int
				// Wrapped without %w, as careless code might: Tx still
				// knows the session ended.
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM counters`).Scan(&n); err != nil {
					return fmt.Errorf("count: %v", err)
				}
				return nil
			}
			var err error
			if tc.readTx {
				err = db.ReadTx(ctx, fn)
			} else {
				err = db.Tx(ctx, fn)
			}
			if err != nil {
				t.Fatalf("transaction whose session ended before COMMIT: %v", err)
			}
			if runs != 2 {
				t.Errorf("fn ran %d times, want 2 (once more after its session ended)", runs)
			}
			if tc.readTx {
				return
			}
			if n := readInt(t, db, ctx, `SELECT count(*) FROM counters WHERE name = $1`, tc.counter); n != 1 {
				t.Errorf("%d rows written, want 1", n)
			}
		})
	}
}

// slowCommit makes COMMIT of a transaction that wrote to slow_commits take
// a minute (a deferred trigger sleeps), long enough to end its session
// while COMMIT runs.
var slowCommit = sqldb.Migrations{Table: "test_slow_commit_version", FS: fstest.MapFS{
	"0001_slow_commit.sql": {Data: []byte(`-- +goose Up
CREATE TABLE slow_commits (tenant_id TEXT NOT NULL, id TEXT PRIMARY KEY);
-- +goose StatementBegin
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(60);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON slow_commits
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
-- +goose Down
DROP TABLE slow_commits;
DROP FUNCTION slow_commit();
`)},
}}

// TestTxIsNotRunAgainWhenCommitOutcomeIsUnknown ends a transaction's
// session while its COMMIT runs: the client cannot know whether it
// committed, so Tx does not run it again and says so (ErrCommitUnknown,
// an ErrUnavailable).
func TestTxIsNotRunAgainWhenCommitOutcomeIsUnknown(t *testing.T) {
	db, k := restartable(t, counters, slowCommit)
	ctx := tenancy.WithID(t.Context(), "acme")
	var runs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- db.Tx(ctx, func(tx *sql.Tx) error {
			runs.Add(1)
			_, err := tx.ExecContext(ctx, `INSERT INTO slow_commits (tenant_id, id) VALUES ('acme', 'x')`)
			return err
		})
	}()
	// Wait for COMMIT to be running (sleeping in the trigger).
	deadline := time.Now().Add(time.Minute)
	var pid int
	for {
		err := k.conn.QueryRowContext(t.Context(), `
			SELECT pid FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event = 'PgSleep' AND lower(query) = 'commit'`, k.app).Scan(&pid)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("Tx returned %v before its COMMIT could be interrupted", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("COMMIT never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	k.kill(pid)
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Tx did not return after its session ended")
	}
	if !errors.Is(err, sqldb.ErrCommitUnknown) || !errors.Is(err, sqldb.ErrUnavailable) {
		t.Fatalf("Tx = %v, want ErrCommitUnknown (and ErrUnavailable)", err)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("fn ran %d times, want once: a COMMIT of unknown outcome is not run again", n)
	}
}

// TestTxUnderRepeatedRestarts runs writers while every session of the
// database is ended again and again. Each transaction either succeeds,
// with its effect there exactly once, or fails with ErrUnavailable (the
// database lost too often, or a COMMIT of unknown outcome); none fails
// otherwise, and once the restarts stop every writer succeeds.
func TestTxUnderRepeatedRestarts(t *testing.T) {
	db, k := restartable(t, counters)
	ctx := tenancy.WithID(t.Context(), "acme")
	const writers, each = 4, 25
	type result struct {
		name string
		err  error
	}
	results := make(chan result, writers*each)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("w%d_%d", w, i)
				err := db.Tx(ctx, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('acme', $1, 1)`, name); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE tenant_id = 'acme' AND name = $1`, name)
					return err
				})
				results <- result{name, err}
			}
		}()
	}
	killed := make(chan int)
	go func() {
		// A restart every 20 ms at most, for as long as the writers run.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			m, err := k.tryKillAll()
			if err != nil {
				t.Error(err)
			}
			n += m
			select {
			case <-stop:
				killed <- n
				return
			case <-tick.C:
			}
		}
	}()
	wg.Wait()
	close(stop)
	if n := <-killed; n == 0 {
		t.Error("no session was ended while the writers ran")
	}
	close(results)
	ok := 0
	for r := range results {
		n := readInt(t, db, ctx, `SELECT COALESCE(SUM(n), 0) FROM counters WHERE name = $1`, r.name)
		switch {
		case r.err == nil:
			ok++
			if n != 2 {
				t.Errorf("%s committed with n = %d, want 2 (its effect once)", r.name, n)
			}
		case errors.Is(r.err, sqldb.ErrCommitUnknown):
			if n != 0 && n != 2 {
				t.Errorf("%s of unknown outcome has n = %d, want 0 or 2", r.name, n)
			}
		case errors.Is(r.err, sqldb.ErrUnavailable):
			if n != 0 {
				t.Errorf("%s failed (%v) but has n = %d", r.name, r.err, n)
			}
		default:
			t.Errorf("%s: %v, want success or ErrUnavailable", r.name, r.err)
		}
	}
	t.Logf("%d of %d transactions committed while sessions were ended", ok, writers*each)
	for w := range writers {
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('acme', $1, 1)`, fmt.Sprintf("after_%d", w))
			return err
		}); err != nil {
			t.Errorf("after the restarts: %v", err)
		}
	}
}

// proxy relays TCP connections to a PostgreSQL server, and can cut them
// all (a network failure or a crashed server: no goodbye from PostgreSQL)
// or refuse new ones (a server that is down).
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

// newProxy relays to the server of url and returns the proxy and a URL
// that goes through it.
func newProxy(t *testing.T, rawURL string) (*proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: u.Host}
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	go p.serve()
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close(); c.Close() }()
		go func() { _, _ = io.Copy(c, s); s.Close(); c.Close() }()
	}
}

// cut closes every relayed connection, on both sides.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// setDown makes the proxy refuse (accept and close at once) new
// connections, or relay them again.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// TestDatabaseOutOfReach cuts a warm pool's connections without a word
// from PostgreSQL (a crash, a network failure), then takes the database
// away altogether, then brings it back. Cut connections are replaced
// without the work noticing; while the database is away, work fails with
// ErrUnavailable (which the web platform answers with 503), at once; when
// it is back, work succeeds again.
func TestDatabaseOutOfReach(t *testing.T) {
	base := os.Getenv(sqldbtest.PostgresEnv)
	if base == "" {
		t.Skip(sqldbtest.PostgresEnv + " is not set")
	}
	p, through := newProxy(t, base)
	db := sqldbtest.Open(t, through, counters)
	ctx := tenancy.WithID(t.Context(), "acme")
	n := 0
	write := func() error {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('acme', $1, 1)`, fmt.Sprint("c", n))
			return err
		})
	}
	read := func() error {
		return db.ReadTx(ctx, func(tx *sql.Tx) error {
			var c int
			return tx.QueryRowContext(ctx, `SELECT count(*) FROM counters`).Scan(&c)
		})
	}
	query := func() error {
		var one int
		return db.Read().QueryRowContext(t.Context(), `SELECT 1`).Scan(&one)
	}
	work := []struct {
		name string
		run  func() error
	}{{"write transaction", write}, {"read transaction", read}, {"query", query}}

	for _, w := range work {
		warm(t, db, 6)
		p.cut()
		n++
		if err := w.run(); err != nil {
			t.Errorf("%s after its connections were cut: %v", w.name, err)
		}
	}

	p.setDown(true)
	p.cut()
	for _, w := range work {
		start := time.Now()
		n++
		err := w.run()
		if !errors.Is(err, sqldb.ErrUnavailable) {
			t.Errorf("%s with the database away: %v, want ErrUnavailable", w.name, err)
		}
		if errors.Is(err, sqldb.ErrCommitUnknown) {
			t.Errorf("%s with the database away: %v: nothing was sent, the outcome is known", w.name, err)
		}
		t.Logf("%s with the database away failed after %v: %v", w.name, time.Since(start), err)
	}

	p.setDown(false)
	for _, w := range work {
		n++
		if err := w.run(); err != nil {
			t.Errorf("%s once the database is back: %v", w.name, err)
		}
	}
}

package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

var counters = sqldb.Migrations{Table: "test_db_version", FS: fstest.MapFS{
	"0001_counters.sql": {Data: []byte(`-- +goose Up
CREATE TABLE counters (
    tenant_id TEXT NOT NULL,
    name      TEXT NOT NULL,
    n         BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (tenant_id, name)
);
-- +goose Down
DROP TABLE counters;
`)},
}}

// readInt reads one number in a read transaction of ctx's tenant.
func readInt(t *testing.T, db *sqldb.DB, ctx context.Context, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.ReadTx(ctx, func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, q, args...).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTxCommitsAndRollsBack(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "t1")
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ($1, $2, $3)`, "t1", "a", 1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 10 WHERE tenant_id = $1`, "t1"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx error = %v, want boom", err)
		}
		if n := readInt(t, db, ctx, `SELECT n FROM counters WHERE tenant_id = $1 AND name = $2`, "t1", "a"); n != 1 {
			t.Fatalf("n = %d after rollback, want 1", n)
		}
	}, counters)
}

func TestConstraintErrors(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "t")
		insert := func(n int) error {
			return db.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('t', 'x', $1)`, n)
				return err
			})
		}
		if err := insert(-1); !sqldb.IsCheckViolation(err) {
			t.Errorf("negative value: %v, want a check violation", err)
		}
		if err := insert(1); err != nil {
			t.Fatal(err)
		}
		if err := insert(1); !sqldb.IsUniqueViolation(err) {
			t.Errorf("duplicate key: %v, want a unique violation", err)
		}
	}, counters)
}

// TestConcurrentConditionalDecrement is the pattern stock relies on: many
// writers decrement one row with a guarded UPDATE; none may take it below 0.
func TestConcurrentConditionalDecrement(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "t")
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('t', 'stock', 10)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		won := 0
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				err := db.Tx(ctx, func(tx *sql.Tx) error {
					res, err := tx.ExecContext(ctx, `UPDATE counters SET n = n - 1 WHERE tenant_id = 't' AND name = 'stock' AND n >= 1`)
					if err != nil {
						return err
					}
					if k, _ := res.RowsAffected(); k == 1 {
						mu.Lock()
						won++
						mu.Unlock()
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		n := readInt(t, db, ctx, `SELECT n FROM counters WHERE name = 'stock'`)
		if won != 10 || n != 0 {
			t.Fatalf("won %d decrements leaving %d; want 10 and 0", won, n)
		}
	}, counters)
}

func TestSQLiteReadPoolIsReadOnly(t *testing.T) {
	db := sqldbtest.Open(t, "", counters)
	if _, err := db.Read().ExecContext(t.Context(), `INSERT INTO counters (tenant_id, name, n) VALUES ('t', 'y', 1)`); err == nil {
		t.Fatal("a write through the read pool succeeded")
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	for _, o := range []sqldb.Options{
		{Dir: t.TempDir(), Name: "Bad-Name"},
		{Dir: t.TempDir(), Name: "x; DROP"},
		{URL: "mysql://x", Dir: t.TempDir(), Name: "ok"},
		{Name: "ok"},
	} {
		if db, err := sqldb.Open(t.Context(), o); err == nil {
			db.Close()
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := sqldb.Redact("postgres://u:secret@h:5432/db"); got != "postgres://u:xxxxx@h:5432/db" {
		t.Errorf("Redact = %q", got)
	}
}

// TestTxRetriesDeadlock makes two transactions take two rows in opposite
// orders. PostgreSQL aborts one with a deadlock (40P01); Tx runs it again and
// both effects land exactly once.
// (SQLite serialises writers on one connection: there is no deadlock to
// provoke there; TestRetryableSQLiteBusy covers its transient error.)
func TestTxRetriesDeadlock(t *testing.T) {
	url := os.Getenv(sqldbtest.PostgresEnv)
	if url == "" {
		t.Skip(sqldbtest.PostgresEnv + " is not set")
	}
	db := sqldbtest.Open(t, url, counters)
	ctx := tenancy.WithID(t.Context(), "t")
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('t', 'a', 0), ('t', 'b', 0)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var attempts sync.Map
	both := make(chan struct{})
	var holding sync.WaitGroup
	holding.Add(2)
	go func() { holding.Wait(); close(both) }()
	cross := func(name, first, second string) error {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			n, _ := attempts.LoadOrStore(name, new(int))
			*n.(*int)++
			if _, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE name = $1`, first); err != nil {
				return err
			}
			if *n.(*int) == 1 {
				holding.Done()
				<-both // both hold their first row: the second update deadlocks
			}
			_, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE name = $1`, second)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- cross("x", "a", "b") }()
	go func() { errs <- cross("y", "b", "a") }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Tx did not recover from the deadlock: %v", err)
		}
	}
	x, _ := attempts.Load("x")
	y, _ := attempts.Load("y")
	if *x.(*int)+*y.(*int) < 3 {
		t.Errorf("attempts x=%d y=%d: no transaction was retried", *x.(*int), *y.(*int))
	}
	for _, name := range []string{"a", "b"} {
		if n := readInt(t, db, ctx, `SELECT n FROM counters WHERE name = $1`, name); n != 2 {
			t.Errorf("%s = %d, want 2 (each transaction's effect once)", name, n)
		}
	}
}

// TestRetryableSQLiteBusy checks the classification on a real SQLITE_BUSY:
// a second connection with no busy timeout writes while the first holds the
// write lock.
func TestRetryableSQLiteBusy(t *testing.T) {
	dir := t.TempDir()
	db, err := sqldb.Open(t.Context(), sqldb.Options{Dir: dir, Name: "busy"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(t.Context(), counters); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "busy.db")+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Tx(t.Context(), func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(t.Context(), `INSERT INTO counters (tenant_id, name, n) VALUES ('t', 'held', 1)`); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	_, err = other.ExecContext(t.Context(), `INSERT INTO counters (tenant_id, name, n) VALUES ('t', 'other', 1)`)
	close(release)
	if err == nil {
		t.Fatal("the second writer was not refused while the lock was held")
	}
	if !sqldb.Retryable(err) {
		t.Errorf("Retryable(%v) = false, want true for SQLITE_BUSY", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestKeywordServiceName opens a database named like a SQL keyword: the
// order service's schema on PostgreSQL is "order".
func TestKeywordServiceName(t *testing.T) {
	url := os.Getenv(sqldbtest.PostgresEnv)
	if url == "" {
		t.Skip(sqldbtest.PostgresEnv + " is not set")
	}
	db, err := sqldb.Open(t.Context(), sqldb.Options{URL: url, Name: "order"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Write().ExecContext(context.Background(), `DROP TABLE IF EXISTS keyword_probe`)
		db.Close()
	})
	if _, err := db.Write().ExecContext(t.Context(), `CREATE TABLE IF NOT EXISTS keyword_probe (id BIGINT)`); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := db.Read().QueryRowContext(t.Context(), `SELECT table_schema FROM information_schema.tables WHERE table_name = 'keyword_probe'`).Scan(&schema); err != nil || schema != "order" {
		t.Fatalf("table landed in schema %q (%v), want order", schema, err)
	}
}

// TestRowSecurity checks PostgreSQL's second line of tenant isolation:
// with RowSecurity, a transaction sees and writes only its context's
// tenant's rows, none without a tenant, all under AllTenants, even for
// queries that forget the tenant_id condition.
func TestRowSecurity(t *testing.T) {
	url := os.Getenv(sqldbtest.PostgresEnv)
	if url == "" {
		t.Skip(sqldbtest.PostgresEnv + " is not set")
	}
	ctx := context.Background()
	name := fmt.Sprintf("rls_%d", time.Now().UnixNano()%1_000_000_000)
	db, err := sqldb.Open(ctx, sqldb.Options{URL: url, Name: name, RowSecurity: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		admin, err := sqldb.Open(context.Background(), sqldb.Options{URL: url, Name: name})
		if err == nil {
			_, _ = admin.Write().ExecContext(context.Background(), `DROP SCHEMA `+name+` CASCADE`)
			admin.Close()
		}
	})
	if err := db.Migrate(ctx, counters); err != nil {
		t.Fatal(err)
	}
	acme, globex := tenancy.WithID(ctx, "acme"), tenancy.WithID(ctx, "globex")
	for _, c := range []context.Context{acme, globex} {
		tenant, _ := tenancy.ID(c)
		if err := db.Tx(c, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(c, `INSERT INTO counters (tenant_id, name, n) VALUES ($1, 'a', 1), ($1, 'b', 2)`, tenant)
			return err
		}); err != nil {
			t.Fatalf("insert as %s: %v", tenant, err)
		}
	}
	count := func(c context.Context) (n int) {
		t.Helper()
		// No tenant condition: the policy alone decides.
		if err := db.ReadTx(c, func(tx *sql.Tx) error {
			return tx.QueryRowContext(c, `SELECT count(*) FROM counters`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(acme); got != 2 {
		t.Errorf("acme sees %d rows, want its 2", got)
	}
	if got := count(ctx); got != 0 {
		t.Errorf("no tenant sees %d rows, want 0", got)
	}
	if got := count(sqldb.AllTenants(ctx)); got != 4 {
		t.Errorf("all tenants: %d rows, want 4", got)
	}
	// Writes are held to the tenant too: acme cannot touch globex's rows
	// or write rows for it.
	err = db.Tx(acme, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(acme, `UPDATE counters SET n = n + 10`)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 2 {
			return fmt.Errorf("updated %d rows, want acme's 2", k)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	err = db.Tx(acme, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(acme, `INSERT INTO counters (tenant_id, name, n) VALUES ('globex', 'z', 1)`)
		return err
	})
	if err == nil {
		t.Error("acme wrote a row for globex")
	}
	// The plain read pool, with no transaction, sees nothing.
	var n int
	if err := db.Read().QueryRowContext(ctx, `SELECT count(*) FROM counters`).Scan(&n); err != nil || n != 0 {
		t.Errorf("read pool without a tenant: %d rows (%v), want 0", n, err)
	}
}

func TestInsertRows(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "t1")
		insert := func(rows [][]any) error {
			return db.Tx(ctx, func(tx *sql.Tx) error {
				return sqldb.InsertRows(ctx, tx, "counters", []string{"tenant_id", "name", "n"}, rows)
			})
		}
		// More rows than one statement takes (1000 parameters, 3 a row),
		// so the rows span statements and every one must arrive.
		const many = 1_007
		rows := make([][]any, many)
		for i := range rows {
			rows[i] = []any{"t1", fmt.Sprintf("c%05d", i), int64(i)}
		}
		if err := insert(rows); err != nil {
			t.Fatal(err)
		}
		if n := readInt(t, db, ctx, `SELECT COUNT(*) FROM counters WHERE tenant_id = $1`, "t1"); n != many {
			t.Fatalf("%d rows, want %d", n, many)
		}
		if n := readInt(t, db, ctx, `SELECT SUM(n) FROM counters WHERE tenant_id = $1`, "t1"); n != many*(many-1)/2 {
			t.Fatalf("the values arrived shuffled: sum %d, want %d", n, many*(many-1)/2)
		}
		if n := readInt(t, db, ctx, `SELECT n FROM counters WHERE tenant_id = $1 AND name = $2`, "t1", "c01006"); n != 1006 {
			t.Fatalf("last row n = %d, want 1006", n)
		}
		// One bad row fails the whole insert, and the transaction with it.
		err := insert([][]any{{"t1", "ok", int64(1)}, {"t1", "bad", int64(-1)}})
		if !sqldb.IsCheckViolation(err) {
			t.Fatalf("a row breaking the CHECK: %v, want a check violation", err)
		}
		if n := readInt(t, db, ctx, `SELECT COUNT(*) FROM counters WHERE tenant_id = $1 AND name = 'ok'`, "t1"); n != 0 {
			t.Fatal("the good row of a failed insert was kept")
		}
		if err := insert([][]any{{"t1", "short"}}); err == nil {
			t.Fatal("a row with too few values was inserted")
		}
		if err := insert(nil); err != nil {
			t.Fatalf("no rows: %v, want nothing to do", err)
		}
	}, counters)
}

// TestCommittedHook: Options.Committed hears each committed write
// transaction with its tenant ("*" across tenants), never a rolled-back
// one, on SQLite (group commit) as on PostgreSQL.
func TestCommittedHook(t *testing.T) {
	urls := []string{""}
	if u := os.Getenv("MERCATO_TEST_POSTGRES"); u != "" {
		urls = append(urls, u)
	}
	for _, url := range urls {
		var mu sync.Mutex
		var heard []string
		db := sqldbtest.OpenWith(t, sqldb.Options{URL: url, RowSecurity: true,
			Committed: func(tenant string) { mu.Lock(); heard = append(heard, tenant); mu.Unlock() }}, counters)
		mu.Lock()
		heard = nil // migrations are not the hook's business either way
		mu.Unlock()
		ctx := tenancy.WithID(t.Context(), "t1")
		insert := func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('t1', 'a', 1)
				ON CONFLICT (tenant_id, name) DO UPDATE SET n = counters.n + 1`)
			return err
		}
		if err := db.WriteTx(ctx, insert); err != nil {
			t.Fatal(err)
		}
		if err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return errors.New("boom") }); err == nil {
			t.Fatal("a failed transaction succeeded")
		}
		if err := db.WriteTx(sqldb.AllTenants(t.Context()), insert); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := fmt.Sprint(heard)
		mu.Unlock()
		if got != "[t1 *]" {
			t.Errorf("%q: heard %s, want [t1 *]", url, got)
		}
	}
}

package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mercato/mercato/internal/platform/tenancy"
)

// postgresEnv names the PostgreSQL test server's URL (sqldbtest.PostgresEnv,
// which this package's own tests cannot import).
const postgresEnv = "MERCATO_TEST_POSTGRES"

// pgTestURL is the PostgreSQL test server's URL; the test is skipped
// without one.
func pgTestURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(postgresEnv)
	if u == "" {
		t.Skip(postgresEnv + " is not set")
	}
	return u
}

// openTestDB opens o's database under a fresh name (and directory), closed
// (its PostgreSQL schema dropped) when the test ends.
func openTestDB(t testing.TB, o Options, sets ...Migrations) *DB {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	o.Name, o.Dir = "t_"+hex.EncodeToString(b[:]), t.TempDir()
	db, err := Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if o.URL != "" {
			dropTestSchema(t, o.URL, o.Name)
		}
	})
	if err := db.Migrate(t.Context(), sets...); err != nil {
		t.Fatal(err)
	}
	return db
}

func dropTestSchema(t testing.TB, url, name string) {
	cfg, _, err := parseConfig(url)
	if err != nil {
		t.Errorf("drop test schema: %v", err)
		return
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `DROP SCHEMA IF EXISTS "`+name+`" CASCADE`); err != nil {
		t.Errorf("drop test schema %s: %v", name, err)
	}
}

// TestGroupCommitFailedCommitAbortsEveryMember: a batch whose COMMIT the
// server refuses (a deferred unique constraint, checked only then) tells
// every member so, retryable, and leaves none of their rows.
func TestGroupCommitFailedCommitAbortsEveryMember(t *testing.T) {
	db := openTestDB(t, Options{URL: pgTestURL(t), GroupCommitLanes: 1})
	if _, err := db.Write().ExecContext(t.Context(), `CREATE TABLE keyed (id BIGINT PRIMARY KEY, k BIGINT NOT NULL,
		CONSTRAINT keyed_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	keys := []int{1, 2, 1} // the third breaks the constraint, at COMMIT
	errs := inOneBatch(t, db, t.Context(), len(keys), func(i int) error {
		// do, not Tx: Tx would run them again, and apart.
		return db.commit.do(t.Context(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO keyed (id, k) VALUES ($1, $2)`, i, keys[i])
			return err
		})
	})
	for i, err := range errs {
		if !errors.Is(err, errBatchAborted) || !Retryable(err) || !IsUniqueViolation(err) {
			t.Errorf("member %d: %v, want the batch aborted (retryable) by the unique violation", i, err)
		}
	}
	var n int
	if err := db.Read().QueryRowContext(t.Context(), `SELECT count(*) FROM keyed`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows after a failed commit, want 0", n)
	}
}

var things = Migrations{Table: "test_gc_version", FS: fstest.MapFS{
	"0001_things.sql": {Data: []byte(`-- +goose Up
CREATE TABLE things (
    tenant_id TEXT NOT NULL,
    id        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- +goose Down
DROP TABLE things;
`)},
}}

// TestGroupCommitRowSecurity: members of one batch for different tenants
// each see and write only their own tenant's rows (each member's
// savepoint sets its tenant), and one refused a row of another tenant
// does not hold the others back.
func TestGroupCommitRowSecurity(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("pooled=%v", pooled), func(t *testing.T) {
			u := pgTestURL(t)
			if pooled {
				// pool_mode=transaction against the server itself: every
				// setting is then per transaction, as behind PgBouncer.
				sep := "?"
				if strings.Contains(u, "?") {
					sep = "&"
				}
				u += sep + "pool_mode=transaction"
			}
			testGroupCommitRowSecurity(t, openTestDB(t, Options{URL: u, RowSecurity: true, GroupCommitLanes: 1}, things))
		})
	}
}

func testGroupCommitRowSecurity(t *testing.T, db *DB) {
	ctx := t.Context()
	tenants := []string{"acme", "globex", "acme", "globex", "initech", "acme"}
	type seen struct{ mine, others int }
	got := make([]seen, len(tenants))
	errs := inOneBatch(t, db, tenancy.WithID(ctx, "initech"), len(tenants), func(i int) error {
		tenant := tenants[i]
		tctx := tenancy.WithID(ctx, tenant)
		return db.Tx(tctx, func(tx *sql.Tx) error {
			if i == 3 {
				// globex writing a row for acme: the policy refuses it.
				_, err := tx.ExecContext(tctx, `INSERT INTO things (tenant_id, id) VALUES ('acme', $1)`, i)
				return err
			}
			if _, err := tx.ExecContext(tctx, `INSERT INTO things (tenant_id, id) VALUES ($1, $2)`, tenant, i); err != nil {
				return err
			}
			// No tenant condition: the policy alone decides.
			if err := tx.QueryRowContext(tctx, `SELECT count(*) FROM things`).Scan(&got[i].mine); err != nil {
				return err
			}
			return tx.QueryRowContext(tctx, `SELECT count(*) FROM things WHERE tenant_id <> $1`, tenant).Scan(&got[i].others)
		})
	})
	if errs[3] == nil {
		t.Error("globex wrote a row for acme")
	}
	// What each member sees is its tenant's rows so far in the batch
	// (serial order), its own included.
	want := map[int]seen{0: {1, 0}, 1: {1, 0}, 2: {2, 0}, 4: {1, 0}, 5: {3, 0}}
	for i, w := range want {
		if errs[i] != nil {
			t.Errorf("member %d (%s): %v", i, tenants[i], errs[i])
		} else if got[i] != w {
			t.Errorf("member %d (%s) saw %d rows of its own and %d of others, want %d and 0", i, tenants[i], got[i].mine, got[i].others, w.mine)
		}
	}
	var n int
	all := AllTenants(ctx)
	if err := db.ReadTx(all, func(tx *sql.Tx) error {
		return tx.QueryRowContext(all, `SELECT count(*) FROM things`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("%d rows committed, want 5", n)
	}
}

// The crash test's child: when crashChildEnv names a schema, the test
// binary runs crashChild instead of the tests.
const crashChildEnv = "MERCATO_TEST_GROUP_COMMIT_CRASH_SCHEMA"

func TestMain(m *testing.M) {
	if schema := os.Getenv(crashChildEnv); schema != "" {
		crashChild(schema)
		return
	}
	os.Exit(m.Run())
}

// crashKeys are the idempotency keys of the crash test's members.
var crashKeys = []string{"k0", "k1", "k2", "k3"}

// answerOnce is a member of the crash test: the work of a request with an
// idempotency key, which records its answer beside its effect, and a
// retry that finds the answer recorded returns it instead of running again
// (as the services' idempotency records do).
func answerOnce(key string, answer *string, replayed *bool) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		*replayed = false
		err := tx.QueryRow(`SELECT answer FROM answers WHERE key = $1`, key).Scan(answer)
		if err == nil {
			*replayed = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(`UPDATE effects SET n = n + 1`); err != nil {
			return err
		}
		*answer = "order for " + key
		_, err = tx.Exec(`INSERT INTO answers (key, answer) VALUES ($1, $2)`, key, *answer)
		return err
	}
}

// crashChild runs the members of crashKeys as one batch on schema and is
// killed (SIGKILL, by itself) once the batch has committed, before any
// member is answered. It prints a line per answer it gets: there must be
// none.
func crashChild(schema string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	db, err := Open(ctx, Options{URL: os.Getenv(postgresEnv), Name: schema, GroupCommitLanes: 1})
	if err != nil {
		fail(err)
	}
	afterBatchCommit = func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	hold := make(chan struct{})
	leads := make(chan struct{}, 1)
	go func() {
		_ = db.Tx(ctx, func(tx *sql.Tx) error {
			signal(leads)
			<-hold
			return nil
		})
	}()
	<-leads
	var wg sync.WaitGroup
	for i, key := range crashKeys {
		wg.Go(func() {
			var answer string
			var replayed bool
			if err := db.Tx(ctx, answerOnce(key, &answer, &replayed)); err != nil {
				fmt.Println("failed", key, err)
				return
			}
			fmt.Println("answered", key, answer)
		})
		for {
			db.commit.mu.Lock()
			n := len(db.commit.queue)
			db.commit.mu.Unlock()
			if n > i {
				break
			}
			runtime.Gosched()
		}
	}
	close(hold)
	wg.Wait()
	fail(errors.New("the batch was answered: the process was not killed after its commit"))
}

// TestGroupCommitCrashAfterCommit kills a process after its batch has
// committed and before any member was answered: each member's retry (same
// idempotency key) gets the committed answer, and none is applied twice.
func TestGroupCommitCrashAfterCommit(t *testing.T) {
	db := openTestDB(t, Options{URL: pgTestURL(t), GroupCommitLanes: 1})
	for _, stmt := range []string{
		`CREATE TABLE answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)`,
		`CREATE TABLE effects (n BIGINT NOT NULL)`,
		`INSERT INTO effects (n) VALUES (0)`,
	} {
		if _, err := db.Write().ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashChildEnv+"="+db.Name())
	out, err := child.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL; stdout:\n%s", err, out)
	}
	if len(out) != 0 {
		t.Fatalf("the child answered before it was killed:\n%s", out)
	}
	for _, key := range crashKeys {
		var answer string
		var replayed bool
		if err := db.Tx(t.Context(), answerOnce(key, &answer, &replayed)); err != nil {
			t.Fatalf("retry %s: %v", key, err)
		}
		if !replayed || answer != "order for "+key {
			t.Errorf("retry %s: answer %q (replayed %v), want the committed one", key, answer, replayed)
		}
	}
	var n int
	if err := db.Read().QueryRowContext(t.Context(), `SELECT n FROM effects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(crashKeys) {
		t.Errorf("effects applied %d times, want %d (once per member)", n, len(crashKeys))
	}
}

// TestGroupCommitMemberWaitingForALockLetsTheBatchCommit: a member that
// waits for a row locked outside its batch gives up after batchLockTimeout
// instead of holding back the others (their locks, their answers); it runs
// again, and commits once the row is free.
func TestGroupCommitMemberWaitingForALockLetsTheBatchCommit(t *testing.T) {
	db := openTestDB(t, Options{URL: pgTestURL(t), GroupCommitLanes: 1})
	if _, err := db.Write().ExecContext(t.Context(), `CREATE TABLE items (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write().ExecContext(t.Context(), `INSERT INTO items (id, n) VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	// Another transaction (another process, say) holds row 1.
	locker, err := db.Write().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Rollback()
	if _, err := locker.Exec(`UPDATE items SET n = n + 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	release, wait := holdLane(t, db, t.Context())
	other := make(chan error, 1)
	go func() {
		other <- db.Tx(t.Context(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO items (id, n) VALUES (2, 0)`)
			return err
		})
	}()
	queued(t, db, 1)
	waiter := make(chan error, 1)
	var runs atomic.Int32
	go func() {
		waiter <- db.Tx(t.Context(), func(tx *sql.Tx) error {
			runs.Add(1)
			_, err := tx.Exec(`UPDATE items SET n = n + 10 WHERE id = 1`)
			return err
		})
	}()
	queued(t, db, 2)
	release()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-other:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a member waiting for a lock held its batch's commit back")
	}
	if err := locker.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-waiter; err != nil {
		t.Fatalf("the member that waited: %v", err)
	}
	if runs.Load() < 2 {
		t.Errorf("the member that waited ran %d times, want it run again", runs.Load())
	}
	var n int
	if err := db.Read().QueryRowContext(t.Context(), `SELECT n FROM items WHERE id = 1`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 11 {
		t.Errorf("n = %d, want 11 (both updates, once each)", n)
	}
}

// TestGroupCommitAlone: a transaction under Alone neither waits for a
// lane nor joins a batch: it runs while the only lane is held.
func TestGroupCommitAlone(t *testing.T) {
	db := openTestDB(t, Options{URL: pgTestURL(t), GroupCommitLanes: 1})
	if _, err := db.Write().ExecContext(t.Context(), `CREATE TABLE items (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	release, wait := holdLane(t, db, t.Context())
	defer func() {
		release()
		if err := wait(); err != nil {
			t.Error(err)
		}
	}()
	done := make(chan error, 1)
	go func() {
		done <- db.Tx(Alone(t.Context()), func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO items (id, n) VALUES (1, 1)`)
			return err
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a transaction under Alone waited for the lane")
	}
}

// TestGroupCommitSessionLostBeforeCommit: a batch whose session ends
// before its COMMIT (here a member's own statement ends it, as a restart
// would) leaves nothing behind, and every member, the earlier ones too,
// runs again and commits once.
func TestGroupCommitSessionLostBeforeCommit(t *testing.T) {
	db := openTestDB(t, Options{URL: pgTestURL(t), GroupCommitLanes: 1})
	if _, err := db.Write().ExecContext(t.Context(), `CREATE TABLE items (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const n = 4
	runs := make([]atomic.Int32, n)
	errs := inOneBatch(t, db, t.Context(), n, func(i int) error {
		return db.Tx(t.Context(), func(tx *sql.Tx) error {
			if runs[i].Add(1) == 1 && i == 2 {
				_, err := tx.Exec(`SELECT pg_terminate_backend(pg_backend_pid())`)
				return err
			}
			_, err := tx.Exec(`INSERT INTO items (id, n) VALUES ($1, 1)`, i)
			return err
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("member %d: %v", i, err)
		}
	}
	if runs[0].Load() != 2 {
		t.Errorf("member 0 ran %d times, want 2: its work was lost with the session", runs[0].Load())
	}
	var got int
	if err := db.Read().QueryRowContext(t.Context(), `SELECT count(*) FROM items`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("%d rows, want %d (each member once)", got, n)
	}
}

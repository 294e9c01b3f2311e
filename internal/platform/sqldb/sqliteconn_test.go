package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// cached runs fn with the statement cache of conn's driver connection:
// each cached text and its statement.
func cached(t *testing.T, conn *sql.Conn, fn func(stmts map[string]any)) {
	t.Helper()
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("driver connection is %T, want *cachingConn", dc)
		}
		if c.lru.Len() != len(c.stmts) {
			return fmt.Errorf("%d statements in the LRU list, %d in the map", c.lru.Len(), len(c.stmts))
		}
		m := map[string]any{}
		for q, el := range c.stmts {
			m[q] = el.Value.(*cachedStmt).st
		}
		fn(m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	c, err := newSQLiteConnector("file:"+filepath.Join(t.TempDir(), "cache.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) error {
		_, err := conn.ExecContext(ctx, q, args...)
		return err
	}
	count := func() (n int) {
		if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := exec(`CREATE TABLE t (n BIGINT NOT NULL CHECK (n >= 0))`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO t (n) VALUES ($1)`

	t.Run("a statement is prepared once and runs with each execution's arguments", func(t *testing.T) {
		var first any
		for i := range 3 {
			if err := exec(insert, i); err != nil {
				t.Fatal(err)
			}
			cached(t, conn, func(stmts map[string]any) {
				if stmts[insert] == nil {
					t.Fatalf("%q is not cached", insert)
				}
				if i == 0 {
					first = stmts[insert]
				} else if stmts[insert] != first {
					t.Fatalf("%q was prepared again on execution %d", insert, i+1)
				}
			})
		}
		var sum int
		if err := conn.QueryRowContext(ctx, `SELECT SUM(n) FROM t`).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		if sum != 0+1+2 {
			t.Fatalf("sum = %d, want 3: the cached statement lost its arguments", sum)
		}
	})

	t.Run("a cached statement still reports its errors and runs again after one", func(t *testing.T) {
		if err := exec(insert, -1); err == nil {
			t.Fatal("inserting -1 broke no CHECK")
		}
		if err := exec(insert); err == nil {
			t.Fatal("a missing argument was not reported")
		}
		before := count()
		if err := exec(insert, 7); err != nil {
			t.Fatalf("the statement failed after an error: %v", err)
		}
		if count() != before+1 {
			t.Fatal("the insert after an error wrote nothing")
		}
	})

	t.Run("a statement that does not parse fails and is not kept", func(t *testing.T) {
		const bad = `INSERT INTO nowhere VALUES ($1)`
		if err := exec(bad, 1); err == nil {
			t.Fatal("an insert into a missing table succeeded")
		}
		cached(t, conn, func(stmts map[string]any) {
			if _, ok := stmts[bad]; ok {
				t.Fatal("a statement that failed to prepare was cached")
			}
		})
	})

	t.Run("a script runs all its statements on every execution", func(t *testing.T) {
		const script = `INSERT INTO t (n) VALUES (100); INSERT INTO t (n) VALUES (101)`
		before := count()
		for range 2 {
			if err := exec(script); err != nil {
				t.Fatal(err)
			}
		}
		if got := count() - before; got != 4 {
			t.Fatalf("two runs of a two-statement script wrote %d rows, want 4", got)
		}
	})

	t.Run("a cached statement follows a schema change", func(t *testing.T) {
		if err := exec(`ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT 'none'`); err != nil {
			t.Fatal(err)
		}
		if err := exec(insert, 8); err != nil {
			t.Fatalf("the cached insert failed after the table changed: %v", err)
		}
		var note string
		if err := conn.QueryRowContext(ctx, `SELECT note FROM t WHERE n = 8`).Scan(&note); err != nil || note != "none" {
			t.Fatalf("note = %q, %v; want the new column's default", note, err)
		}
	})

	t.Run("past the bound the least recently used statement goes", func(t *testing.T) {
		text := func(i int) string { return fmt.Sprintf(`INSERT INTO t (n) VALUES (%d)`, 1000+i) }
		// Fill the cache with texts of this test alone, then use the
		// first again: the second is now the least recently used.
		for i := range stmtCacheSize {
			if err := exec(text(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := exec(text(0)); err != nil {
			t.Fatal(err)
		}
		before := count()
		if err := exec(text(stmtCacheSize)); err != nil {
			t.Fatal(err)
		}
		if count() != before+1 {
			t.Fatal("a statement past the bound wrote nothing")
		}
		cached(t, conn, func(stmts map[string]any) {
			if len(stmts) != stmtCacheSize {
				t.Fatalf("%d statements cached, want the bound %d", len(stmts), stmtCacheSize)
			}
			if stmts[text(0)] == nil || stmts[text(stmtCacheSize)] == nil {
				t.Fatal("a recently used statement was dropped")
			}
			if _, ok := stmts[text(1)]; ok {
				t.Fatalf("%q, the least recently used, is still cached", text(1))
			}
			if _, ok := stmts[insert]; ok {
				t.Fatalf("%q, used before all of this test's, is still cached", insert)
			}
		})
	})
}

// TestDetachedStatementsOutliveCancellation: on the writer's connections a
// statement runs to its end when its context is cancelled midway (SQLite
// would roll back the whole shared transaction otherwise); on the readers'
// the statement is interrupted, as the driver does.
func TestDetachedStatementsOutliveCancellation(t *testing.T) {
	// About half a second of work for SQLite: long enough to be cancelled
	// midway.
	const slow = `INSERT INTO t (n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT x FROM c`
	for _, detach := range []bool{true, false} {
		t.Run(fmt.Sprintf("detach=%v", detach), func(t *testing.T) {
			c, err := newSQLiteConnector("file:"+filepath.Join(t.TempDir(), "d.db"), detach)
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(c)
			defer db.Close()
			if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (n BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			for _, how := range []string{"executed", "prepared"} {
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(50*time.Millisecond, cancel)
				start := time.Now()
				if how == "executed" {
					_, err = db.ExecContext(ctx, slow)
				} else {
					var st *sql.Stmt
					if st, err = db.PrepareContext(t.Context(), slow); err != nil {
						t.Fatal(err)
					}
					_, err = st.ExecContext(ctx)
					st.Close()
				}
				took := time.Since(start)
				cancel()
				var n int
				if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(t.Context(), `DELETE FROM t`); err != nil {
					t.Fatal(err)
				}
				if took < 50*time.Millisecond {
					t.Skipf("the statement took %v, too fast to be cancelled midway on this machine", took)
				}
				if detach && (err != nil || n != 1000000) {
					t.Errorf("%s: cancelled midway: %v, %d rows; want it to finish with 1000000", how, err, n)
				}
				if !detach && (err == nil || n != 0) {
					t.Errorf("%s: cancelled midway: %v, %d rows; want it interrupted and nothing written", how, err, n)
				}
			}
		})
	}
}

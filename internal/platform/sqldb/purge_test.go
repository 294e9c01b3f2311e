package sqldb_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// fill inserts n counters of tenant t1 with a long name each, so that
// deleting them frees pages.
func fill(t *testing.T, db *sqldb.DB, n int) {
	t.Helper()
	ctx := tenancy.WithID(t.Context(), "t1")
	pad := strings.Repeat("x", 400)
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		for i := range n {
			if _, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ($1, $2, $3)`, "t1", pad+strconv.Itoa(i), i); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteBatches(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		fill(t, db, 2*sqldb.PurgeBatch+10)
		ctx := sqldb.AllTenants(t.Context())
		n, err := db.DeleteBatches(ctx, `DELETE FROM counters WHERE (tenant_id, name) IN (SELECT tenant_id, name FROM counters WHERE n >= $1 ORDER BY n LIMIT $2)`, 5)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(2*sqldb.PurgeBatch + 5); n != want {
			t.Errorf("deleted %d rows, want %d", n, want)
		}
		if left := readInt(t, db, tenancy.WithID(t.Context(), "t1"), `SELECT COUNT(*) FROM counters`); left != 5 {
			t.Errorf("%d rows left, want 5", left)
		}
		if db.Dialect() == sqldb.SQLite {
			var free int64
			if err := db.Read().QueryRowContext(t.Context(), `PRAGMA freelist_count`).Scan(&free); err != nil {
				t.Fatal(err)
			}
			if free != 0 {
				t.Errorf("%d free pages left after the purge, want 0 (given back)", free)
			}
		}
	}, counters)
}

// TestSQLiteIncrementalVacuumOnExistingFile opens a database file made
// without auto_vacuum (as Mercato made them before) and checks it is
// converted, and that a purge then shrinks the file.
func TestSQLiteIncrementalVacuumOnExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE legacy (x TEXT)`); err != nil {
		t.Fatal(err)
	}
	var mode int
	if err := raw.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode != 0 {
		t.Fatalf("a plain file's auto_vacuum = %d (%v), want 0", mode, err)
	}
	raw.Close()

	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Options{Dir: dir, Name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Read().QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("auto_vacuum after open = %d (%v), want 2 (incremental)", mode, err)
	}
	if err := db.Migrate(ctx, counters); err != nil {
		t.Fatal(err)
	}
	fill(t, db, 3000)
	checkpoint := func() int64 {
		t.Helper()
		if _, err := db.Write().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	full := checkpoint()
	if _, err := db.DeleteBatches(sqldb.AllTenants(ctx), `DELETE FROM counters WHERE (tenant_id, name) IN (SELECT tenant_id, name FROM counters ORDER BY n LIMIT $1)`); err != nil {
		t.Fatal(err)
	}
	if after := checkpoint(); after > full/4 {
		t.Errorf("file is %d bytes after purging every row, was %d: space not given back", after, full)
	}
}

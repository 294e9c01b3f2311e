package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// TestPipelinedStatements: Execs marked Pipelined behave, for what a
// transaction can see, as if they had run at once, on both engines. On
// PostgreSQL they are queued: a failure is reported by a later statement
// or the COMMIT, and the transaction fails as a whole.
func TestPipelinedStatements(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "t1")
		put := func(ctx context.Context, tx *sql.Tx, name string, n int) (sql.Result, error) {
			return tx.ExecContext(sqldb.Pipelined(ctx), `INSERT INTO counters (tenant_id, name, n) VALUES ('t1', $1, $2)
				ON CONFLICT (tenant_id, name) DO NOTHING`, name, n)
		}
		count := func(name string) int64 {
			return readInt(t, db, ctx, `SELECT COUNT(*) FROM counters WHERE tenant_id = 't1' AND name = $1`, name)
		}

		t.Run("later statements see them, commit keeps them", func(t *testing.T) {
			err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				for _, name := range []string{"a", "b", "c"} {
					if _, err := put(ctx, tx, name, 1); err != nil {
						return err
					}
				}
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM counters WHERE tenant_id = 't1'`).Scan(&n); err != nil {
					return err
				}
				if n != 3 {
					t.Errorf("the transaction sees %d rows, want 3", n)
				}
				_, err := put(ctx, tx, "d", 1) // the tail goes with COMMIT
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"a", "b", "c", "d"} {
				if count(name) != 1 {
					t.Errorf("row %s was not committed", name)
				}
			}
			// a, b and c went out with the SELECT's flush (one round
			// trip, not three), d with COMMIT.
			if saved := db.RoundTripsSaved(); db.Dialect() == sqldb.Postgres && saved != 3 {
				t.Errorf("%d round trips saved, want 3", saved)
			}
		})

		t.Run("RowsAffected waits for the answer", func(t *testing.T) {
			var fresh, again int64
			err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				r1, err := put(ctx, tx, "e", 1)
				if err != nil {
					return err
				}
				r2, err := put(ctx, tx, "e", 1) // a conflict: nothing inserted
				if err != nil {
					return err
				}
				if fresh, err = r1.RowsAffected(); err != nil {
					return err
				}
				again, err = r2.RowsAffected()
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if fresh != 1 || again != 0 {
				t.Errorf("rows affected %d and %d, want 1 and 0", fresh, again)
			}
		})

		t.Run("a failure fails the whole transaction", func(t *testing.T) {
			var execErr error
			err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('t1', 'f', 1)`); err != nil {
					return err
				}
				_, execErr = put(ctx, tx, "g", -1) // breaks the CHECK
				if execErr != nil {
					return execErr
				}
				_, err := put(ctx, tx, "h", 1)
				return err
			})
			if err == nil {
				t.Fatal("a transaction with a failed statement committed")
			}
			if !sqldb.IsCheckViolation(err) {
				t.Errorf("error %v, want the CHECK violation", err)
			}
			if db.Dialect() == sqldb.Postgres && execErr != nil {
				t.Errorf("the pipelined Exec reported %v at once; it should have been queued", execErr)
			}
			for _, name := range []string{"f", "g", "h"} {
				if count(name) != 0 {
					t.Errorf("row %s of a failed transaction was kept", name)
				}
			}
		})

		t.Run("a failure is reported by the next statement", func(t *testing.T) {
			var next error
			err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := put(ctx, tx, "i", -1); err != nil {
					return err // SQLite: at once
				}
				_, next = tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE tenant_id = 't1' AND name = 'a'`)
				return next
			})
			if !sqldb.IsCheckViolation(err) {
				t.Fatalf("error %v, want the CHECK violation", err)
			}
			if db.Dialect() == sqldb.Postgres && !sqldb.IsCheckViolation(next) {
				t.Errorf("the statement after the failed one said %v, want its CHECK violation", next)
			}
			if n := readInt(t, db, ctx, `SELECT n FROM counters WHERE tenant_id = 't1' AND name = 'a'`); n != 1 {
				t.Errorf("a = %d after a failed transaction, want 1", n)
			}
		})

		t.Run("rollback drops what was queued", func(t *testing.T) {
			boom := errors.New("boom")
			// More transactions than the pool has connections: none may
			// carry a queue from an earlier one into its own commit.
			for range 30 {
				err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
					if _, err := put(ctx, tx, "j", 1); err != nil {
						return err
					}
					return boom
				})
				if !errors.Is(err, boom) {
					t.Fatalf("error %v, want the function's own", err)
				}
			}
			if err := db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := put(ctx, tx, "k", 1)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if count("j") != 0 || count("k") != 1 {
				t.Error("a rolled-back queue was sent, or a later transaction lost its row")
			}
		})

		t.Run("a prepared statement queues too", func(t *testing.T) {
			st, err := db.Write().PrepareContext(ctx, `INSERT INTO counters (tenant_id, name, n) VALUES ('t1', $1, $2)`)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var execErr error
			err = db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.StmtContext(ctx, st).ExecContext(sqldb.Pipelined(ctx), "l", 1); err != nil {
					return err
				}
				_, execErr = tx.StmtContext(ctx, st).ExecContext(sqldb.Pipelined(ctx), "l", 1) // duplicate key
				return execErr
			})
			if !sqldb.IsUniqueViolation(err) {
				t.Fatalf("error %v, want the unique violation", err)
			}
			if db.Dialect() == sqldb.Postgres && execErr != nil {
				t.Errorf("the prepared pipelined Exec reported %v at once", execErr)
			}
			if count("l") != 0 {
				t.Error("half of a failed transaction was kept")
			}
		})
	}, counters)
}

package outbox_test

import (
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

func TestPurgeKeepsEachKindForItsRetention(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		ago := func(h int) int64 { return now.Add(-time.Duration(h) * time.Hour).UnixMicro() }
		ctx := sqldb.AllTenants(t.Context())
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			for _, r := range []struct {
				id        string
				published any
			}{{"old", ago(100)}, {"recent", ago(50)}, {"pending", nil}} {
				if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, tenant_id, subject, envelope, created_at, published_at) VALUES ($1, 't1', 's', '{}', $2, $3)`,
					r.id, ago(200), r.published); err != nil {
					return err
				}
			}
			for id, h := range map[string]int{"old": 200, "recent": 100} {
				if _, err := tx.ExecContext(ctx, `INSERT INTO inbox (consumer, event_id, tenant_id, handled_at) VALUES ('c', $1, 't1', $2)`, id, ago(h)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		r := outbox.NewRelay(db, nil, slog.New(slog.DiscardHandler), outbox.RelayConfig{Retention: 72 * time.Hour, InboxRetention: 168 * time.Hour})
		outbox.SetNow(r, func() time.Time { return now })
		if err := r.Purge(t.Context()); err != nil {
			t.Fatal(err)
		}
		ids := func(q string) []string {
			t.Helper()
			var out []string
			// In a read transaction: on PostgreSQL row-level security
			// shows every tenant's rows only there.
			if err := db.ReadTx(ctx, func(tx *sql.Tx) error {
				rows, err := tx.QueryContext(ctx, q)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var s string
					if err := rows.Scan(&s); err != nil {
						return err
					}
					out = append(out, s)
				}
				return rows.Err()
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got := ids(`SELECT id FROM outbox ORDER BY id`); len(got) != 2 || got[0] != "pending" || got[1] != "recent" {
			t.Errorf("outbox after purge = %v, want [pending recent] (published 100h ago gone, 50h kept, unpublished kept)", got)
		}
		if got := ids(`SELECT event_id FROM inbox ORDER BY event_id`); len(got) != 1 || got[0] != "recent" {
			t.Errorf("inbox after purge = %v, want [recent] (handled 100h ago kept for 168h)", got)
		}
	}, outbox.Migrations)
}

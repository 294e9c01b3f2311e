package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/bus/natsbus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// effects is the test's business table: one row per applied effect, so a
// second application of one event shows as a second row.
var effects = sqldb.Migrations{Table: "effects_db_version", FS: fstest.MapFS{
	"0001_effects.sql": {Data: []byte(`-- +goose Up
CREATE TABLE orders (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL);
CREATE TABLE effects (seq TEXT PRIMARY KEY, event_id TEXT NOT NULL, tenant_id TEXT NOT NULL);
-- +goose Down
DROP TABLE effects;
DROP TABLE orders;
`)},
}}

type placed struct {
	OrderID string `json:"order_id"`
}

// placeOrder is a business transaction: a row and its event, committed together.
func placeOrder(ctx context.Context, db *sqldb.DB, id string) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		tenant, err := tenancy.ID(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, tenant_id) VALUES ($1, $2)`, id, tenant); err != nil {
			return err
		}
		ev, err := outbox.NewEvent(ctx, "test", "order.placed.v1", time.Now(), placed{OrderID: id})
		if err != nil {
			return err
		}
		return outbox.Add(ctx, tx, ev)
	})
}

// consume applies order.placed.v1 through the inbox, writing one effect row
// per application, until ctx is done.
func consume(ctx context.Context, t testing.TB, b bus.Bus, db *sqldb.DB) bus.Consumer {
	t.Helper()
	sub := bus.Subscription{Group: "effects", Subjects: []string{"order.>"}, MaxAttempts: 3, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}
	c, err := outbox.Consume(ctx, b, db, sub, time.Now, func(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
		tenant, err := tenancy.ID(ctx)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO effects (seq, event_id, tenant_id) VALUES ($1, $2, $3)`,
			fmt.Sprintf("%s-%d", e.ID, time.Now().UnixNano()), e.ID, tenant)
		return err
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return c
}

// count runs a counting query across every tenant (row-level security on
// PostgreSQL shows a query without a tenant nothing).
func count(t testing.TB, db *sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	ctx := sqldb.AllTenants(context.Background())
	if err := db.ReadTx(ctx, func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, q, args...).Scan(&n) }); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func embeddedBus(t testing.TB, dir string) (*natsbus.Server, bus.Bus) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	srv, err := natsbus.StartEmbedded(natsbus.Options{Dir: dir}, log)
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	b, err := natsbus.ConnectEmbedded(context.Background(), srv, natsbus.Options{}, log)
	if err != nil {
		srv.Shutdown()
		t.Fatalf("connect nats: %v", err)
	}
	return srv, b
}

func TestRelayDeliversOnceDespiteRepublish(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "acme")
		srv, b := embeddedBus(t, t.TempDir())
		t.Cleanup(func() { b.Close(); srv.Shutdown() })
		c := consume(ctx, t, b, db)
		defer c.Stop()

		relay := outbox.NewRelay(db, b, slog.New(slog.DiscardHandler), outbox.RelayConfig{})
		for i := range 3 {
			if err := placeOrder(ctx, db, fmt.Sprintf("o%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := relay.Flush(ctx); err != nil || n != 3 {
			t.Fatalf("flush = %d, %v; want 3", n, err)
		}
		waitFor(t, "3 effects", func() bool { return count(t, db, `SELECT COUNT(*) FROM effects`) == 3 })

		// Replaying the window republishes the same message IDs: the broker
		// or the inbox drops them, and no effect is applied twice.
		if n, err := relay.Republish(ctx, time.Time{}); err != nil || n != 3 {
			t.Fatalf("republish = %d, %v; want 3", n, err)
		}
		if n, err := relay.Flush(ctx); err != nil || n != 3 {
			t.Fatalf("flush after republish = %d, %v; want 3", n, err)
		}
		if err := placeOrder(ctx, db, "marker"); err != nil {
			t.Fatal(err)
		}
		if _, err := relay.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the marker effect", func() bool { return count(t, db, `SELECT COUNT(*) FROM effects`) >= 4 })
		if got := count(t, db, `SELECT COUNT(*) FROM effects`); got != 4 {
			t.Fatalf("effects = %d, want 4 (each event once)", got)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM effects WHERE tenant_id = 'acme'`); got != 4 {
			t.Errorf("effects carry tenant acme: %d of 4", got)
		}
		if p, _ := relay.Pending(ctx); p != 0 {
			t.Errorf("pending = %d after flush", p)
		}
	}, outbox.Migrations, effects)
}

func TestHandleIsIdempotent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), "acme")
		e, err := outbox.NewEvent(ctx, "test", "order.placed.v1", time.Now(), placed{OrderID: "x"})
		if err != nil {
			t.Fatal(err)
		}
		runs := 0
		for i := range 3 {
			applied, err := outbox.Handle(ctx, db, "c1", e, time.Now(), func(ctx context.Context, tx *sql.Tx) error {
				runs++
				return nil
			})
			if err != nil || applied != (i == 0) {
				t.Fatalf("handle #%d = %v, %v", i, applied, err)
			}
		}
		// A failing effect leaves no inbox record: the retry applies it.
		e2, _ := outbox.NewEvent(ctx, "test", "order.placed.v1", time.Now(), placed{OrderID: "y"})
		if _, err := outbox.Handle(ctx, db, "c1", e2, time.Now(), func(context.Context, *sql.Tx) error { return fmt.Errorf("boom") }); err == nil {
			t.Fatal("want the effect's error")
		}
		applied, err := outbox.Handle(ctx, db, "c1", e2, time.Now(), func(context.Context, *sql.Tx) error { runs++; return nil })
		if err != nil || !applied || runs != 2 {
			t.Fatalf("retry after failure: applied=%v err=%v runs=%d", applied, err, runs)
		}
		// Another consumer applies the same event on its own.
		applied, _ = outbox.Handle(ctx, db, "c2", e, time.Now(), func(context.Context, *sql.Tx) error { return nil })
		if !applied {
			t.Error("second consumer did not apply the event")
		}
	}, outbox.Migrations)
}

func TestNewEventNeedsTenant(t *testing.T) {
	if _, err := outbox.NewEvent(t.Context(), "test", "order.placed.v1", time.Now(), nil); err == nil {
		t.Fatal("an event without a tenant was built")
	}
}

func TestMalformedEventIsDeadLettered(t *testing.T) {
	db := sqldbtest.Open(t, "", outbox.Migrations, effects)
	ctx := tenancy.WithID(t.Context(), "acme")
	srv, b := embeddedBus(t, t.TempDir())
	t.Cleanup(func() { b.Close(); srv.Shutdown() })
	c := consume(ctx, t, b, db)
	defer c.Stop()

	for _, bad := range []string{`{not json`, `{"id":"","type":"order.placed.v1","tenant":"acme"}`, `{"id":"x1","type":"order.placed.v1","tenant":"NOT A TENANT"}`} {
		if err := b.Publish(ctx, bus.Message{ID: "bad-" + bad[:6] + fmt.Sprint(len(bad)), Subject: "order.placed.v1", Data: []byte(bad)}); err != nil {
			t.Fatal(err)
		}
	}
	relay := outbox.NewRelay(db, b, slog.New(slog.DiscardHandler), outbox.RelayConfig{})
	if err := placeOrder(ctx, db, "good"); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the good event after the bad ones", func() bool { return count(t, db, `SELECT COUNT(*) FROM effects`) == 1 })
	waitFor(t, "3 dead letters", func() bool {
		dls, err := b.DeadLetters(ctx, "effects", 10)
		return err == nil && len(dls) == 3
	})
	dls, _ := b.DeadLetters(ctx, "effects", 10)
	for _, d := range dls {
		if d.Attempts != 1 {
			t.Errorf("malformed event %s tried %d times; a permanent error is not retried", d.ID, d.Attempts)
		}
	}
}

// The crash test runs a second copy of this test binary as the process that
// dies: it commits a business transaction (and, in the second case, publishes
// its event) and exits at once, without any cleanup. The parent then restarts
// on the same database and bus files and checks the event is delivered and
// applied exactly once.

const (
	crashEnv    = "MERCATO_OUTBOX_CRASH"
	crashDirEnv = "MERCATO_OUTBOX_CRASH_DIR"
	crashDBEnv  = "MERCATO_OUTBOX_CRASH_DB"
	crashURLEnv = "MERCATO_OUTBOX_CRASH_URL"
)

// TestMain turns this binary into the crashing child when asked to.
func TestMain(m *testing.M) {
	if point := os.Getenv(crashEnv); point != "" {
		crashChild(point)
	}
	os.Exit(m.Run())
}

// crashChild commits an order and dies at point; it never returns.
func crashChild(point string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := tenancy.WithID(context.Background(), "acme")
	dir := os.Getenv(crashDirEnv)
	db, err := sqldb.Open(ctx, sqldb.Options{URL: os.Getenv(crashURLEnv), Dir: dir, Name: os.Getenv(crashDBEnv)})
	if err != nil {
		fail(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv, err := natsbus.StartEmbedded(natsbus.Options{Dir: filepath.Join(dir, "nats")}, log)
	if err != nil {
		fail(err)
	}
	b, err := natsbus.ConnectEmbedded(ctx, srv, natsbus.Options{}, log)
	if err != nil {
		fail(err)
	}
	if err := placeOrder(ctx, db, "o-crash"); err != nil {
		fail(err)
	}
	if point == "after-commit" {
		os.Exit(3) // committed, never published
	}
	relay := outbox.NewRelay(db, b, log, outbox.RelayConfig{})
	outbox.CrashAfterPublish(relay, func() { os.Exit(3) }) // published, never stamped
	_, err = relay.Flush(ctx)
	fail(fmt.Errorf("flush returned without crashing: %v", err))
}

func TestCrashBetweenCommitAndPublish(t *testing.T) {
	for _, point := range []string{"after-commit", "after-publish"} {
		t.Run(point, func(t *testing.T) {
			sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
				ctx := tenancy.WithID(t.Context(), "acme")
				dir := t.TempDir()
				natsDir := filepath.Join(dir, "nats")
				url := ""
				if db.Dialect() == sqldb.Postgres {
					url = os.Getenv(sqldbtest.PostgresEnv)
				} else {
					// The child opens the parent's file: point it there.
					db.Close()
					var err error
					db, err = sqldb.Open(ctx, sqldb.Options{Dir: dir, Name: "crash"})
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					if err := db.Migrate(ctx, outbox.Migrations, effects); err != nil {
						t.Fatal(err)
					}
				}

				// The consumer group exists before the crash, as in a running system.
				srv, b := embeddedBus(t, natsDir)
				consume(ctx, t, b, db).Stop()
				b.Close()
				srv.Shutdown()

				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), crashEnv+"="+point, crashDirEnv+"="+dir, crashDBEnv+"="+db.Name(), crashURLEnv+"="+url)
				out, err := cmd.CombinedOutput()
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
					t.Fatalf("child did not crash at %s: %v\n%s", point, err, out)
				}
				if got := count(t, db, `SELECT COUNT(*) FROM outbox WHERE published_at IS NULL`); got != 1 {
					t.Fatalf("after the crash, unpublished outbox rows = %d, want 1", got)
				}

				// Restart: the relay finds the row, publishes it (again, in the
				// second case), and the consumer applies it once.
				srv, b = embeddedBus(t, natsDir)
				defer func() { b.Close(); srv.Shutdown() }()
				c := consume(ctx, t, b, db)
				defer c.Stop()
				relay := outbox.NewRelay(db, b, slog.New(slog.DiscardHandler), outbox.RelayConfig{})
				if n, err := relay.Flush(ctx); err != nil || n != 1 {
					t.Fatalf("flush after restart = %d, %v; want 1", n, err)
				}
				waitFor(t, "the order's effect", func() bool { return count(t, db, `SELECT COUNT(*) FROM effects`) >= 1 })
				// A later event proves the consumer has caught up: the
				// crashed one cannot still be on its way after it.
				if err := placeOrder(ctx, db, "o-after"); err != nil {
					t.Fatal(err)
				}
				if _, err := relay.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the later effect", func() bool { return count(t, db, `SELECT COUNT(*) FROM effects`) >= 2 })
				if got := count(t, db, `SELECT COUNT(*) FROM effects`); got != 2 {
					t.Fatalf("effects = %d, want 2: the crashed order's event applied exactly once", got)
				}
				if got := count(t, db, `SELECT COUNT(*) FROM orders WHERE id = 'o-crash'`); got != 1 {
					t.Fatalf("the crashed order's row: %d", got)
				}
			}, outbox.Migrations, effects)
		})
	}
}

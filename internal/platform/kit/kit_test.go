package kit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// queries has the shape sqlc generates: a DBTX interface, Prepare and
// WithTx.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type queries struct{ db dbtx }

func prepare(ctx context.Context, db dbtx) (*queries, error) {
	st, err := db.PrepareContext(ctx, `SELECT count(*) FROM kit_notes`)
	if err != nil {
		return nil, err
	}
	st.Close()
	return &queries{db: db}, nil
}

func (q *queries) WithTx(tx *sql.Tx) *queries { return &queries{db: tx} }

func (q *queries) add(ctx context.Context, id string) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO kit_notes (id) VALUES ($1)`, id)
	return err
}

func (q *queries) count(ctx context.Context) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM kit_notes`).Scan(&n)
	return n, err
}

var notes = sqldb.Migrations{Table: "kit_db_version", FS: fstest.MapFS{
	"0001_notes.sql": {Data: []byte("-- +goose Up\nCREATE TABLE kit_notes (id TEXT PRIMARY KEY);\n")},
}}

func TestStore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), tenancy.DefaultID)
		st, err := kit.Prepare(ctx, "notes", kit.Deps{DB: db}, prepare)
		if err != nil {
			t.Fatal(err)
		}
		if st.DB() != db {
			t.Fatal("DB() is not the database prepared on")
		}
		for range 3 {
			err := st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *queries) error { return q.add(ctx, kit.NewID()) })
			if err != nil {
				t.Fatal(err)
			}
		}
		// A failed write leaves nothing behind.
		boom := errors.New("boom")
		err = st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *queries) error {
			if err := q.add(ctx, "x"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("write error = %v, want boom", err)
		}
		n, err := kit.ReadOne(ctx, st, func(q *queries) (int64, error) { return q.count(ctx) })
		if err != nil || n != 3 {
			t.Fatalf("count = %d, %v; want 3", n, err)
		}
	}, notes)
}

func TestPrepareNeedsMigratedDatabase(t *testing.T) {
	db := sqldbtest.Open(t, "")
	_, err := kit.Prepare(t.Context(), "notes", kit.Deps{DB: db}, prepare)
	if err == nil || !strings.Contains(err.Error(), "notes: prepare queries (is the database migrated?)") {
		t.Fatalf("err = %v, want the migration hint", err)
	}
	if _, err := kit.Prepare(t.Context(), "notes", kit.Deps{}, prepare); err == nil || err.Error() != "notes: no database" {
		t.Fatalf("err = %v, want no database", err)
	}
}

func TestNewIDIncreases(t *testing.T) {
	prev := kit.NewID()
	for range 1000 {
		id := kit.NewID()
		if id <= prev {
			t.Fatalf("%s after %s", id, prev)
		}
		prev = id
	}
}

func TestCursor(t *testing.T) {
	c := kit.Cursor{At: 1_700_000_000_000_000, ID: "0190-abc"}
	got, err := kit.ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, c)
	}
	for _, bad := range []string{"", "!!", "e30", kit.EncodeCursor(struct{ X int }{1})} {
		if _, err := kit.ParseCursor(bad); !errors.Is(err, kit.ErrInvalidCursor) {
			t.Errorf("ParseCursor(%q) = %v, want ErrInvalidCursor", bad, err)
		}
	}
}

var (
	errTaken   = errors.New("things: name taken")
	errMissing = errors.New("things: not found")
)

func TestProblems(t *testing.T) {
	ps := kit.Problems{
		{Err: errTaken, Status: http.StatusConflict, Code: "name_taken", Detail: "another thing has this name"},
		{Err: errMissing, Status: http.StatusNotFound, Code: "thing_not_found", Detail: "no such thing", Field: "path.id"},
	}
	refusal := &apiclient.Error{Status: 422, Code: "unknown_sku", Detail: "no such SKU", Service: "pricing",
		Errors: []apiclient.FieldError{{Location: "body.items[0].sku", Message: "unknown", Value: "X"}}}
	for _, c := range []struct {
		name        string
		err         error
		status      int
		code        string
		detail      string
		fieldAt     string
		passThrough bool
	}{
		{"validation", kit.Invalid(nil, kit.FieldError{Field: "name", Message: "is required"}), 422, "validation_failed", web.DetailInvalid, "body.name", false},
		{"validation in the query", kit.Invalid(nil, kit.FieldError{Field: "query.limit", Message: "too large"}), 422, "validation_failed", web.DetailInvalid, "query.limit", false},
		{"validation mapped by the table", kit.Invalid(errTaken, kit.FieldError{Field: "name", Message: "is taken"}), 409, "name_taken", "another thing has this name", "body.name", false},
		{"validation with its own code", &kit.ValidationError{Code: "empty_cart", Detail: "the cart is empty", Fields: []kit.FieldError{{Field: "cart_id", Message: "empty"}}}, 422, "empty_cart", "the cart is empty", "body.cart_id", false},
		{"table", fmt.Errorf("load: %w", errMissing), 404, "thing_not_found", "no such thing", "path.id", false},
		{"upstream refusal", kit.Upstream(fmt.Errorf("quote: %w", refusal)), 422, "unknown_sku", "no such SKU", "body.items[0].sku", false},
		{"cursor", fmt.Errorf("list: %w", kit.ErrInvalidCursor), 422, "invalid_cursor", "the cursor is not one this list returned", "query.cursor", false},
		{"canceled", fmt.Errorf("read: %w", context.Canceled), 499, "client_closed_request", "request canceled", "", false},
		{"anything else", errors.New("disk on fire"), 0, "", "", "", true},
		{"upstream failure is not passed on", kit.Upstream(&apiclient.Error{Status: 503, Code: "unavailable"}), 0, "", "", "", true},
		{"upstream race is not passed on", kit.Upstream(&apiclient.Error{Status: 409, Code: apiclient.CodeConflict}), 0, "", "", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ps.Map(c.err)
			var p *web.Problem
			if !errors.As(got, &p) {
				if !c.passThrough || got != c.err {
					t.Fatalf("Map = %v (%T), want a problem", got, got)
				}
				return
			}
			if c.passThrough {
				t.Fatalf("Map = %+v, want the error passed through", p)
			}
			if p.Status != c.status || p.Code != c.code || p.Detail != c.detail {
				t.Fatalf("Map = %d %s %q, want %d %s %q", p.Status, p.Code, p.Detail, c.status, c.code, c.detail)
			}
			if c.fieldAt != "" && (len(p.Errors) != 1 || p.Errors[0].Location != c.fieldAt) {
				t.Fatalf("errors = %+v, want one at %s", p.Errors, c.fieldAt)
			}
		})
	}
}

func TestValidationErrorMatches(t *testing.T) {
	err := kit.Invalid(nil, kit.FieldError{Field: "a", Message: "bad"}, kit.FieldError{Field: "b", Message: "worse"})
	if !errors.Is(err, kit.ErrInvalid) || err.Error() != "invalid input; a: bad; b: worse" {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(kit.Invalid(errTaken, kit.FieldError{Field: "name"}), errTaken) {
		t.Fatal("does not match its Err")
	}
	if kit.Invalid(errTaken) != nil {
		t.Fatal("no fields must be no error")
	}
}

type stopper struct {
	name    string
	stopped *[]string
}

func (s stopper) Stop() { *s.stopped = append(*s.stopped, s.name) }

func TestConsumers(t *testing.T) {
	var (
		cs      kit.Consumers
		stopped []string
	)
	cs.Add(stopper{"catalog", &stopped})
	cs.Add(stopper{"orders", &stopped}, stopper{"tenants", &stopped})
	if cs.Len() != 3 {
		t.Fatalf("Len = %d, want 3", cs.Len())
	}
	cs.Stop()
	cs.Stop()
	if strings.Join(stopped, ",") != "catalog,orders,tenants" || cs.Len() != 0 {
		t.Fatalf("stopped %v (Len %d), want each once in order", stopped, cs.Len())
	}
}

// TestWriteWakesRelayForEvents: Store.Write wakes the relay after a
// transaction that wrote events, and only then: a write without events
// would send it on a pass that finds nothing.
func TestWriteWakesRelayForEvents(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := tenancy.WithID(t.Context(), tenancy.DefaultID)
		relay := outbox.NewRelay(db, nil, slog.New(slog.DiscardHandler), outbox.RelayConfig{})
		st, err := kit.Prepare(ctx, "notes", kit.Deps{DB: db, Relay: relay}, prepare)
		if err != nil {
			t.Fatal(err)
		}
		notifies := func() uint64 {
			h, err := relay.Health(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return h.Notifies
		}
		if err := st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *queries) error { return q.add(ctx, kit.NewID()) }); err != nil {
			t.Fatal(err)
		}
		if n := notifies(); n != 0 {
			t.Fatalf("a write without events woke the relay %d times", n)
		}
		if err := st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *queries) error {
			if err := q.add(ctx, kit.NewID()); err != nil {
				return err
			}
			return outbox.AddEvent(ctx, tx, "notes", "note.added.v1", time.Now(), map[string]string{"id": "n"})
		}); err != nil {
			t.Fatal(err)
		}
		if n := notifies(); n != 1 {
			t.Fatalf("a write with an event woke the relay %d times, want 1", n)
		}
		// One that wrote an event and then failed committed nothing.
		boom := errors.New("boom")
		err = st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *queries) error {
			if err := outbox.AddEvent(ctx, tx, "notes", "note.added.v1", time.Now(), map[string]string{"id": "x"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("write error = %v, want boom", err)
		}
		if n := notifies(); n != 1 {
			t.Fatalf("a failed write woke the relay (%d wakes, want 1)", n)
		}
	}, notes, outbox.Migrations)
}

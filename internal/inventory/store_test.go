package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestService(t *testing.T, db *sqldb.DB, catalog CatalogReader) (*Service, *clock) {
	t.Helper()
	s, err := New(t.Context(), Config{LowStockThreshold: DefaultLowStockThreshold}, Deps{Deps: kit.Deps{DB: db}, Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.now = c.now
	return s, c
}

func openDB(t *testing.T, body func(t *testing.T, db *sqldb.DB)) {
	sqldbtest.Run(t, body, Migrations...)
}

func tenantCtx(t testing.TB, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

func mustAdjust(t *testing.T, s *Service, ctx context.Context, sku, loc string, delta int64) inventoryapi.StockLevel {
	t.Helper()
	l, err := s.Adjust(ctx, sku, inventoryapi.Adjustment{Delta: delta, Reason: "test", Location: loc})
	if err != nil {
		t.Fatalf("adjust %s at %s by %d: %v", sku, loc, delta, err)
	}
	return l
}

func mustStock(t *testing.T, s *Service, ctx context.Context, sku string) inventoryapi.StockLevel {
	t.Helper()
	l, err := s.Stock(ctx, sku)
	if err != nil {
		t.Fatalf("stock %s: %v", sku, err)
	}
	return l
}

// subjects returns the outbox's event types in order, every tenant's.
func subjects(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	var out []string
	ctx := sqldb.AllTenants(t.Context())
	err := db.ReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT subject FROM outbox ORDER BY id`)
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
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func count(list []string, want string) int {
	n := 0
	for _, s := range list {
		if s == want {
			n++
		}
	}
	return n
}

// ledgerSum is the sum of the ledger's on_hand and reserved deltas for sku.
func ledgerSum(t *testing.T, db *sqldb.DB, tenant, sku string) (onHand, reserved int64) {
	t.Helper()
	ctx := tenancy.WithID(t.Context(), tenant)
	err := db.ReadTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx,
			`SELECT COALESCE(SUM(delta_on_hand), 0), COALESCE(SUM(delta_reserved), 0) FROM movements WHERE tenant_id = $1 AND sku = $2`,
			tenant, sku).Scan(&onHand, &reserved)
	})
	if err != nil {
		t.Fatal(err)
	}
	return onHand, reserved
}

// lowMark reads the low mark of sku: 1 while it is announced as low.
func lowMark(t *testing.T, db *sqldb.DB, tenant, sku string) int64 {
	t.Helper()
	ctx := tenancy.WithID(t.Context(), tenant)
	var low int64
	err := db.ReadTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT low FROM items WHERE tenant_id = $1 AND sku = $2`, tenant, sku).Scan(&low)
	})
	if err != nil {
		t.Fatal(err)
	}
	return low
}

func assertAudit(t *testing.T, s *Service, ctx context.Context) {
	t.Helper()
	a, err := s.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a != (inventoryapi.Audit{}) {
		t.Errorf("audit = %+v, want all zero", a)
	}
}

// TestLastUnitRace: 200 concurrent reservations of one unit against 10 in
// stock: exactly 10 succeed, the rest are out of stock, and the stock row
// agrees with the ledger.
func TestLastUnitRace(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "LAST-1", "", 10)

		const buyers = 200
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, oos := 0, 0
		var other []error
		for i := range buyers {
			wg.Go(func() {
				_, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: fmt.Sprintf("order-%03d", i), Lines: []inventoryapi.Line{{SKU: "LAST-1", Quantity: 1}}})
				mu.Lock()
				defer mu.Unlock()
				var e *OutOfStockError
				switch {
				case err == nil:
					ok++
				case errors.As(err, &e):
					oos++
				default:
					other = append(other, err)
				}
			})
		}
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("%d unexpected errors, first: %v", len(other), other[0])
		}
		if ok != 10 || oos != buyers-10 {
			t.Fatalf("reserved %d, out of stock %d; want 10 and %d", ok, oos, buyers-10)
		}
		l := mustStock(t, s, ctx, "LAST-1")
		if l.Available != 0 || l.OnHand != 10 || l.Reserved != 10 {
			t.Errorf("stock = %+v, want on_hand 10, reserved 10, available 0", l)
		}
		onHand, reserved := ledgerSum(t, db, "default", "LAST-1")
		if onHand != l.OnHand || reserved != l.Reserved {
			t.Errorf("ledger sums on_hand %d reserved %d, stock has %d and %d", onHand, reserved, l.OnHand, l.Reserved)
		}
		assertAudit(t, s, ctx)
		// The winners confirm: on hand follows the ledger to 0.
		for i := range buyers {
			_, err := s.Commit(ctx, fmt.Sprintf("order-%03d", i))
			if err != nil && !errors.Is(err, ErrReservationNotFound) {
				t.Fatalf("commit: %v", err)
			}
		}
		l = mustStock(t, s, ctx, "LAST-1")
		onHand, _ = ledgerSum(t, db, "default", "LAST-1")
		if l.OnHand != 0 || l.Reserved != 0 || onHand != 0 {
			t.Errorf("after commits stock = %+v, ledger on_hand %d; want all 0", l, onHand)
		}
		assertAudit(t, s, ctx)
	})
}

func TestReservationLifecycle(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "A", "", 50)
		mustAdjust(t, s, ctx, "B", "", 50)

		reserve := func(order string) inventoryapi.Reservation {
			t.Helper()
			r, created, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: order, Lines: []inventoryapi.Line{{SKU: "B", Quantity: 2}, {SKU: "A", Quantity: 3}, {SKU: "B", Quantity: 1}}})
			if err != nil || !created {
				t.Fatalf("reserve %s: created %v, %v", order, created, err)
			}
			return r
		}
		r := reserve("o1")
		want := []inventoryapi.ReservedLine{{SKU: "A", Location: "default", Quantity: 3}, {SKU: "B", Location: "default", Quantity: 3}}
		if r.Status != inventoryapi.StatusHeld || !slices.Equal(r.Lines, want) {
			t.Fatalf("reservation = %+v, want held with %v", r, want)
		}
		if !r.ExpiresAt.Equal(r.CreatedAt.Add(DefaultReservationTTL)) {
			t.Errorf("expires %v, want created + %v", r.ExpiresAt, DefaultReservationTTL)
		}
		// A repeat returns the existing reservation, whatever it asks.
		again, created, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o1", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 40}}})
		if err != nil || created || !slices.Equal(again.Lines, want) {
			t.Fatalf("repeat reserve = %+v created %v, %v", again, created, err)
		}
		if l := mustStock(t, s, ctx, "B"); l.Reserved != 3 || l.Available != 47 {
			t.Errorf("B = %+v, want 3 reserved", l)
		}

		tests := []struct {
			name    string
			op      func(order string) (inventoryapi.Reservation, error)
			order   string
			status  string
			wantErr error
		}{
			{"commit held", func(o string) (inventoryapi.Reservation, error) { return s.Commit(ctx, o) }, "o1", inventoryapi.StatusCommitted, nil},
			{"commit again", func(o string) (inventoryapi.Reservation, error) { return s.Commit(ctx, o) }, "o1", inventoryapi.StatusCommitted, nil},
			{"release committed", func(o string) (inventoryapi.Reservation, error) { return s.Release(ctx, o, "customer") }, "o1", inventoryapi.StatusCommitted, ErrReservationClosed},
			{"release unknown", func(o string) (inventoryapi.Reservation, error) { return s.Release(ctx, o, "x") }, "nope", "", ErrReservationNotFound},
			{"commit unknown", func(o string) (inventoryapi.Reservation, error) { return s.Commit(ctx, o) }, "nope", "", ErrReservationNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.op(tc.order)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if got.Status != tc.status {
					t.Errorf("status = %q, want %q", got.Status, tc.status)
				}
				if tc.wantErr == nil && !slices.Equal(got.Lines, want) {
					t.Errorf("lines = %v, want %v", got.Lines, want)
				}
			})
		}
		if l := mustStock(t, s, ctx, "A"); l.OnHand != 47 || l.Reserved != 0 {
			t.Errorf("A after commit = %+v, want 47 on hand, 0 reserved", l)
		}

		reserve("o2")
		rel, err := s.Release(ctx, "o2", "payment_declined")
		if err != nil || rel.Status != inventoryapi.StatusReleased || rel.Reason != "payment_declined" || !slices.Equal(rel.Lines, want) {
			t.Fatalf("release = %+v, %v", rel, err)
		}
		if _, err := s.Release(ctx, "o2", "again"); err != nil {
			t.Errorf("second release: %v", err)
		}
		if _, err := s.Commit(ctx, "o2"); !errors.Is(err, ErrReservationClosed) {
			t.Errorf("commit released = %v, want ErrReservationClosed", err)
		}
		if l := mustStock(t, s, ctx, "B"); l.OnHand != 47 || l.Reserved != 0 {
			t.Errorf("B after release = %+v, want 47 on hand, 0 reserved", l)
		}
		evs := subjects(t, db)
		for subj, n := range map[string]int{inventoryapi.SubjectStockReserved: 2, inventoryapi.SubjectStockCommitted: 1, inventoryapi.SubjectStockReleased: 1, inventoryapi.SubjectStockAdjusted: 2} {
			if got := count(evs, subj); got != n {
				t.Errorf("%d %s events, want %d", got, subj, n)
			}
		}
		assertAudit(t, s, ctx)
	})
}

func TestReserveAllOrNothingAndLocations(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "A", "", 5)
		mustAdjust(t, s, ctx, "B", "", 1)
		mustAdjust(t, s, ctx, "B", "north", 2)
		mustAdjust(t, s, ctx, "B", "south", 4)

		// B: 3 from one location: default has 1, so south (4) serves it.
		r, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o1", Lines: []inventoryapi.Line{{SKU: "B", Quantity: 3}}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Lines[0].Location != "south" {
			t.Errorf("B reserved at %s, want south", r.Lines[0].Location)
		}
		// 5 of A fits, but 3 of B no single location has: nothing is held.
		_, _, err = s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o2", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 5}, {SKU: "B", Quantity: 3}}})
		var oos *OutOfStockError
		if !errors.As(err, &oos) || oos.SKU != "B" || oos.Index != 1 || oos.Requested != 3 || oos.Available != 2 {
			t.Fatalf("err = %#v, want B out of stock at line 1, 3 requested, 2 available", err)
		}
		if l := mustStock(t, s, ctx, "A"); l.Reserved != 0 {
			t.Errorf("A reserved %d after failed reservation, want 0", l.Reserved)
		}
		if _, err := s.Reservation(ctx, "o2"); !errors.Is(err, ErrReservationNotFound) {
			t.Errorf("failed reservation left a row: %v", err)
		}
		// A SKU never stocked is out of stock with 0 available.
		_, _, err = s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o3", Lines: []inventoryapi.Line{{SKU: "GHOST", Quantity: 1}}})
		if !errors.As(err, &oos) || oos.SKU != "GHOST" || oos.Available != 0 {
			t.Errorf("err = %v, want GHOST out of stock", err)
		}
		assertAudit(t, s, ctx)
	})
}

func TestReserveValidation(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		tests := []struct {
			name  string
			req   inventoryapi.ReserveRequest
			field string
		}{
			{"no lines", inventoryapi.ReserveRequest{OrderID: "o"}, "lines"},
			{"zero quantity", inventoryapi.ReserveRequest{OrderID: "o", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 0}}}, "lines[0].quantity"},
			{"too many", inventoryapi.ReserveRequest{OrderID: "o", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 10001}}}, "lines[0].quantity"},
			{"merged too many", inventoryapi.ReserveRequest{OrderID: "o", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 6000}, {SKU: "A", Quantity: 6000}}}, "lines[1].quantity"},
			{"bad sku", inventoryapi.ReserveRequest{OrderID: "o", Lines: []inventoryapi.Line{{SKU: "A B", Quantity: 1}}}, "lines[0].sku"},
			{"no order", inventoryapi.ReserveRequest{Lines: []inventoryapi.Line{{SKU: "A", Quantity: 1}}}, "order_id"},
			{"ttl too long", inventoryapi.ReserveRequest{OrderID: "o", TTLSeconds: 7200, Lines: []inventoryapi.Line{{SKU: "A", Quantity: 1}}}, "ttl_seconds"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := s.Reserve(ctx, tc.req)
				var ve *kit.ValidationError
				if !errors.As(err, &ve) || ve.Fields[0].Field != tc.field {
					t.Fatalf("err = %v, want validation error on %s", err, tc.field)
				}
			})
		}
		if evs := subjects(t, db); len(evs) != 0 {
			t.Errorf("invalid requests wrote events %v", evs)
		}
	})
}

func TestExpiry(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		acme := tenantCtx(t, "acme")
		mustAdjust(t, s, ctx, "A", "", 10)
		mustAdjust(t, s, acme, "A", "", 10)
		reserve := func(ctx context.Context, order string, ttl int64) {
			t.Helper()
			if _, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: order, TTLSeconds: ttl, Lines: []inventoryapi.Line{{SKU: "A", Quantity: 2}}}); err != nil {
				t.Fatal(err)
			}
		}
		reserve(ctx, "short", 60)
		reserve(acme, "short", 60) // same order ID in another tenant
		reserve(ctx, "long", 0)    // default 15 minutes
		reserve(ctx, "lapsed", 60)

		if n, err := s.ExpireDue(t.Context()); err != nil || n != 0 {
			t.Fatalf("expire before due = %d, %v", n, err)
		}
		clk.advance(61 * time.Second)
		a, _ := s.Audit(ctx)
		if a.ExpiredHeld != 2 {
			t.Errorf("audit expired_held = %d, want 2", a.ExpiredHeld)
		}
		// A commit after expiry, before the sweeper, expires it instead.
		_, err := s.Commit(ctx, "lapsed")
		var ce *ClosedError
		if !errors.As(err, &ce) || ce.Status != inventoryapi.StatusExpired {
			t.Fatalf("commit past expiry = %v, want closed (expired)", err)
		}
		n, err := s.ExpireDue(t.Context())
		if err != nil || n != 2 {
			t.Fatalf("expired %d, %v; want 2 (short in both tenants)", n, err)
		}
		for _, c := range []context.Context{ctx, acme} {
			r, err := s.Reservation(c, "short")
			if err != nil || r.Status != inventoryapi.StatusExpired {
				t.Errorf("short = %+v, %v; want expired", r, err)
			}
		}
		if l := mustStock(t, s, ctx, "A"); l.Reserved != 2 {
			t.Errorf("default A reserved %d, want 2 (long only)", l.Reserved)
		}
		if l := mustStock(t, s, acme, "A"); l.Reserved != 0 {
			t.Errorf("acme A reserved %d, want 0", l.Reserved)
		}
		// Releasing an expired reservation is a repeat, committing it is not.
		if r, err := s.Release(ctx, "short", "customer"); err != nil || r.Status != inventoryapi.StatusExpired {
			t.Errorf("release expired = %+v, %v", r, err)
		}
		if _, err := s.Commit(ctx, "short"); !errors.Is(err, ErrReservationClosed) {
			t.Errorf("commit expired = %v, want ErrReservationClosed", err)
		}
		clk.advance(15 * time.Minute)
		if n, err := s.ExpireDue(t.Context()); err != nil || n != 1 {
			t.Errorf("second sweep expired %d, %v; want 1", n, err)
		}
		assertAudit(t, s, ctx)
		assertAudit(t, s, acme)
		mv, err := s.Movements(ctx, ListQuery{SKU: "A", Limit: 1})
		if err != nil || len(mv.Items) != 1 || mv.Items[0].Kind != inventoryapi.KindExpire || mv.Items[0].Reference != "long" {
			t.Errorf("newest movement = %+v, %v; want expire of long", mv.Items, err)
		}
	})
}

// TestCloseRace: concurrent commits, releases and expiries of one
// reservation: exactly one wins, and the stock moves once.
func TestCloseRace(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "A", "", 10)
		for round := range 5 {
			order := fmt.Sprintf("o%d", round)
			if _, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: order, TTLSeconds: 1, Lines: []inventoryapi.Line{{SKU: "A", Quantity: 1}}}); err != nil {
				t.Fatal(err)
			}
			if round%2 == 1 {
				clk.advance(2 * time.Second) // due: the sweeper joins in
			}
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Go(func() {
					var err error
					switch i % 3 {
					case 0:
						_, err = s.Commit(ctx, order)
					case 1:
						_, err = s.Release(ctx, order, "race")
					case 2:
						_, err = s.ExpireDue(t.Context())
					}
					if err != nil && !errors.Is(err, ErrReservationClosed) {
						t.Errorf("round %d op %d: %v", round, i%3, err)
					}
				})
			}
			wg.Wait()
		}
		onHand, reserved := ledgerSum(t, db, "default", "A")
		l := mustStock(t, s, ctx, "A")
		if l.OnHand != onHand || l.Reserved != reserved || l.Reserved != 0 {
			t.Errorf("stock %+v, ledger on_hand %d reserved %d", l, onHand, reserved)
		}
		assertAudit(t, s, ctx)
	})
}

func TestAdjust(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "A", "", 5)
		if _, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 3}}}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			sku     string
			adj     inventoryapi.Adjustment
			wantErr error
			onHand  int64
		}{
			{"below reserved", "A", inventoryapi.Adjustment{Delta: -3, Reason: "stocktake"}, ErrInsufficientStock, 5},
			{"to reserved", "A", inventoryapi.Adjustment{Delta: -2, Reason: "stocktake"}, nil, 3},
			{"new SKU negative", "NEW", inventoryapi.Adjustment{Delta: -1, Reason: "x"}, ErrInsufficientStock, 3},
			{"zero delta", "A", inventoryapi.Adjustment{Delta: 0, Reason: "x"}, ErrInvalid, 3},
			{"no reason", "A", inventoryapi.Adjustment{Delta: 1}, ErrInvalid, 3},
			{"bad location", "A", inventoryapi.Adjustment{Delta: 1, Reason: "x", Location: "North Hall"}, ErrInvalid, 3},
			{"up", "A", inventoryapi.Adjustment{Delta: 7, Reason: "delivery", Reference: "DN-1"}, nil, 10},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := len(subjects(t, db))
				_, err := s.Adjust(ctx, tc.sku, tc.adj)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if err != nil && len(subjects(t, db)) != before {
					t.Error("a failed adjustment wrote events")
				}
				if l := mustStock(t, s, ctx, "A"); l.OnHand != tc.onHand {
					t.Errorf("A on hand %d, want %d", l.OnHand, tc.onHand)
				}
			})
		}
		if _, err := s.Stock(ctx, "NEW"); !errors.Is(err, ErrStockNotFound) {
			t.Errorf("failed adjustment of a new SKU left it: %v", err)
		}
		mv, err := s.Movements(ctx, ListQuery{SKU: "A", Limit: 1})
		if err != nil || mv.Items[0].Reference != "DN-1" || mv.Items[0].OnHandAfter != 10 || mv.Items[0].DeltaOnHand != 7 {
			t.Errorf("newest movement %+v, %v", mv.Items, err)
		}
		assertAudit(t, s, ctx)
	})
}

func TestLowStockOncePerCrossing(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "A", "", 10) // threshold 5 by default
		lows := func() int { return count(subjects(t, db), inventoryapi.SubjectStockLow) }
		steps := []struct {
			name string
			do   func() error
			low  int
			mark int64
		}{
			{"above", func() error { return nil }, 0, 0},
			{"reserve to 5", func() error { _, _, err := s.Reserve(ctx, res("o1", 5)); return err }, 1, 1},
			{"reserve to 4", func() error { _, _, err := s.Reserve(ctx, res("o2", 1)); return err }, 1, 1},
			{"release to 9", func() error { _, err := s.Release(ctx, "o1", "x"); return err }, 1, 0},
			{"commit at 9", func() error { _, err := s.Commit(ctx, "o2"); return err }, 1, 0},
			{"adjust to 3", func() error {
				_, err := s.Adjust(ctx, "A", inventoryapi.Adjustment{Delta: -6, Reason: "x"})
				return err
			}, 2, 1},
			{"restock to 13", func() error {
				_, err := s.Restock(ctx, inventoryapi.RestockRequest{Reference: "r1", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 10}}})
				return err
			}, 2, 0},
			{"threshold 20", func() error { _, err := s.SetThreshold(ctx, "A", 20); return err }, 3, 1},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := lows(); got != st.low {
				t.Fatalf("after %s: %d stock_low events, want %d", st.name, got, st.low)
			}
			if got := lowMark(t, db, "default", "A"); got != st.mark {
				t.Fatalf("after %s: low mark %d, want %d", st.name, got, st.mark)
			}
		}
		l := mustStock(t, s, ctx, "A")
		if !l.Low || l.LowStockThreshold != 20 {
			t.Errorf("stock %+v, want low with threshold 20", l)
		}
		low, err := s.List(ctx, ListQuery{Low: true})
		if err != nil || len(low.Items) != 1 || low.Items[0].SKU != "A" {
			t.Errorf("low list = %+v, %v", low, err)
		}
	})
}

// TestLowStockConcurrentCrossing: writers that take a SKU below its
// threshold at the same time announce the crossing once; writers that take
// it above again clear the mark, and the next crossing is announced again.
// Reservations of one location queue on its stock row; adjustments of three
// locations do not, so on PostgreSQL several may see the crossing at once
// and MarkLow's guard decides which announces it.
func TestLowStockConcurrentCrossing(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		lows := func() int { return count(subjects(t, db), inventoryapi.SubjectStockLow) }
		locs := []string{"default", "north", "south"}
		adjust := func(sku string, i int, delta int64) error {
			_, err := s.Adjust(ctx, sku, inventoryapi.Adjustment{Delta: delta, Reason: "count", Location: locs[i%len(locs)]})
			return err
		}
		order := func(sku string, i int) string { return fmt.Sprintf("%s-%02d", sku, i) }
		tests := []struct {
			name       string
			sku        string
			take, give func(sku string, i int) error
		}{
			{"reservations", "RES",
				func(sku string, i int) error {
					_, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: order(sku, i), Lines: []inventoryapi.Line{{SKU: sku, Quantity: 1}}})
					return err
				},
				func(sku string, i int) error { _, err := s.Release(ctx, order(sku, i), "x"); return err }},
			{"adjustments", "ADJ",
				func(sku string, i int) error { return adjust(sku, i, -1) },
				func(sku string, i int) error { return adjust(sku, i, 1) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := lows()
				const units = 21 // 7 per location; the threshold is 5
				for i := range len(locs) {
					if err := adjust(tc.sku, i, units/int64(len(locs))); err != nil {
						t.Fatal(err)
					}
				}
				// all runs op for units writers at once, numbered from first
				// (a reservation's order ID, an adjustment's location).
				all := func(op func(sku string, i int) error, first int) {
					t.Helper()
					var wg sync.WaitGroup
					for i := first; i < first+units; i++ {
						wg.Go(func() {
							if err := op(tc.sku, i); err != nil {
								t.Errorf("%s %d: %v", tc.name, i, err)
							}
						})
					}
					wg.Wait()
				}
				// A writer sees its own change and those committed before it
				// read, so on PostgreSQL writers that cross together may all
				// read the SKU as above. A second look (the threshold set to
				// what it is) marks it then: the crossing is announced once.
				recheck := func() {
					t.Helper()
					if _, err := s.SetThreshold(ctx, tc.sku, DefaultLowStockThreshold); err != nil {
						t.Fatal(err)
					}
				}
				all(tc.take, 0)
				if got := lows() - before; got > 1 {
					t.Fatalf("%d stock_low events for one crossing", got)
				}
				recheck()
				if got, mark := lows()-before, lowMark(t, db, "default", tc.sku); got != 1 || mark != 1 {
					t.Fatalf("%d stock_low events, mark %d; want 1 and 1", got, mark)
				}
				all(tc.give, 0)
				if mark := lowMark(t, db, "default", tc.sku); mark != 0 {
					t.Fatalf("low mark %d with every unit back, want 0", mark)
				}
				all(tc.take, units)
				recheck()
				if got := lows() - before; got != 2 {
					t.Errorf("%d stock_low events after the second crossing, want 2", got)
				}
				assertAudit(t, s, ctx)
			})
		}
	})
}

func res(order string, qty int64) inventoryapi.ReserveRequest {
	return inventoryapi.ReserveRequest{OrderID: order, Lines: []inventoryapi.Line{{SKU: "A", Quantity: qty}}}
}

func TestRestockIdempotent(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		req := inventoryapi.RestockRequest{Reference: "ret-1", Reason: "return", Location: "returns", Lines: []inventoryapi.Line{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}}
		for i, want := range []bool{true, false} {
			applied, err := s.Restock(ctx, req)
			if err != nil || applied != want {
				t.Fatalf("restock %d: applied %v, %v; want %v", i, applied, err, want)
			}
		}
		l := mustStock(t, s, ctx, "A")
		if l.OnHand != 2 || len(l.Locations) != 1 || l.Locations[0].Location != "returns" {
			t.Errorf("A = %+v, want 2 at returns", l)
		}
		mv, _ := s.Movements(ctx, ListQuery{SKU: "A"})
		if len(mv.Items) != 1 || mv.Items[0].Kind != inventoryapi.KindRestock || mv.Items[0].Reference != "ret-1" {
			t.Errorf("movements = %+v", mv.Items)
		}
		// Another tenant's reference space is its own.
		if applied, err := s.Restock(tenantCtx(t, "acme"), req); err != nil || !applied {
			t.Errorf("acme restock applied %v, %v", applied, err)
		}
	})
}

// TestRestockToWhereSold: a restock that names the order puts each line
// back at the location its reservation took it from, and a line the
// reservation did not have at the default location; a location given in
// the request wins.
func TestRestockToWhereSold(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "W-1", "berlin", 5) // only Berlin has it
		mustAdjust(t, s, ctx, "W-2", "", 5)
		if _, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "sold-1",
			Lines: []inventoryapi.Line{{SKU: "W-1", Quantity: 2}, {SKU: "W-2", Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Commit(ctx, "sold-1"); err != nil {
			t.Fatal(err)
		}
		at := func(sku, loc string) int64 {
			for _, l := range mustStock(t, s, ctx, sku).Locations {
				if l.Location == loc {
					return l.OnHand
				}
			}
			return 0
		}
		if _, err := s.Restock(ctx, inventoryapi.RestockRequest{Reference: "cancel-sold-1", OrderID: "sold-1",
			Lines: []inventoryapi.Line{{SKU: "W-1", Quantity: 2}, {SKU: "W-2", Quantity: 1}, {SKU: "W-3", Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
		if got := at("W-1", "berlin"); got != 5 {
			t.Errorf("W-1 at berlin = %d, want 5 (back where it was sold from)", got)
		}
		if got := at("W-1", inventoryapi.DefaultLocation); got != 0 {
			t.Errorf("W-1 at default = %d, want 0", got)
		}
		if got := at("W-2", inventoryapi.DefaultLocation); got != 5 {
			t.Errorf("W-2 at default = %d, want 5", got)
		}
		if got := at("W-3", inventoryapi.DefaultLocation); got != 1 {
			t.Errorf("W-3 (not in the reservation) at default = %d, want 1", got)
		}
		if _, err := s.Restock(ctx, inventoryapi.RestockRequest{Reference: "ret-sold-1", OrderID: "sold-1", Location: "returns",
			Lines: []inventoryapi.Line{{SKU: "W-1", Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
		if got := at("W-1", "returns"); got != 1 {
			t.Errorf("W-1 at returns = %d, want 1 (the request's location wins)", got)
		}
		assertAudit(t, s, ctx)
	})
}

func TestTenantIsolation(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		acme := tenantCtx(t, "acme")
		mustAdjust(t, s, ctx, "A", "", 10)
		if _, _, err := s.Reserve(ctx, res("o1", 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stock(acme, "A"); !errors.Is(err, ErrStockNotFound) {
			t.Errorf("acme sees default's stock: %v", err)
		}
		if _, err := s.Reservation(acme, "o1"); !errors.Is(err, ErrReservationNotFound) {
			t.Errorf("acme sees default's reservation: %v", err)
		}
		if _, err := s.Commit(acme, "o1"); !errors.Is(err, ErrReservationNotFound) {
			t.Errorf("acme commits default's reservation: %v", err)
		}
		if _, _, err := s.Reserve(acme, res("o2", 1)); !errors.Is(err, ErrOutOfStock) {
			t.Errorf("acme reserves default's stock: %v", err)
		}
		if l, _ := s.List(acme, ListQuery{}); len(l.Items) != 0 {
			t.Errorf("acme lists %v", l.Items)
		}
		if m, _ := s.Movements(acme, ListQuery{}); len(m.Items) != 0 {
			t.Errorf("acme ledger %v", m.Items)
		}
		if _, err := s.Stock(t.Context(), "A"); !errors.Is(err, tenancy.ErrMissing) {
			t.Errorf("no tenant: %v", err)
		}
	})
}

func TestListsPaginate(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		var skus []string
		for i := range 7 {
			sku := fmt.Sprintf("SKU-%d", i)
			skus = append(skus, sku)
			mustAdjust(t, s, ctx, sku, "", int64(1+i)) // with "back": 2 to 5 low (threshold 5), 6.. not
			mustAdjust(t, s, ctx, sku, "back", 1)
		}
		var got []string
		cursor := ""
		for range 10 {
			page, err := s.List(ctx, ListQuery{Cursor: cursor, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page.Items {
				got = append(got, l.SKU)
				if len(l.Locations) != 2 || l.Locations[0].Location != "default" {
					t.Errorf("%s locations %+v, want default first of 2", l.SKU, l.Locations)
				}
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, skus) {
			t.Errorf("listed %v, want %v", got, skus)
		}
		low, err := s.List(ctx, ListQuery{Low: true, Limit: 2})
		if err != nil || len(low.Items) != 2 || low.NextCursor == "" {
			t.Fatalf("low page 1 = %+v, %v", low, err)
		}
		low2, err := s.List(ctx, ListQuery{Low: true, Limit: 2, Cursor: low.NextCursor})
		if err != nil || len(low2.Items) != 2 || low2.Items[0].SKU != "SKU-2" || low2.Items[1].SKU != "SKU-3" || low2.NextCursor != "" {
			t.Errorf("low page 2 = %+v, %v", low2, err)
		}
		var ids []string
		cursor = ""
		for range 20 {
			page, err := s.Movements(ctx, ListQuery{Cursor: cursor, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Items {
				ids = append(ids, m.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(ids) != 14 || !slices.IsSortedFunc(ids, func(a, b string) int { return -compare(a, b) }) {
			t.Errorf("ledger pages gave %d movements (want 14) newest first: %v", len(ids), ids)
		}
		for _, bad := range []string{"not-a-uuid"} {
			if _, err := s.Movements(ctx, ListQuery{Cursor: bad}); !errors.Is(err, kit.ErrInvalidCursor) {
				t.Errorf("movements cursor %q: %v", bad, err)
			}
		}
		if _, err := s.List(ctx, ListQuery{Cursor: "!!"}); !errors.Is(err, kit.ErrInvalidCursor) {
			t.Errorf("list bad cursor: %v", err)
		}
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fakeCatalog serves products a page of two at a time.
type fakeCatalog struct{ skus [][]string }

func (f fakeCatalog) Products(_ context.Context, lp catalogapi.ListParams) (catalogapi.ProductList, error) {
	start := 0
	if lp.Cursor != "" {
		fmt.Sscanf(lp.Cursor, "%d", &start)
	}
	var out catalogapi.ProductList
	for i := start; i < len(f.skus) && i < start+2; i++ {
		p := catalogapi.Product{ID: fmt.Sprint(i)}
		for _, sku := range f.skus[i] {
			p.Variants = append(p.Variants, catalogapi.Variant{SKU: sku})
		}
		out.Items = append(out.Items, p)
	}
	if start+2 < len(f.skus) {
		out.NextCursor = fmt.Sprint(start + 2)
	}
	return out, nil
}

func TestSeedDemo(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		cat := fakeCatalog{skus: [][]string{{"MUG-1", "MUG-2"}, {"BEAN-1"}, {"TEA-1", "TEA-2"}, {"GEAR-1"}}}
		s, _ := newTestService(t, db, cat)
		ctx := tenantCtx(t, "default")
		n, err := s.SeedDemo(ctx)
		if err != nil || n != 6 {
			t.Fatalf("seed = %d, %v; want 6", n, err)
		}
		if n, err := s.SeedDemo(ctx); err != nil || n != 0 {
			t.Errorf("second seed = %d, %v; want 0", n, err)
		}
		out := mustStock(t, s, ctx, "BEAN-1") // first in SKU order: out of stock
		low := mustStock(t, s, ctx, "GEAR-1") // second: low
		if out.OnHand != 0 || !out.Low || low.OnHand != 3 || !low.Low {
			t.Errorf("BEAN-1 %+v, GEAR-1 %+v; want 0 and 3, both low", out, low)
		}
		for _, sku := range []string{"MUG-1", "MUG-2", "TEA-1", "TEA-2"} {
			if l := mustStock(t, s, ctx, sku); l.OnHand < 20 || l.OnHand > 200 || l.OnHand != demoQuantity(5, sku) {
				t.Errorf("%s on hand %d, want 20..200", sku, l.OnHand)
			}
		}
		assertAudit(t, s, ctx)
		// Without a catalog there is nothing to seed.
		s2, _ := newTestService(t, db, nil)
		if n, err := s2.SeedDemo(tenantCtx(t, "acme")); err != nil || n != 0 {
			t.Errorf("seed without catalog = %d, %v", n, err)
		}
	})
}

// TestAuditFindsMismatches: the audit is what the benchmark and operators
// trust to say the tables agree, so it must also say when they do not.
// Stock changed behind the service's back is counted against the ledger,
// and against the held reservations, per stock row; a second store's
// reservations count for nothing.
func TestAuditFindsMismatches(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		other := tenantCtx(t, "other")
		mustAdjust(t, s, ctx, "AUD-1", "", 10)
		mustAdjust(t, s, ctx, "AUD-2", "", 10)
		mustAdjust(t, s, other, "AUD-1", "", 10)
		mustAdjust(t, s, other, "AUD-2", "", 10)
		for i, c := range []context.Context{ctx, ctx, other} {
			if _, _, err := s.Reserve(c, inventoryapi.ReserveRequest{OrderID: fmt.Sprintf("aud-%d", i),
				Lines: []inventoryapi.Line{{SKU: "AUD-1", Quantity: 2}, {SKU: "AUD-2", Quantity: 1}}}); err != nil {
				t.Fatal(err)
			}
		}
		assertAudit(t, s, ctx)
		// One unit reserved that no reservation holds and no ledger row
		// records, on one row of this store.
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE stock SET reserved = reserved + 1 WHERE tenant_id = $1 AND sku = $2`, "default", "AUD-1")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Audit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (inventoryapi.Audit{LedgerMismatches: 1, ReservedMismatches: 1}); a != want {
			t.Errorf("audit = %+v, want %+v", a, want)
		}
		assertAudit(t, s, other)
	})
}

// TestCloseRefusesStockThatDisagrees: a close takes every line's units
// from its stock row, then writes the lines' ledger rows together; when one
// row holds fewer reserved units than its line (the tables disagree), the
// close fails as a whole and changes nothing (not even the lines before
// it), for a commit and for a release.
func TestCloseRefusesStockThatDisagrees(t *testing.T) {
	openDB(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, nil)
		ctx := tenantCtx(t, "default")
		mustAdjust(t, s, ctx, "DIS-1", "", 10)
		mustAdjust(t, s, ctx, "DIS-2", "", 10)
		if _, _, err := s.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "dis",
			Lines: []inventoryapi.Line{{SKU: "DIS-1", Quantity: 2}, {SKU: "DIS-2", Quantity: 3}}}); err != nil {
			t.Fatal(err)
		}
		// DIS-2's row loses two of its three reserved units behind the
		// service's back.
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE stock SET reserved = 1 WHERE tenant_id = $1 AND sku = $2`, "default", "DIS-2")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		movements := func() int {
			ms, err := s.Movements(ctx, ListQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(ms.Items)
		}
		before := movements()
		for _, close := range []func() error{
			func() error { _, err := s.Commit(ctx, "dis"); return err },
			func() error { _, err := s.Release(ctx, "dis", "test"); return err },
		} {
			err := close()
			if err == nil || !strings.Contains(err.Error(), "DIS-2") || !strings.Contains(err.Error(), "fewer units reserved") {
				t.Fatalf("close with a short stock row: %v, want an error naming DIS-2", err)
			}
			if one := mustStock(t, s, ctx, "DIS-1"); one.OnHand != 10 || one.Reserved != 2 {
				t.Fatalf("DIS-1 after the failed close: on hand %d, reserved %d; want 10 and 2", one.OnHand, one.Reserved)
			}
			if two := mustStock(t, s, ctx, "DIS-2"); two.OnHand != 10 || two.Reserved != 1 {
				t.Fatalf("DIS-2 after the failed close: on hand %d, reserved %d; want 10 and 1", two.OnHand, two.Reserved)
			}
			res, err := s.Reservation(ctx, "dis")
			if err != nil || res.Status != inventoryapi.StatusHeld {
				t.Fatalf("reservation after the failed close: %+v, %v; want it still held", res, err)
			}
			if n := movements(); n != before {
				t.Fatalf("%d ledger rows after the failed close, want %d", n, before)
			}
		}
	})
}

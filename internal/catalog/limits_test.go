package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fakeLimits is the tenant service's plan limits, by tenant; err fails
// every lookup. calls counts lookups.
type fakeLimits struct {
	mu     sync.Mutex
	plans  map[string]tenantapi.Limits
	err    error
	calls  int
	tenant []string
}

func (f *fakeLimits) Limits(ctx context.Context) (tenantapi.Limits, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return tenantapi.Limits{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.tenant = append(f.tenant, tenant)
	if f.err != nil {
		return tenantapi.Limits{}, f.err
	}
	return f.plans[tenant], nil
}

func limitedService(t *testing.T, db *sqldb.DB, l PlanLimits) *Service {
	t.Helper()
	s := newTestService(t, db)
	s.limits = l
	return s
}

func productNamed(title string, status catalogapi.Status) catalogapi.ProductCreate {
	return catalogapi.ProductCreate{Title: title, Status: status,
		Variants: []catalogapi.VariantInput{{SKU: "SKU-" + title, Price: eur(100)}}}
}

// TestPlanLimits: a store has at most its plan's number of draft and
// active products; archived ones do not count, and bringing one back from
// the archive counts as one more. A refusal writes nothing.
func TestPlanLimits(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		limits := &fakeLimits{plans: map[string]tenantapi.Limits{
			"default": {Plan: tenantapi.PlanFree, Products: 3, Staff: 2},
			"acme":    {Plan: tenantapi.PlanEnterprise, Products: tenantapi.Unlimited, Staff: tenantapi.Unlimited},
		}}
		s := limitedService(t, db, limits)
		ctx := tenantCtx(t, "default")

		var made []catalogapi.Product
		for i, st := range []catalogapi.Status{catalogapi.StatusDraft, catalogapi.StatusActive, catalogapi.StatusDraft} {
			p, err := s.CreateProduct(ctx, productNamed(fmt.Sprint("P", i), st))
			if err != nil {
				t.Fatalf("product %d under the limit: %v", i, err)
			}
			made = append(made, p)
		}
		before := rowCounts(t, db)
		_, err := s.CreateProduct(ctx, productNamed("P3", catalogapi.StatusDraft))
		var le *tenantapi.LimitError
		if !errors.As(err, &le) || !errors.Is(err, tenantapi.ErrLimitReached) || le.Limit != 3 || le.Resource != tenantapi.ResourceProducts || le.Plan != tenantapi.PlanFree {
			t.Fatalf("fourth product: err = %v, want a products LimitError of 3", err)
		}
		if after := rowCounts(t, db); !maps.Equal(before, after) {
			t.Errorf("a refused product wrote rows: %v, then %v", before, after)
		}

		// Archiving makes room; bringing it back takes that room again.
		if _, err := s.ArchiveProduct(ctx, made[0].ID); err != nil {
			t.Fatal(err)
		}
		draft := catalogapi.StatusDraft
		if _, err := s.CreateProduct(ctx, productNamed("P4", catalogapi.StatusActive)); err != nil {
			t.Fatalf("a product after archiving one: %v", err)
		}
		if _, err := s.UpdateProduct(ctx, made[0].ID, catalogapi.ProductUpdate{Status: &draft}); !errors.Is(err, tenantapi.ErrLimitReached) {
			t.Errorf("unarchive beyond the limit: err = %v, want ErrLimitReached", err)
		}
		// Other changes of live products are not limited.
		title := "Renamed"
		if _, err := s.UpdateProduct(ctx, made[1].ID, catalogapi.ProductUpdate{Title: &title, Status: &draft}); err != nil {
			t.Errorf("update a live product at the limit: %v", err)
		}
		if _, err := s.ArchiveProduct(ctx, made[1].ID); err != nil {
			t.Fatal(err)
		}
		if p, err := s.UpdateProduct(ctx, made[0].ID, catalogapi.ProductUpdate{Status: &draft}); err != nil || p.Status != draft {
			t.Errorf("unarchive with room: %+v, %v", p.Status, err)
		}

		// An unlimited plan: no lock row, no count.
		actx := tenantCtx(t, "acme")
		for i := range 5 {
			if _, err := s.CreateProduct(actx, productNamed(fmt.Sprint("A", i), catalogapi.StatusActive)); err != nil {
				t.Fatalf("unlimited plan, product %d: %v", i, err)
			}
		}
		var locks int
		err = db.ReadTx(actx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(actx, `SELECT COUNT(*) FROM product_quota_locks WHERE tenant_id = 'acme'`).Scan(&locks)
		})
		if err != nil || locks != 0 {
			t.Errorf("lock rows of an unlimited store: %d, %v", locks, err)
		}
		if !slices.Contains(limits.tenant, "acme") || !slices.Contains(limits.tenant, "default") {
			t.Errorf("limits were read for %v, want each store's own", limits.tenant)
		}
	}, Migrations...)
}

// TestPlanLimitsConcurrent: creations racing for the last places of a plan
// take turns: exactly the limit's number of products exist afterwards, on
// PostgreSQL too, where each transaction would otherwise count before the
// others' inserts.
func TestPlanLimitsConcurrent(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		const limit, tries = 4, 12
		s := limitedService(t, db, &fakeLimits{plans: map[string]tenantapi.Limits{
			"globex": {Plan: tenantapi.PlanFree, Products: limit, Staff: 2},
		}})
		ctx := tenantCtx(t, "globex")
		var wg sync.WaitGroup
		errs := make([]error, tries)
		for i := range tries {
			wg.Go(func() {
				_, errs[i] = s.CreateProduct(ctx, productNamed(fmt.Sprint("G", i), catalogapi.StatusActive))
			})
		}
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, tenantapi.ErrLimitReached):
				t.Errorf("creation %d: %v", i, err)
			}
		}
		var n int64
		err := s.store.Read(ctx, func(q *catalogdb.Queries) error {
			var err error
			n, err = q.CountLiveProducts(ctx, "globex")
			return err
		})
		if created != limit || n != limit {
			t.Errorf("%d creations succeeded, %d products exist (%v); want %d", created, n, err, limit)
		}
	}, Migrations...)
}

// TestPlanLimitsUnavailable: when the plan cannot be read, nothing that
// could exceed it is written; everything else works.
func TestPlanLimitsUnavailable(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		limits := &fakeLimits{plans: map[string]tenantapi.Limits{}}
		s := limitedService(t, db, limits)
		ctx := tenantCtx(t, "default")
		p, err := s.CreateProduct(ctx, productNamed("Mug", catalogapi.StatusActive))
		// No plan known: the zero Limits allow no product at all.
		if !errors.Is(err, tenantapi.ErrLimitReached) {
			t.Fatalf("create with a zero limit: %+v, %v", p, err)
		}
		limits.plans["default"] = tenantapi.Limits{Plan: tenantapi.PlanPro, Products: 10}
		if p, err = s.CreateProduct(ctx, productNamed("Mug", catalogapi.StatusActive)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ArchiveProduct(ctx, p.ID); err != nil {
			t.Fatal(err)
		}

		limits.err = errors.New("connection refused")
		before := rowCounts(t, db)
		if _, err := s.CreateProduct(ctx, productNamed("Cup", catalogapi.StatusActive)); !errors.Is(err, ErrLimitsUnavailable) {
			t.Errorf("create without limits: err = %v, want ErrLimitsUnavailable", err)
		}
		draft := catalogapi.StatusDraft
		if _, err := s.UpdateProduct(ctx, p.ID, catalogapi.ProductUpdate{Status: &draft}); !errors.Is(err, ErrLimitsUnavailable) {
			t.Errorf("unarchive without limits: err = %v, want ErrLimitsUnavailable", err)
		}
		if after := rowCounts(t, db); !maps.Equal(before, after) {
			t.Errorf("writes without limits: %v, then %v", before, after)
		}
		calls := limits.calls
		title := "Still editable"
		if _, err := s.UpdateProduct(ctx, p.ID, catalogapi.ProductUpdate{Title: &title}); err != nil {
			t.Errorf("an edit that adds no product: %v", err)
		}
		if limits.calls != calls {
			t.Errorf("an edit without a status read the plan limits")
		}
	}, Migrations...)
}

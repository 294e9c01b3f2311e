package analytics

import (
	"reflect"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/analytics/analyticsdb"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// TestRemovedVariantLosesItsCost: a variant the product's newest event no
// longer has keeps no cost price (its stock is valued 0), whatever order
// the product's events come in; a variant kept keeps the newest cost.
func TestRemovedVariantLosesItsCost(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newTestService(t, db, time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
		at := func(h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC) }
		cost := func(v int64) *int64 { return &v }
		product := func(h int, vs ...catalogapi.Variant) catalogapi.ProductUpdated {
			return catalogapi.ProductUpdated{Product: catalogapi.Product{ID: "p1", Title: "Mug", UpdatedAt: at(h), Variants: vs}}
		}
		v1 := product(1, catalogapi.Variant{SKU: "MUG-1", Price: eur(1000), CostPrice: cost(300)},
			catalogapi.Variant{SKU: "MUG-2", Price: eur(1000), CostPrice: cost(200)})
		v2 := product(2, catalogapi.Variant{SKU: "MUG-1", Price: eur(1000), CostPrice: cost(350)})
		costs := func(tenant string) map[string]int64 {
			t.Helper()
			out := map[string]int64{}
			ctx := tenancy.WithID(t.Context(), tenant)
			err := s.store.Read(ctx, func(q *analyticsdb.Queries) error {
				rows, err := q.CostPrices(ctx, tenant)
				for _, r := range rows {
					out[r.Sku] = r.CostPrice.Int64
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		want := map[string]int64{"MUG-1": 350}
		for tenant, evs := range map[string][]outbox.Envelope{
			"inorder":  {event(t, "inorder", catalogapi.SubjectProductCreated, at(1), v1), event(t, "inorder", catalogapi.SubjectProductUpdated, at(2), v2)},
			"reversed": {event(t, "reversed", catalogapi.SubjectProductUpdated, at(2), v2), event(t, "reversed", catalogapi.SubjectProductCreated, at(1), v1)},
		} {
			for _, e := range evs {
				if _, err := s.Handle(t.Context(), e); err != nil {
					t.Fatal(err)
				}
			}
			if got := costs(tenant); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: costs = %v, want %v", tenant, got, want)
			}
		}
		if _, err := s.Rebuild(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, tenant := range []string{"inorder", "reversed"} {
			if got := costs(tenant); !reflect.DeepEqual(got, want) {
				t.Errorf("%s after rebuild: costs = %v, want %v", tenant, got, want)
			}
		}
	}, Migrations...)
}

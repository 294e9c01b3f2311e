package cart

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fakeStores is the tenant service's store settings: each tenant's
// currency; err fails every lookup.
type fakeStores struct {
	mu       sync.Mutex
	currency map[string]string
	err      error
}

func (f *fakeStores) Store(ctx context.Context) (tenantapi.Store, error) {
	tenant, _ := tenancy.ID(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return tenantapi.Store{}, f.err
	}
	return tenantapi.Store{ID: tenant, Settings: tenantapi.Settings{Currency: f.currency[tenant]}}, nil
}

// TestStoreCurrency: a cart's currency is the store's, never its first
// line's: a new cart has it before any line, a SKU priced in another
// currency is refused even as the first line, and an emptied cart keeps
// it. Without the store's currency nothing is written.
func TestStoreCurrency(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		stores := &fakeStores{currency: map[string]string{"default": "EUR"}}
		f.svc.stores = stores
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		usd := product("p2", t0, 500, "USD-1")
		usd.Variants[0].Price.Currency = "USD"
		f.feed("default", catalogapi.SubjectProductCreated, usd)
		ctx := tenantCtx(t, "default")

		c := f.create("default", cartapi.CartCreate{})
		if c.Currency != "EUR" {
			t.Fatalf("new empty cart: currency %q, want the store's EUR", c.Currency)
		}
		_, err := f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "USD-1", Quantity: 1})
		wantCode(t, err, ErrCurrencyMismatch)
		_, err = f.svc.Create(ctx, cartapi.CartCreate{Items: []cartapi.Item{{SKU: "USD-1", Quantity: 1}}})
		wantCode(t, err, ErrCurrencyMismatch)

		c, err = f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "MUG-1", Quantity: 1})
		if err != nil || c.Currency != "EUR" || len(c.Lines) != 1 || !c.Lines[0].Available {
			t.Fatalf("add a EUR line: %+v, %v", c, err)
		}
		c, err = f.svc.RemoveItem(ctx, c.ID, c.Lines[0].ID)
		if err != nil || c.Currency != "EUR" {
			t.Fatalf("emptied cart: currency %q, %v; want EUR kept", c.Currency, err)
		}
		_, err = f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "USD-1", Quantity: 1})
		wantCode(t, err, ErrCurrencyMismatch)

		carts := f.count("carts")
		stores.mu.Lock()
		stores.err = errors.New("connection refused")
		stores.mu.Unlock()
		if _, err := f.svc.Create(ctx, cartapi.CartCreate{}); !errors.Is(err, ErrStoreUnavailable) {
			t.Errorf("tenant down: create err = %v, want ErrStoreUnavailable", err)
		}
		if _, err := f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "MUG-1", Quantity: 1}); !errors.Is(err, ErrStoreUnavailable) {
			t.Errorf("tenant down: add err = %v, want ErrStoreUnavailable", err)
		}
		if f.count("carts") != carts || len(f.get("default", c.ID).Lines) != 0 {
			t.Error("a refused request wrote")
		}
	}, Migrations...)
}

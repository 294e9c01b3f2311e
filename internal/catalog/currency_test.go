package catalog

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fakeStores is the tenant service's store settings: the currency of each
// tenant; err fails every lookup.
type fakeStores struct {
	mu       sync.Mutex
	currency map[string]string
	err      error
}

func (f *fakeStores) Store(ctx context.Context) (tenantapi.Store, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return tenantapi.Store{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return tenantapi.Store{}, f.err
	}
	return tenantapi.Store{ID: tenant, Settings: tenantapi.Settings{Currency: f.currency[tenant]}}, nil
}

// TestStoreCurrency: prices are in the store's currency, on create and on
// update; another currency is a 422 naming the field, and a store whose
// currency cannot be read gets ErrStoreUnavailable. Nothing is written.
func TestStoreCurrency(t *testing.T) {
	t.Parallel()
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		stores := &fakeStores{currency: map[string]string{"default": "EUR", "acme": "USD"}}
		s := newTestService(t, db)
		s.stores = stores
		ctx := tenancy.WithID(t.Context(), "default")
		usd := money.Money{Amount: 100, Currency: "USD"}

		in := productNamed("Mug", catalogapi.StatusActive)
		in.Variants = append(in.Variants, catalogapi.VariantInput{SKU: "MUG-US", Price: usd})
		_, err := s.CreateProduct(ctx, in)
		var ve *kit.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) == 0 || ve.Fields[0].Field != "variants[1].price.currency" {
			t.Fatalf("USD price in a EUR store: err = %v", err)
		}
		one := productNamed("Cup", catalogapi.StatusActive)
		one.Variants[0].Price = usd
		if _, err := s.CreateProduct(ctx, one); !errors.As(err, &ve) {
			t.Fatalf("USD-only product in a EUR store: err = %v", err)
		}
		if _, err := s.CreateProduct(tenancy.WithID(t.Context(), "acme"), one); err != nil {
			t.Fatalf("USD product in a USD store: %v", err)
		}

		p, err := s.CreateProduct(ctx, productNamed("Tea", catalogapi.StatusActive))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateProduct(ctx, p.ID, catalogapi.ProductUpdate{Variants: []catalogapi.VariantInput{{SKU: p.Variants[0].SKU, Price: usd}}})
		if !errors.As(err, &ve) {
			t.Fatalf("update to USD in a EUR store: err = %v", err)
		}
		got, err := s.Product(ctx, p.ID)
		if err != nil || got.Variants[0].Price != eur(100) {
			t.Fatalf("after refused update: %+v, %v", got.Variants, err)
		}
		title := "Green tea"
		if _, err := s.UpdateProduct(ctx, p.ID, catalogapi.ProductUpdate{Title: &title}); err != nil {
			t.Fatalf("update without prices: %v", err)
		}

		stores.mu.Lock()
		stores.err = errors.New("connection refused")
		stores.mu.Unlock()
		if _, err := s.CreateProduct(ctx, productNamed("Pot", catalogapi.StatusActive)); !errors.Is(err, ErrStoreUnavailable) {
			t.Fatalf("tenant down: err = %v, want ErrStoreUnavailable", err)
		}
		list, err := s.AdminProducts(ctx, AdminListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 {
			t.Errorf("default has %d products, want 1 (Tea)", len(list.Items))
		}
	}, Migrations...)
}

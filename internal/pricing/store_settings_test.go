package pricing

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// TestStoreSettingsFromTenantEvents: the store's currency and tax mode come
// from the tenant service's events, once each, newest version winning; a
// new store gets a free default shipping method, which follows its
// currency; quotes see all of it.
func TestStoreSettingsFromTenantEvents(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, err := New(t.Context(), Config{DefaultCountry: "DE"}, Deps{Deps: kit.Deps{DB: db}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := tenancy.WithID(t.Context(), "tea")
		event := func(subject string, at time.Time, data any) outbox.Envelope {
			t.Helper()
			e, err := outbox.NewEvent(ctx, tenantapi.Source, subject, at, data)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		handle := func(e outbox.Envelope) {
			t.Helper()
			if err := svc.HandleTenantEvent(ctx, e); err != nil {
				t.Fatalf("handle %s: %v", e.Type, err)
			}
		}
		product := func(id, sku string, price money.Money) {
			t.Helper()
			p := catalogapi.Product{ID: id, Title: sku, Status: catalogapi.StatusActive, UpdatedAt: testNow,
				Variants: []catalogapi.Variant{{ID: id + "-v", SKU: sku, Title: sku, Price: price}}}
			e, err := outbox.NewEvent(ctx, catalogapi.Source, catalogapi.SubjectProductCreated, testNow, catalogapi.ProductCreated{Product: p})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.HandleCatalogEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		product("p1", "TEA-EUR", money.Money{Amount: 900, Currency: "EUR"})
		product("p2", "TEA-USD", money.Money{Amount: 900, Currency: "USD"})
		if _, err := svc.SaveTaxRate(ctx, "", pricingapi.TaxRateInput{Country: "DE", RateBP: 1900, Name: "MwSt"}); err != nil {
			t.Fatal(err)
		}
		quote := func(sku string) (pricingapi.Quote, error) {
			return svc.Quote(ctx, pricingapi.QuoteRequest{Items: []pricingapi.Item{{SKU: sku, Quantity: 2}}, Country: "DE"})
		}

		// Before any event: a new store's defaults, and no shipping yet.
		if set, err := svc.Settings(ctx); err != nil || set.Currency != "EUR" || !set.TaxInclusive {
			t.Fatalf("settings before any event = %+v %v, want the new store's EUR, tax-inclusive", set, err)
		}

		t0 := testNow
		created := event(tenantapi.SubjectTenantCreated, t0, tenantapi.TenantCreated{TenantID: "tea", Name: "Tea", Plan: "free",
			Settings: &tenantapi.Settings{Name: "Tea", Currency: "EUR", TaxInclusive: true, Locale: "en"}, UpdatedAt: t0})
		handle(created)
		handle(created) // redelivered: no second method
		ms, err := svc.ShippingMethods(ctx, false, "")
		if err != nil || len(ms) != 1 || ms[0].Code != "standard" || ms[0].Price != (money.Money{Amount: 0, Currency: "EUR"}) {
			t.Fatalf("shipping methods of a new store = %+v %v, want one free standard", ms, err)
		}
		q, err := quote("TEA-EUR")
		if err != nil || q.ShippingMethod != "standard" || !q.TaxInclusive || q.Total.Amount != 1800 || q.Tax.Amount != 287 {
			t.Fatalf("inclusive quote = %+v %v, want total 1800 with 287 tax in it", q, err)
		}

		// The owner turns tax-inclusive prices off: tax goes on top.
		t1 := t0.Add(time.Minute)
		handle(event(tenantapi.SubjectTenantUpdated, t1, tenantapi.TenantUpdated{TenantID: "tea",
			Settings: tenantapi.Settings{Name: "Tea", Currency: "EUR", TaxInclusive: false, Locale: "en"}, UpdatedAt: t1}))
		if q, err := quote("TEA-EUR"); err != nil || q.TaxInclusive || q.Total.Amount != 1800+342 || q.Tax.Amount != 342 {
			t.Fatalf("exclusive quote = %+v %v, want 1800 + 342 tax", q, err)
		}
		// An older event arriving late changes nothing.
		handle(event(tenantapi.SubjectTenantUpdated, t0.Add(30*time.Second), tenantapi.TenantUpdated{TenantID: "tea",
			Settings: tenantapi.Settings{Name: "Tea", Currency: "CHF", TaxInclusive: true, Locale: "en"}, UpdatedAt: t0.Add(30 * time.Second)}))
		if set, _ := svc.Settings(ctx); set.Currency != "EUR" || set.TaxInclusive {
			t.Fatalf("a late, older event won: %+v", set)
		}

		// The owner moves the store to USD: EUR prices are refused, USD
		// ones sell, and the free default method follows the currency.
		t2 := t1.Add(time.Minute)
		handle(event(tenantapi.SubjectTenantUpdated, t2, tenantapi.TenantUpdated{TenantID: "tea",
			Settings: tenantapi.Settings{Name: "Tea", Currency: "USD", TaxInclusive: false, Locale: "en"}, UpdatedAt: t2}))
		if _, err := quote("TEA-EUR"); !errors.Is(err, ErrCurrencyMismatch) {
			t.Fatalf("EUR price in a USD store: %v, want currency_mismatch", err)
		}
		if q, err := quote("TEA-USD"); err != nil || q.Currency != "USD" || q.Total != (money.Money{Amount: 2142, Currency: "USD"}) || q.Shipping.Currency != "USD" {
			t.Fatalf("USD quote = %+v %v", q, err)
		}
		if set, _ := svc.Settings(ctx); set.Currency != "USD" || set.TaxInclusive || set.DefaultShippingMethod != "standard" || set.DefaultCountry != "DE" {
			t.Fatalf("settings = %+v", set)
		}
	}, Migrations...)
}

// TestDemoSeedReplacesTheNewStoreDefault: the demo's standard shipping
// method replaces the default one a new store got, whichever ran first, but
// never a method the store changed.
func TestDemoSeedReplacesTheNewStoreDefault(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, err := New(t.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tenant := range []string{"fresh", "edited"} {
			ctx := tenancy.WithID(t.Context(), tenant)
			e, err := outbox.NewEvent(ctx, tenantapi.Source, tenantapi.SubjectTenantCreated, testNow, tenantapi.TenantCreated{TenantID: tenant, UpdatedAt: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.HandleTenantEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
			if tenant == "edited" {
				ms, _ := svc.ShippingMethods(ctx, false, "")
				if _, err := svc.SaveShippingMethod(ctx, ms[0].ID, pricingapi.ShippingMethodInput{Code: "standard", Name: "Our post", Price: money.Money{Amount: 300, Currency: "EUR"}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.SeedDemo(ctx); err != nil {
				t.Fatal(err)
			}
			want := int64(490)
			if tenant == "edited" {
				want = 300
			}
			m := standardMethod(t, ctx, svc)
			if m.Price.Amount != want {
				t.Errorf("%s: standard costs %d after the demo seed, want %d", tenant, m.Price.Amount, want)
			}
		}
	}, Migrations...)
}

func standardMethod(t *testing.T, ctx context.Context, svc *Service) pricingapi.ShippingMethod {
	t.Helper()
	ms, err := svc.ShippingMethods(ctx, false, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Code == "standard" {
			return m
		}
	}
	t.Fatalf("no standard method in %+v", ms)
	return pricingapi.ShippingMethod{}
}

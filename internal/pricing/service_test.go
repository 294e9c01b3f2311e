package pricing

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fixture is the service on one engine, served through the web platform.
type fixture struct {
	t   *testing.T
	db  *sqldb.DB
	svc *Service
	url string
	now time.Time
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	svc, err := New(t.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, svc: svc, now: testNow}
	svc.now = func() time.Time { return f.now }
	srv := webtest.New(t, func(api *web.API) { svc.Routes(api) })
	f.url = srv.URL
	return f
}

func (f *fixture) ctx(tenant string) context.Context {
	return tenancy.WithID(f.t.Context(), tenant)
}

// do sends a JSON request and decodes the answer into out (when not nil).
func (f *fixture) do(method, path, tenant string, admin bool, body any, out any) int {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.url+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(tenancy.Header, tenant)
	if admin {
		req.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			f.t.Fatalf("decode %s %s (%d): %v: %s", method, path, res.StatusCode, err, raw)
		}
	}
	return res.StatusCode
}

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Errors []struct {
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// product feeds a catalog event for a product with the given variants
// (sku → price in EUR cents) through the projection's handler.
func (f *fixture) product(tenant, subject, id, category string, status catalogapi.Status, updated time.Time, variants map[string]int64) {
	f.t.Helper()
	p := catalogapi.Product{ID: id, Title: "Product " + id, Status: status, CategoryID: category, UpdatedAt: updated}
	for sku, price := range variants {
		p.Variants = append(p.Variants, catalogapi.Variant{ID: "v-" + sku, SKU: sku, Title: "Var " + sku, Price: money.Money{Amount: price, Currency: "EUR"}})
	}
	e, err := outbox.NewEvent(f.ctx(tenant), catalogapi.Source, subject, updated, catalogapi.ProductUpdated{Product: p})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.svc.HandleCatalogEvent(f.t.Context(), e); err != nil {
		f.t.Fatal(err)
	}
}

func TestService(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		if n, err := f.svc.SeedDemo(f.ctx("default")); err != nil || n != 12 {
			t.Fatalf("SeedDemo = %d, %v; want 12 items", n, err)
		}
		if n, err := f.svc.SeedDemo(f.ctx("default")); err != nil || n != 0 {
			t.Fatalf("second SeedDemo = %d, %v; want 0 (idempotent)", n, err)
		}
		t0 := testNow.Add(-time.Hour)
		f.product("default", catalogapi.SubjectProductCreated, "p1", "c1", catalogapi.StatusActive, t0, map[string]int64{"MUG-1": 1299})
		f.product("default", catalogapi.SubjectProductCreated, "p2", "c2", catalogapi.StatusActive, t0, map[string]int64{"COF-1": 899, "COF-2": 2999})
		f.product("default", catalogapi.SubjectProductCreated, "p3", "", catalogapi.StatusDraft, t0, map[string]int64{"DRAFT-1": 100})

		t.Run("quote", func(t *testing.T) { testQuote(t, f) })
		t.Run("projection", func(t *testing.T) { testProjection(t, f, t0) })
		t.Run("discount_crud", func(t *testing.T) { testDiscountCRUD(t, f) })
		t.Run("discount_products", func(t *testing.T) { testDiscountProducts(t, f) })
		t.Run("rates_and_shipping", func(t *testing.T) { testRatesAndShipping(t, f) })
		t.Run("redeem", func(t *testing.T) { testRedeem(t, f) })
		t.Run("concurrent_redeem", func(t *testing.T) { testConcurrentRedeem(t, f) })
	}, Migrations...)
}

func testQuote(t *testing.T, f *fixture) {
	c := pricingapi.NewClient(f.url, nil)
	ctx := f.ctx("default")
	// Demo store: EUR, inclusive, DE 19%, standard 4.90 free over 50.
	q, err := c.Quote(ctx, pricingapi.QuoteRequest{Items: []pricingapi.Item{{SKU: "MUG-1", Quantity: 2}, {SKU: "COF-1", Quantity: 1}}, Coupon: "welcome10", Email: "Ann@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Subtotal.Amount != 3497 || q.Discount.Amount != 350 || q.Shipping.Amount != 490 || q.Total.Amount != 3637 ||
		!q.TaxInclusive || q.Country != "DE" || q.ShippingMethod != "standard" || q.Coupon != "WELCOME10" {
		t.Fatalf("quote = %+v", q)
	}
	if q.Lines[0].Title != "Product p1 – Var MUG-1" || q.Lines[0].ProductID != "p1" || q.Lines[0].CategoryID != "c1" {
		t.Fatalf("line = %+v", q.Lines[0])
	}

	items := func(sku string, qty int64) []pricingapi.Item { return []pricingapi.Item{{SKU: sku, Quantity: qty}} }
	bad := []struct {
		name   string
		req    pricingapi.QuoteRequest
		status int
		code   string
		value  any
	}{
		{"unknown sku", pricingapi.QuoteRequest{Items: items("NOPE", 1)}, 422, "unknown_sku", "NOPE"},
		{"draft product", pricingapi.QuoteRequest{Items: items("DRAFT-1", 1)}, 422, "unknown_sku", "DRAFT-1"},
		{"zero quantity", pricingapi.QuoteRequest{Items: items("MUG-1", 0)}, 422, "invalid_quantity", float64(0)},
		{"absurd quantity", pricingapi.QuoteRequest{Items: items("MUG-1", 10001)}, 422, "invalid_quantity", float64(10001)},
		{"unknown coupon", pricingapi.QuoteRequest{Items: items("MUG-1", 1), Coupon: "NOPE"}, 422, "unknown_coupon", "NOPE"},
		{"expired coupon", pricingapi.QuoteRequest{Items: items("MUG-1", 1), Coupon: "summer24"}, 422, "coupon_expired", "SUMMER24"},
		{"min subtotal", pricingapi.QuoteRequest{Items: items("MUG-1", 1), Coupon: "SAVE5"}, 422, "coupon_not_applicable", "SAVE5"},
		{"currency", pricingapi.QuoteRequest{Items: items("MUG-1", 1), Currency: "USD"}, 422, "currency_mismatch", "USD"},
		{"shipping method", pricingapi.QuoteRequest{Items: items("MUG-1", 1), ShippingMethod: "pigeon"}, 422, "unknown_shipping_method", "pigeon"},
		{"country", pricingapi.QuoteRequest{Items: items("MUG-1", 1), Country: "XX"}, 422, "invalid_country", "XX"},
	}
	for _, tt := range bad {
		var p problem
		if st := f.do("POST", "/api/v1/quote", "default", false, tt.req, &p); st != tt.status || p.Code != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, st, p.Code, tt.status, tt.code)
			continue
		}
		if len(p.Errors) != 1 || p.Errors[0].Value != tt.value {
			t.Errorf("%s: errors = %+v, want value %v", tt.name, p.Errors, tt.value)
		}
	}
	// Through the client, the code is testable.
	_, err = c.Quote(ctx, pricingapi.QuoteRequest{Items: items("NOPE", 1)})
	if !apiclient.IsCode(err, "unknown_sku") {
		t.Errorf("client error = %v, want unknown_sku", err)
	}
	// Other tenants see nothing of default's catalog.
	if _, err := c.Quote(f.ctx("acme"), pricingapi.QuoteRequest{Items: items("MUG-1", 1), NoShipping: true}); !apiclient.IsCode(err, "unknown_sku") {
		t.Errorf("acme quote of default's SKU: %v, want unknown_sku", err)
	}
}

func testProjection(t *testing.T, f *fixture, t0 time.Time) {
	ctx := f.ctx("default")
	price := func(sku string) (int64, error) {
		q, err := f.svc.Quote(ctx, pricingapi.QuoteRequest{Items: []pricingapi.Item{{SKU: sku, Quantity: 1}}, NoShipping: true})
		return q.Subtotal.Amount, err
	}
	f.product("default", catalogapi.SubjectProductUpdated, "p2", "c2", catalogapi.StatusActive, t0.Add(2*time.Minute), map[string]int64{"COF-1": 999})
	// An older snapshot arriving late changes nothing.
	f.product("default", catalogapi.SubjectProductUpdated, "p2", "c2", catalogapi.StatusActive, t0.Add(time.Minute), map[string]int64{"COF-1": 1, "COF-2": 1})
	if p, err := price("COF-1"); err != nil || p != 999 {
		t.Fatalf("COF-1 = %d, %v; want 999", p, err)
	}
	// COF-2 was dropped by the newer snapshot.
	if _, err := price("COF-2"); !errorsIs(err, ErrUnknownSKU) {
		t.Fatalf("COF-2: %v, want unknown SKU", err)
	}
	f.product("default", catalogapi.SubjectProductArchived, "p2", "c2", catalogapi.StatusArchived, t0.Add(3*time.Minute), map[string]int64{"COF-1": 999})
	if _, err := price("COF-1"); !errorsIs(err, ErrUnknownSKU) {
		t.Fatalf("archived COF-1: %v, want unknown SKU", err)
	}
	f.product("default", catalogapi.SubjectProductUpdated, "p2", "c2", catalogapi.StatusActive, t0.Add(4*time.Minute), map[string]int64{"COF-1": 899, "COF-2": 2999})
	if p, err := price("COF-1"); err != nil || p != 899 {
		t.Fatalf("reactivated COF-1 = %d, %v; want 899", p, err)
	}
	// The same event twice is applied once (inbox).
	p := catalogapi.Product{ID: "p9", Title: "T", Status: catalogapi.StatusActive, UpdatedAt: t0,
		Variants: []catalogapi.Variant{{ID: "v9", SKU: "NINE", Price: money.Money{Amount: 9, Currency: "EUR"}}}}
	e, err := outbox.NewEvent(ctx, catalogapi.Source, catalogapi.SubjectProductCreated, t0, catalogapi.ProductCreated{Product: p})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.svc.HandleCatalogEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := price("NINE"); err != nil || p != 9 {
		t.Fatalf("NINE = %d, %v", p, err)
	}
}

// testDiscountProducts: a product discount names products of the store's
// catalog; an unknown ID or another store's product is a 422, on create
// and on update, and nothing is written.
func testDiscountProducts(t *testing.T, f *fixture) {
	base := "/api/v1/admin/pricing/discounts"
	f.product("acme", catalogapi.SubjectProductCreated, "acme-p1", "", catalogapi.StatusActive, testNow.Add(-time.Hour), map[string]int64{"ACME-1": 100})
	var before pricingapi.DiscountList
	f.do("GET", base, "default", true, nil, &before)
	for _, ids := range [][]string{{"nope"}, {"p1", "acme-p1"}} {
		in := map[string]any{"name": "Some", "kind": "percentage", "percent_bp": 1000, "scope": "product", "product_ids": ids}
		var p problem
		if st := f.do("POST", base, "default", true, in, &p); st != 422 || p.Code != "validation_failed" {
			t.Errorf("product_ids %v: %d %+v, want 422", ids, st, p)
		}
	}
	var after pricingapi.DiscountList
	if f.do("GET", base, "default", true, nil, &after); len(after.Items) != len(before.Items) {
		t.Errorf("refused discounts were written: %d, then %d", len(before.Items), len(after.Items))
	}
	var d pricingapi.Discount
	in := map[string]any{"name": "Mugs", "kind": "percentage", "percent_bp": 1000, "scope": "product", "product_ids": []string{"p1"}}
	if st := f.do("POST", base, "default", true, in, &d); st != 201 {
		t.Fatalf("discount of a known product: %d", st)
	}
	if st := f.do("PATCH", base+"/"+d.ID, "default", true, map[string]any{"product_ids": []string{"acme-p1"}}, nil); st != 422 {
		t.Errorf("update to another store's product: %d, want 422", st)
	}
	if st := f.do("DELETE", base+"/"+d.ID, "default", true, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
}

func testDiscountCRUD(t *testing.T, f *fixture) {
	base := "/api/v1/admin/pricing/discounts"
	var d pricingapi.Discount
	in := map[string]any{"name": "Mugs 20%", "kind": "percentage", "percent_bp": 2000, "scope": "category", "category_ids": []string{"c1"}}
	if st := f.do("POST", base, "default", true, in, &d); st != 201 || d.ID == "" || d.Code != "" || !d.Active {
		t.Fatalf("create: %d %+v", st, d)
	}
	if st := f.do("POST", base, "default", false, in, nil); st != 401 {
		t.Fatalf("create without token: %d, want 401", st)
	}
	var got pricingapi.Discount
	if st := f.do("GET", base+"/"+d.ID, "default", true, nil, &got); st != 200 || got.Name != d.Name || got.CategoryIDs[0] != "c1" {
		t.Fatalf("get: %d %+v", st, got)
	}
	var p problem
	if st := f.do("GET", base+"/"+d.ID, "acme", true, nil, &p); st != 404 || p.Code != "not_found" {
		t.Fatalf("acme get of default's discount: %d %s, want 404", st, p.Code)
	}
	if st := f.do("PATCH", base+"/"+d.ID, "acme", true, map[string]any{"name": "x"}, nil); st != 404 {
		t.Fatalf("acme patch: %d, want 404", st)
	}
	var l pricingapi.DiscountList
	if f.do("GET", base, "acme", true, nil, &l); len(l.Items) != 0 {
		t.Fatalf("acme lists %d discounts", len(l.Items))
	}
	// The automatic category discount now applies to mugs.
	q, err := f.svc.Quote(f.ctx("default"), pricingapi.QuoteRequest{Items: []pricingapi.Item{{SKU: "MUG-1", Quantity: 1}}, NoShipping: true})
	if err != nil || q.Discount.Amount != 260 {
		t.Fatalf("quote with category discount: %+v, %v", q, err)
	}
	if st := f.do("PATCH", base+"/"+d.ID, "default", true, map[string]any{"percent_bp": 1000, "active": false}, &got); st != 200 || got.PercentBP != 1000 || got.Active {
		t.Fatalf("patch: %d %+v", st, got)
	}

	// Bad input is refused and writes nothing.
	before := countRows(t, f.db, "discounts")
	outboxBefore := countRows(t, f.db, "outbox")
	bad := []map[string]any{
		{"name": "x", "kind": "percentage", "percent_bp": 0},
		{"name": "x", "kind": "percentage", "percent_bp": 10001},
		{"name": "x", "kind": "fixed"},
		{"name": "x", "kind": "fixed", "amount": map[string]any{"amount": 100, "currency": "EURO"}},
		{"name": "x", "kind": "percentage", "percent_bp": 100, "scope": "product"},
		{"name": " ", "kind": "percentage", "percent_bp": 100},
		{"name": "x", "kind": "percentage", "percent_bp": 100, "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"},
		{"name": "dup", "kind": "percentage", "percent_bp": 100, "code": "welcome10"},
		{"name": "x", "kind": "bogus"},
	}
	for i, b := range bad {
		if st := f.do("POST", base, "default", true, b, &p); st != 422 && st != 409 {
			t.Errorf("bad discount %d: %d, want 4xx", i, st)
		}
	}
	if st := f.do("PATCH", base+"/"+d.ID, "default", true, map[string]any{"percent_bp": 0}, nil); st != 422 {
		t.Errorf("patch to 0 bp: %d, want 422", st)
	}
	if n := countRows(t, f.db, "discounts"); n != before {
		t.Fatalf("bad input wrote discounts: %d → %d", before, n)
	}
	if n := countRows(t, f.db, "outbox"); n != outboxBefore {
		t.Fatalf("bad input wrote events: %d → %d", outboxBefore, n)
	}
	if st := f.do("DELETE", base+"/"+d.ID, "acme", true, nil, nil); st != 404 {
		t.Fatalf("acme delete: %d, want 404", st)
	}
	if st := f.do("DELETE", base+"/"+d.ID, "default", true, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st := f.do("GET", base+"/"+d.ID, "default", true, nil, nil); st != 404 {
		t.Fatalf("get deleted: %d", st)
	}
	// created, updated, deleted: three events of default's, in order.
	var changes []string
	ctx := tenancy.WithID(t.Context(), "default")
	err = f.db.ReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT envelope FROM outbox WHERE subject = $1 ORDER BY id`, pricingapi.SubjectDiscountChanged)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			var env outbox.Envelope
			var dc pricingapi.DiscountChanged
			if err := json.Unmarshal([]byte(raw), &env); err != nil {
				return err
			}
			if err := json.Unmarshal(env.Data, &dc); err != nil {
				return err
			}
			if dc.Discount.ID == d.ID {
				changes = append(changes, dc.Change)
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(changes, ",") != "created,updated,deleted" {
		t.Fatalf("events = %v", changes)
	}
}

func countRows(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	ctx := sqldb.AllTenants(t.Context()) // every tenant's rows
	err := db.ReadTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testRatesAndShipping(t *testing.T, f *fixture) {
	var r pricingapi.TaxRate
	if st := f.do("POST", "/api/v1/admin/pricing/tax-rates", "acme", true, pricingapi.TaxRateInput{Country: "IT", RateBP: 2200, Name: "IVA"}, &r); st != 201 {
		t.Fatalf("create rate: %d", st)
	}
	if st := f.do("POST", "/api/v1/admin/pricing/tax-rates", "acme", true, pricingapi.TaxRateInput{Country: "IT", RateBP: 1000, Name: "dup"}, nil); st != 409 {
		t.Fatalf("duplicate rate: %d, want 409", st)
	}
	if st := f.do("POST", "/api/v1/admin/pricing/tax-rates", "acme", true, map[string]any{"country": "ZZ", "rate_bp": 10, "name": "x"}, nil); st != 422 {
		t.Fatalf("bad country: %d, want 422", st)
	}
	if st := f.do("PUT", "/api/v1/admin/pricing/tax-rates/"+r.ID, "acme", true, pricingapi.TaxRateInput{Country: "IT", RateBP: 2100, Name: "IVA"}, &r); st != 200 || r.RateBP != 2100 {
		t.Fatalf("put rate: %d %+v", st, r)
	}
	if st := f.do("GET", "/api/v1/admin/pricing/tax-rates/"+r.ID, "default", true, nil, nil); st != 404 {
		t.Fatalf("default reads acme's rate: %d", st)
	}
	var l pricingapi.ShippingMethodList
	if st := f.do("GET", "/api/v1/shipping-methods?country=FR", "default", false, nil, &l); st != 200 || len(l.Items) != 2 || l.Items[0].Code != "standard" {
		t.Fatalf("public shipping list: %d %+v", st, l)
	}
	var m pricingapi.ShippingMethod
	in := pricingapi.ShippingMethodInput{Code: "local", Name: "Local pickup", Price: money.Money{Amount: 0, Currency: "EUR"}, Countries: []string{"de"}}
	if st := f.do("POST", "/api/v1/admin/pricing/shipping-methods", "default", true, in, &m); st != 201 || m.Countries[0] != "DE" {
		t.Fatalf("create method: %d %+v", st, m)
	}
	if f.do("GET", "/api/v1/shipping-methods?country=FR", "default", false, nil, &l); len(l.Items) != 2 {
		t.Fatalf("FR sees %d methods, want 2", len(l.Items))
	}
	if f.do("GET", "/api/v1/shipping-methods?country=DE", "default", false, nil, &l); len(l.Items) != 3 {
		t.Fatalf("DE sees %d methods, want 3", len(l.Items))
	}
	var p problem
	if st := f.do("POST", "/api/v1/quote", "default", false, pricingapi.QuoteRequest{Items: []pricingapi.Item{{SKU: "MUG-1", Quantity: 1}}, Country: "FR", ShippingMethod: "local"}, &p); st != 422 || p.Code != "shipping_not_available" {
		t.Fatalf("local to FR: %d %s", st, p.Code)
	}
	if st := f.do("DELETE", "/api/v1/admin/pricing/shipping-methods/"+m.ID, "default", true, nil, nil); st != 204 {
		t.Fatalf("delete method: %d", st)
	}
	// A store without settings has a new store's (the tenant service's
	// defaults: EUR, tax-inclusive), before any event arrives.
	var set pricingapi.Settings
	if st := f.do("GET", "/api/v1/admin/pricing/settings", "globex", true, nil, &set); st != 200 || set.Currency != tenantapi.DefaultCurrency || set.TaxInclusive != tenantapi.DefaultTaxInclusive {
		t.Fatalf("default settings: %d %+v", st, set)
	}
	if st := f.do("PUT", "/api/v1/admin/pricing/settings", "globex", true, map[string]any{"default_country": "US", "default_shipping_method": "express"}, &set); st != 200 ||
		set.DefaultCountry != "US" || set.DefaultShippingMethod != "express" || set.Currency != "EUR" || !set.TaxInclusive {
		t.Fatalf("put settings: %d %+v", st, set)
	}
	// Currency and tax mode are the store's: pricing has no second copy
	// anyone could write.
	for _, body := range []map[string]any{
		{"currency": "USD", "default_country": "US"},
		{"tax_inclusive": false, "default_country": "US"},
		{"default_country": "QQ"},
	} {
		if st := f.do("PUT", "/api/v1/admin/pricing/settings", "globex", true, body, nil); st != 422 {
			t.Fatalf("put settings %v: %d, want 422", body, st)
		}
	}
	if f.do("GET", "/api/v1/admin/pricing/settings", "globex", true, nil, &set); set.Currency != "EUR" || !set.TaxInclusive || set.DefaultCountry != "US" {
		t.Fatalf("refused puts changed the settings: %+v", set)
	}
}

func testRedeem(t *testing.T, f *fixture) {
	c := pricingapi.NewClient(f.url, &http.Client{Transport: adminTransport{}})
	ctx := f.ctx("default")
	r, err := c.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o1", Coupon: "welcome10", Email: "Ann@Example.com"})
	if err != nil || r.Status != "active" || r.Coupon != "WELCOME10" || r.Email != "ann@example.com" {
		t.Fatalf("redeem: %+v, %v", r, err)
	}
	if again, err := c.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o1", Coupon: "WELCOME10", Email: "ann@example.com"}); err != nil || again != r {
		t.Fatalf("repeat redeem: %+v, %v", again, err)
	}
	// Per customer: once.
	if _, err := c.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o2", Coupon: "WELCOME10", Email: "ANN@example.com"}); !apiclient.IsCode(err, "coupon_exhausted") || !apiclient.IsStatus(err, 409) {
		t.Fatalf("second use by ann: %v, want 409 coupon_exhausted", err)
	}
	if _, err := c.Quote(ctx, pricingapi.QuoteRequest{Items: []pricingapi.Item{{SKU: "MUG-1", Quantity: 1}}, Coupon: "WELCOME10", Email: "ann@example.com"}); !apiclient.IsCode(err, "coupon_exhausted") {
		t.Fatalf("quote for ann: %v, want coupon_exhausted", err)
	}
	if _, err := c.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o2", Coupon: "WELCOME10"}); !apiclient.IsCode(err, "email_required") {
		t.Fatalf("no email: %v, want email_required", err)
	}
	if _, err := c.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o2", Coupon: "NOPE", Email: "bob@example.com"}); !apiclient.IsCode(err, "unknown_coupon") {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := c.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o2", Coupon: "SUMMER24"}); !apiclient.IsCode(err, "coupon_expired") {
		t.Fatalf("expired: %v", err)
	}
	if _, err := c.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o1", Coupon: "SAVE5"}); !apiclient.IsCode(err, "order_redeemed") {
		t.Fatalf("other coupon for o1: %v", err)
	}
	// Release gives the use back, twice is fine, unknown is fine.
	for range 2 {
		if err := c.ReleaseRedemption(ctx, "o1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ReleaseRedemption(ctx, "never"); err != nil {
		t.Fatalf("release unknown: %v", err)
	}
	if _, err := c.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o2", Coupon: "WELCOME10", Email: "ann@example.com"}); err != nil {
		t.Fatalf("ann after release: %v", err)
	}
	// Acme has no such coupon.
	if _, err := c.Redeem(f.ctx("acme"), pricingapi.RedeemRequest{OrderID: "o9", Coupon: "WELCOME10", Email: "x@example.com"}); !apiclient.IsCode(err, "unknown_coupon") {
		t.Fatalf("acme redeem: %v", err)
	}
}

// adminTransport adds the admin token, as the platform's clients do.
type adminTransport struct{}

func (adminTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	return http.DefaultTransport.RoundTrip(r)
}

func testConcurrentRedeem(t *testing.T, f *fixture) {
	ctx := f.ctx("default")
	limit := int64(10)
	d, err := f.svc.CreateDiscount(ctx, pricingapi.DiscountCreate{Name: "Ten only", Code: "TENONLY", Kind: pricingapi.KindPercentage, PercentBP: 500, UsageLimit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, exhausted, winner := 0, 0, ""
	for i := range 100 {
		wg.Go(func() {
			_, err := f.svc.Redeem(ctx, pricingapi.RedeemRequest{OrderID: fmt.Sprintf("c%d", i), Coupon: "tenonly", Email: fmt.Sprintf("u%d@example.com", i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				winner = fmt.Sprintf("c%d", i)
			case errorsIs(err, ErrCouponExhausted):
				exhausted++
			default:
				t.Errorf("redeem %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok != 10 || exhausted != 90 {
		t.Fatalf("%d redeemed, %d exhausted; want 10 and 90", ok, exhausted)
	}
	got, err := f.svc.Discount(ctx, d.ID)
	if err != nil || got.Used != 10 {
		t.Fatalf("used = %d, %v; want 10", got.Used, err)
	}
	if _, err := f.svc.ReleaseRedemption(ctx, winner); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Discount(ctx, d.ID); got.Used != 9 {
		t.Fatalf("used after release = %d, want 9", got.Used)
	}
}

package cart

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// fakePricing quotes from a price list of its own: total = subtotal − 10%
// with the coupon "SAVE10", + 490 shipping when asked for. err, when set,
// is returned instead.
type fakePricing struct {
	mu     sync.Mutex
	prices map[string]int64
	err    error
	calls  []pricingapi.QuoteRequest
}

func (f *fakePricing) Quote(_ context.Context, r pricingapi.QuoteRequest) (pricingapi.Quote, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r)
	if f.err != nil {
		return pricingapi.Quote{}, f.err
	}
	m := func(a int64) money.Money { return money.Money{Amount: a, Currency: r.Currency} }
	var sub int64
	for _, it := range r.Items {
		sub += f.prices[it.SKU] * it.Quantity
	}
	q := pricingapi.Quote{Currency: r.Currency, TaxInclusive: true, Subtotal: m(sub), Discount: m(0), Shipping: m(0),
		Tax: m(0), Discounts: []pricingapi.AppliedDiscount{}}
	switch r.Coupon {
	case "":
	case "SAVE10":
		q.Discount = m(sub / 10)
		q.Discounts = append(q.Discounts, pricingapi.AppliedDiscount{ID: "d1", Name: "Save 10", Code: "SAVE10", Amount: q.Discount})
	default:
		return pricingapi.Quote{}, &apiclient.Error{Status: 422, Code: "unknown_coupon", Detail: "no such coupon",
			Errors: []apiclient.FieldError{{Location: "body.coupon", Message: "unknown coupon", Value: r.Coupon}}}
	}
	if !r.NoShipping {
		q.Shipping = m(490)
	}
	q.Total = m(sub - q.Discount.Amount + q.Shipping.Amount)
	return q, nil
}

func (f *fakePricing) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakePricing) last() pricingapi.QuoteRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1]
}

// fixture is a cart service on one database with a clock tests move.
type fixture struct {
	t       *testing.T
	db      *sqldb.DB
	svc     *Service
	pricing *fakePricing
	mu      sync.Mutex
	clock   time.Time
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, clock: t0, pricing: &fakePricing{prices: map[string]int64{}}}
	svc, err := New(t.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}, Pricing: f.pricing})
	if err != nil {
		t.Fatal(err)
	}
	// Each call moves the clock one millisecond: timestamps are distinct.
	svc.now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.clock = f.clock.Add(time.Millisecond)
		return f.clock
	}
	f.svc = svc
	return f
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

func tenantCtx(t testing.TB, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

// product is an active catalog product with one variant per SKU, each
// priced price (EUR) and titled after its SKU.
func product(id string, updated time.Time, price int64, skus ...string) catalogapi.Product {
	p := catalogapi.Product{ID: id, Title: "Product " + id, Status: catalogapi.StatusActive, UpdatedAt: updated,
		Images: []catalogapi.Image{{URL: "/media/" + id + ".jpg"}}}
	for _, s := range skus {
		p.Variants = append(p.Variants, catalogapi.Variant{ID: "v-" + s, SKU: s, Title: s,
			Price: money.Money{Amount: price, Currency: "EUR"}})
	}
	return p
}

// feed delivers a catalog event to the service's handler, through the
// inbox as the consumer would, and reports whether it was applied.
func (f *fixture) feed(tenant, subject string, p catalogapi.Product) {
	f.t.Helper()
	ctx := tenantCtx(f.t, tenant)
	e, err := outbox.NewEvent(ctx, catalogapi.Source, subject, p.UpdatedAt, catalogapi.ProductUpdated{Product: p})
	if err != nil {
		f.t.Fatal(err)
	}
	f.deliver(groupCatalog, e, f.svc.handleProduct)
	for _, v := range p.Variants {
		f.pricing.mu.Lock()
		f.pricing.prices[v.SKU] = v.Price.Amount
		f.pricing.mu.Unlock()
	}
}

func (f *fixture) deliver(group string, e outbox.Envelope, h func(context.Context, *sql.Tx, outbox.Envelope) error) bool {
	f.t.Helper()
	applied, err := outbox.Handle(f.t.Context(), f.db, group, e, f.svc.now(), func(ctx context.Context, tx *sql.Tx) error {
		return h(ctx, tx, e)
	})
	if err != nil {
		f.t.Fatalf("handle %s: %v", e.Type, err)
	}
	return applied
}

// confirm delivers order.confirmed.v1 for cartID.
func (f *fixture) confirm(tenant, orderID, cartID string) bool {
	f.t.Helper()
	data := map[string]any{"id": orderID, "cart_id": cartID, "status": "confirmed", "lines": []any{}}
	e, err := outbox.NewEvent(tenantCtx(f.t, tenant), "order", subjectOrderConfirmed, f.svc.now(), data)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.deliver(groupOrders, e, f.svc.handleOrderConfirmed)
}

func (f *fixture) create(tenant string, in cartapi.CartCreate) cartapi.Cart {
	f.t.Helper()
	c, err := f.svc.Create(tenantCtx(f.t, tenant), in)
	if err != nil {
		f.t.Fatalf("create cart: %v", err)
	}
	return c
}

func (f *fixture) add(c cartapi.Cart, sku string, q int64) cartapi.Cart {
	f.t.Helper()
	c, err := f.svc.AddItem(tenantCtx(f.t, "default"), c.ID, cartapi.Item{SKU: sku, Quantity: q})
	if err != nil {
		f.t.Fatalf("add %s: %v", sku, err)
	}
	return c
}

func (f *fixture) get(tenant, id string) cartapi.Cart {
	f.t.Helper()
	c, err := f.svc.Cart(tenantCtx(f.t, tenant), id)
	if err != nil {
		f.t.Fatalf("get cart: %v", err)
	}
	return c
}

// count counts rows of a table, all tenants.
func (f *fixture) count(table string) int {
	f.t.Helper()
	var n int
	ctx := sqldb.AllTenants(f.t.Context())
	err := f.db.ReadTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

type lineWant struct {
	sku       string
	qty       int64
	unit      int64
	available bool
}

func checkLines(t *testing.T, c cartapi.Cart, want ...lineWant) {
	t.Helper()
	if len(c.Lines) != len(want) {
		t.Fatalf("lines = %+v, want %d", c.Lines, len(want))
	}
	for i, w := range want {
		l := c.Lines[i]
		if l.SKU != w.sku || l.Quantity != w.qty || l.UnitPrice.Amount != w.unit || l.Available != w.available ||
			l.Subtotal.Amount != w.unit*w.qty {
			t.Errorf("line %d = %+v, want %+v", i, l, w)
		}
	}
}

func wantCode(t *testing.T, err error, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func TestCartLines(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1250, "MUG-1", "MUG-2"))
		f.feed("default", catalogapi.SubjectProductCreated, product("p2", t0, 300, "TEA-1"))

		c := f.create("default", cartapi.CartCreate{})
		if c.Status != cartapi.StatusOpen || len(c.ID) < 30 || c.Currency != "" || c.Totals != nil || len(c.Lines) != 0 {
			t.Fatalf("new cart = %+v", c)
		}
		c = f.add(c, "MUG-1", 2)
		c = f.add(c, "TEA-1", 1)
		c = f.add(c, "MUG-1", 3) // merges into the first line
		checkLines(t, c, lineWant{"MUG-1", 5, 1250, true}, lineWant{"TEA-1", 1, 300, true})
		l := c.Lines[0]
		if l.Title != "Product p1 – MUG-1" || l.ProductID != "p1" || l.VariantID != "v-MUG-1" || l.ImageURL != "/media/p1.jpg" {
			t.Errorf("line = %+v", l)
		}
		if c.Currency != "EUR" || c.Subtotal != (money.Money{Amount: 6550, Currency: "EUR"}) {
			t.Errorf("currency %q subtotal %v", c.Currency, c.Subtotal)
		}
		if c.Totals == nil || c.Totals.Total.Amount != 6550 || c.TotalsError != nil {
			t.Fatalf("totals = %+v, error %+v", c.Totals, c.TotalsError)
		}
		if r := f.pricing.last(); !r.NoShipping || r.Currency != "EUR" || len(r.Items) != 2 || r.Items[0] != (pricingapi.Item{SKU: "MUG-1", Quantity: 5}) {
			t.Errorf("quote request = %+v", r)
		}

		ctx := tenantCtx(t, "default")
		c, err := f.svc.UpdateItem(ctx, c.ID, c.Lines[1].ID, 4)
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, c, lineWant{"MUG-1", 5, 1250, true}, lineWant{"TEA-1", 4, 300, true})
		c, err = f.svc.RemoveItem(ctx, c.ID, c.Lines[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, c, lineWant{"TEA-1", 4, 300, true})
		_, err = f.svc.RemoveItem(ctx, c.ID, c.Lines[0].ID+"x")
		wantCode(t, err, ErrLineNotFound)
		_, err = f.svc.UpdateItem(ctx, c.ID, "nope", 1)
		wantCode(t, err, ErrLineNotFound)
		c, err = f.svc.RemoveItem(ctx, c.ID, c.Lines[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Lines) != 0 || c.Currency != "" || c.Totals != nil {
			t.Errorf("emptied cart = %+v", c)
		}

		// A new cart with items: repeated SKUs add up.
		c = f.create("default", cartapi.CartCreate{Email: "ann@example.com",
			Items: []cartapi.Item{{SKU: "TEA-1", Quantity: 1}, {SKU: "MUG-2", Quantity: 1}, {SKU: "TEA-1", Quantity: 2}}})
		checkLines(t, c, lineWant{"TEA-1", 3, 300, true}, lineWant{"MUG-2", 1, 1250, true})
		if c.Email != "ann@example.com" {
			t.Errorf("email = %q", c.Email)
		}
	}, Migrations...)
}

// TestChangeAnswersAsARead: a create or an add answers the cart it built
// from its own transaction, without reading the cart again; the answer
// must be what a read right after it returns, lines, prices, totals and
// timestamps alike, also with a line whose product is no longer sold.
func TestChangeAnswersAsARead(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1250, "MUG-1", "MUG-2"))
		f.feed("default", catalogapi.SubjectProductCreated, product("p2", t0, 300, "TEA-1"))
		same := func(step string, answer cartapi.Cart) {
			t.Helper()
			if read := f.get("default", answer.ID); !reflect.DeepEqual(answer, read) {
				t.Errorf("%s answered\n%+v\nwhere a read gives\n%+v", step, answer, read)
			}
		}
		c := f.create("default", cartapi.CartCreate{})
		same("create empty", c)
		c = f.add(c, "MUG-1", 2)
		same("first add", c)
		c = f.add(c, "TEA-1", 1)
		same("add of a new SKU", c)
		c = f.add(c, "MUG-1", 1)
		same("add to a line", c)
		archived := product("p2", t0.Add(time.Hour), 300, "TEA-1")
		archived.Status = catalogapi.StatusArchived
		f.feed("default", catalogapi.SubjectProductArchived, archived)
		c = f.add(c, "MUG-2", 4)
		if len(c.Lines) != 3 || c.Lines[1].Available {
			t.Fatalf("lines = %+v, want TEA-1 unavailable among 3", c.Lines)
		}
		same("add beside an unavailable line", c)

		c = f.create("default", cartapi.CartCreate{Email: "ann@example.com", Coupon: "save10", Country: "DE", ShippingMethod: "standard",
			Items: []cartapi.Item{{SKU: "MUG-2", Quantity: 1}, {SKU: "MUG-1", Quantity: 2}, {SKU: "MUG-2", Quantity: 1}}})
		same("create with items and fields", c)
		if c.Totals == nil || c.Totals.Discount.Amount != 500 || c.Totals.Shipping.Amount != 490 {
			t.Errorf("totals = %+v", c.Totals)
		}
	}, Migrations...)
}

func TestCartFieldsAndCoupon(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		ctx := tenantCtx(t, "default")
		c := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 2}}})
		before := f.get("default", c.ID)

		bad := "BOGUS"
		_, err := f.svc.Update(ctx, c.ID, cartapi.CartUpdate{Coupon: &bad})
		var pe *kit.UpstreamError
		if !errors.As(err, &pe) || pe.Err.Status != 422 || pe.Err.Code != "unknown_coupon" || len(pe.Err.Errors) != 1 {
			t.Fatalf("unknown coupon: err = %v", err)
		}
		if got := f.get("default", c.ID); got.Coupon != "" || !got.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("refused coupon wrote: %+v", got)
		}

		code, country, method, email := " save10 ", "DE", "standard", "bob@example.com"
		c, err = f.svc.Update(ctx, c.ID, cartapi.CartUpdate{Coupon: &code, Country: &country, ShippingMethod: &method, Email: &email})
		if err != nil {
			t.Fatal(err)
		}
		if c.Coupon != "SAVE10" || c.Country != "DE" || c.ShippingMethod != "standard" || c.Email != email {
			t.Errorf("cart = %+v", c)
		}
		if c.Totals == nil || c.Totals.Discount.Amount != 200 || c.Totals.Shipping.Amount != 490 || c.Totals.Total.Amount != 2290 ||
			len(c.Totals.Discounts) != 1 || c.Totals.Discounts[0].Code != "SAVE10" {
			t.Errorf("totals = %+v", c.Totals)
		}
		if r := f.pricing.last(); r.NoShipping || r.ShippingMethod != "standard" || r.Coupon != "SAVE10" || r.Email != email {
			t.Errorf("quote request = %+v", r)
		}

		badEmail := "not an email"
		_, err = f.svc.Update(ctx, c.ID, cartapi.CartUpdate{Email: &badEmail})
		wantCode(t, err, ErrInvalid)

		// Pricing down: a coupon cannot be set, other fields can.
		f.pricing.fail(errors.New("connection refused"))
		none := ""
		_, err = f.svc.Update(ctx, c.ID, cartapi.CartUpdate{Coupon: &code, Country: &none})
		wantCode(t, err, ErrPricingUnavailable)
		c, err = f.svc.Update(ctx, c.ID, cartapi.CartUpdate{Coupon: &none})
		if err != nil || c.Coupon != "" {
			t.Fatalf("clear coupon with pricing down: %v, %+v", err, c)
		}
	}, Migrations...)
}

func TestPricingFailureStillAnswers(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		c := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 2}}})
		tests := []struct {
			name, code string
			err        error
		}{
			{"down", "pricing_unavailable", fmt.Errorf("pricing api POST /api/v1/quote: %w", apiclient.ErrUnavailable)},
			{"5xx", "pricing_unavailable", &apiclient.Error{Status: 500, Code: "internal", Detail: "secret stack trace"}},
			{"coupon expired", "coupon_expired", &apiclient.Error{Status: 422, Code: "coupon_expired", Detail: "the coupon expired"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.pricing.fail(tt.err)
				got := f.get("default", c.ID)
				if got.Totals != nil || got.TotalsError == nil || got.TotalsError.Code != tt.code {
					t.Fatalf("totals %+v, error %+v; want code %s", got.Totals, got.TotalsError, tt.code)
				}
				if got.TotalsError.Detail == "secret stack trace" {
					t.Error("internal detail leaked")
				}
				checkLines(t, got, lineWant{"MUG-1", 2, 1000, true})
				if got.Subtotal.Amount != 2000 {
					t.Errorf("subtotal = %v", got.Subtotal)
				}
			})
		}
	}, Migrations...)
}

func TestProjection(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := tenantCtx(t, "default")
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1", "MUG-2"))
		c := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}, {SKU: "MUG-2", Quantity: 1}}})

		// A newer snapshot wins: new price and title show at once.
		newer := product("p1", t0.Add(time.Hour), 1500, "MUG-1", "MUG-2")
		newer.Title = "Big mug"
		f.feed("default", catalogapi.SubjectProductUpdated, newer)
		got := f.get("default", c.ID)
		checkLines(t, got, lineWant{"MUG-1", 1, 1500, true}, lineWant{"MUG-2", 1, 1500, true})
		if got.Lines[0].Title != "Big mug – MUG-1" {
			t.Errorf("title = %q", got.Lines[0].Title)
		}
		// An older snapshot delivered late changes nothing.
		f.feed("default", catalogapi.SubjectProductUpdated, product("p1", t0.Add(time.Minute), 900, "MUG-1", "MUG-2"))
		checkLines(t, f.get("default", c.ID), lineWant{"MUG-1", 1, 1500, true}, lineWant{"MUG-2", 1, 1500, true})

		// A newer snapshot without MUG-2: that line is unavailable, out of
		// the subtotal and the quote; the SKU can no longer be added.
		f.feed("default", catalogapi.SubjectProductUpdated, product("p1", t0.Add(2*time.Hour), 1500, "MUG-1"))
		got = f.get("default", c.ID)
		checkLines(t, got, lineWant{"MUG-1", 1, 1500, true}, lineWant{"MUG-2", 1, 1500, false})
		if got.Subtotal.Amount != 1500 || len(f.pricing.last().Items) != 1 {
			t.Errorf("subtotal %v, quoted %+v", got.Subtotal, f.pricing.last().Items)
		}
		_, err := f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "MUG-2", Quantity: 1})
		wantCode(t, err, ErrUnknownSKU)

		// Archived: every line of the product is unavailable.
		archived := product("p1", t0.Add(3*time.Hour), 1500, "MUG-1")
		archived.Status = catalogapi.StatusArchived
		f.feed("default", catalogapi.SubjectProductArchived, archived)
		got = f.get("default", c.ID)
		checkLines(t, got, lineWant{"MUG-1", 1, 1500, false}, lineWant{"MUG-2", 1, 1500, false})
		if got.Totals != nil || got.TotalsError != nil {
			t.Errorf("nothing to quote, got totals %+v error %+v", got.Totals, got.TotalsError)
		}
		_, err = f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "MUG-1", Quantity: 1})
		wantCode(t, err, ErrUnknownSKU)

		// Back to active (as the catalog does via draft): available again.
		f.feed("default", catalogapi.SubjectProductUpdated, product("p1", t0.Add(4*time.Hour), 1600, "MUG-1"))
		checkLines(t, f.get("default", c.ID), lineWant{"MUG-1", 1, 1600, true}, lineWant{"MUG-2", 1, 1500, false})

		// The same event delivered twice is applied once (inbox).
		e, err := outbox.NewEvent(ctx, catalogapi.Source, catalogapi.SubjectProductUpdated, t0, catalogapi.ProductUpdated{Product: product("p9", t0, 1, "X-1")})
		if err != nil {
			t.Fatal(err)
		}
		if !f.deliver(groupCatalog, e, f.svc.handleProduct) || f.deliver(groupCatalog, e, f.svc.handleProduct) {
			t.Error("want the first delivery applied, the second not")
		}
		// Another tenant's catalog is another projection.
		_, err = f.svc.Create(tenantCtx(t, "acme"), cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}})
		wantCode(t, err, ErrUnknownSKU)
	}, Migrations...)
}

func TestBadInputWritesNothing(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		usd := product("p2", t0, 500, "USD-1")
		usd.Variants[0].Price.Currency = "USD"
		f.feed("default", catalogapi.SubjectProductCreated, usd)
		draft := product("p3", t0, 500, "DRAFT-1")
		draft.Status = catalogapi.StatusDraft
		f.feed("default", catalogapi.SubjectProductCreated, draft)
		c := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 9999}}})
		ctx := tenantCtx(t, "default")

		adds := []struct {
			name string
			item cartapi.Item
			want error
		}{
			{"unknown sku", cartapi.Item{SKU: "NOPE", Quantity: 1}, ErrUnknownSKU},
			{"draft product", cartapi.Item{SKU: "DRAFT-1", Quantity: 1}, ErrUnknownSKU},
			{"empty sku", cartapi.Item{SKU: "", Quantity: 1}, ErrUnknownSKU},
			{"zero", cartapi.Item{SKU: "MUG-1", Quantity: 0}, ErrInvalidQuantity},
			{"negative", cartapi.Item{SKU: "MUG-1", Quantity: -1}, ErrInvalidQuantity},
			{"above max", cartapi.Item{SKU: "MUG-1", Quantity: 10001}, ErrInvalidQuantity},
			{"line above max", cartapi.Item{SKU: "MUG-1", Quantity: 2}, ErrInvalidQuantity},
			{"other currency", cartapi.Item{SKU: "USD-1", Quantity: 1}, ErrCurrencyMismatch},
		}
		for _, tt := range adds {
			t.Run("add "+tt.name, func(t *testing.T) {
				before := f.get("default", c.ID)
				_, err := f.svc.AddItem(ctx, c.ID, tt.item)
				wantCode(t, err, tt.want)
				var ve *kit.ValidationError
				if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field == "" {
					t.Errorf("want a ValidationError naming the field, got %v", err)
				}
				after := f.get("default", c.ID)
				if !after.UpdatedAt.Equal(before.UpdatedAt) || len(after.Lines) != 1 || after.Lines[0].Quantity != 9999 {
					t.Errorf("cart changed: %+v", after)
				}
			})
		}
		_, err := f.svc.UpdateItem(ctx, c.ID, c.Lines[0].ID, 10001)
		wantCode(t, err, ErrInvalidQuantity)
		_, err = f.svc.UpdateItem(ctx, c.ID, c.Lines[0].ID, 0)
		wantCode(t, err, ErrInvalidQuantity)

		many := make([]cartapi.Item, 101)
		for i := range many {
			many[i] = cartapi.Item{SKU: fmt.Sprintf("S-%d", i), Quantity: 1}
		}
		carts, lines := f.count("carts"), f.count("cart_lines")
		creates := []struct {
			name string
			in   cartapi.CartCreate
			want error
		}{
			{"unknown sku", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}, {SKU: "NOPE", Quantity: 1}}}, ErrUnknownSKU},
			{"mixed currencies", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}, {SKU: "USD-1", Quantity: 1}}}, ErrCurrencyMismatch},
			{"sum above max", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 6000}, {SKU: "MUG-1", Quantity: 6000}}}, ErrInvalidQuantity},
			{"too many lines", cartapi.CartCreate{Items: many}, ErrTooManyLines},
			{"bad email", cartapi.CartCreate{Email: "x@"}, ErrInvalid},
		}
		for _, tt := range creates {
			t.Run("create "+tt.name, func(t *testing.T) {
				_, err := f.svc.Create(ctx, tt.in)
				wantCode(t, err, tt.want)
			})
		}
		if f.count("carts") != carts || f.count("cart_lines") != lines {
			t.Error("a refused create wrote rows")
		}
	}, Migrations...)
}

func TestTooManyLines(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		skus := make([]string, cartapi.MaxLines+1)
		items := make([]cartapi.Item, cartapi.MaxLines)
		for i := range skus {
			skus[i] = fmt.Sprintf("S-%03d", i)
		}
		for i := range items {
			items[i] = cartapi.Item{SKU: skus[i], Quantity: 1}
		}
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 100, skus...))
		c := f.create("default", cartapi.CartCreate{Items: items})
		if len(c.Lines) != cartapi.MaxLines {
			t.Fatalf("lines = %d", len(c.Lines))
		}
		_, err := f.svc.AddItem(tenantCtx(t, "default"), c.ID, cartapi.Item{SKU: skus[cartapi.MaxLines], Quantity: 1})
		wantCode(t, err, ErrTooManyLines)
		// More of an SKU already in the cart is fine.
		c = f.add(c, skus[0], 1)
		if c.Lines[0].Quantity != 2 || len(c.Lines) != cartapi.MaxLines {
			t.Errorf("line 0 = %+v, %d lines", c.Lines[0], len(c.Lines))
		}
	}, Migrations...)
}

func TestCheckedOutCartIsReadOnly(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		c := f.create("default", cartapi.CartCreate{Email: "ann@example.com", Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}})
		other := f.create("default", cartapi.CartCreate{})

		if !f.confirm("default", "order-1", c.ID) {
			t.Fatal("confirmation not applied")
		}
		// A second confirmation (another event) for the same cart, and one
		// without a cart, change nothing and announce nothing.
		f.confirm("default", "order-2", c.ID)
		f.confirm("default", "order-3", "")

		got := f.get("default", c.ID)
		if got.Status != cartapi.StatusCheckedOut || got.OrderID != "order-1" || len(got.Lines) != 1 {
			t.Fatalf("cart = %+v", got)
		}
		if f.get("default", other.ID).Status != cartapi.StatusOpen {
			t.Error("another cart changed")
		}
		// Every tenant's events: only default's cart was checked out (and
		// each cart's creation announced: two carts of default's).
		var events []cartapi.CheckedOut
		created := map[string]int{}
		all := sqldb.AllTenants(t.Context())
		err := db.ReadTx(all, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(all, `SELECT subject, envelope FROM outbox`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var subject, raw string
				if err := rows.Scan(&subject, &raw); err != nil {
					return err
				}
				var env outbox.Envelope
				var data cartapi.CheckedOut
				if err := json.Unmarshal([]byte(raw), &env); err != nil {
					return err
				}
				if err := json.Unmarshal(env.Data, &data); err != nil {
					return err
				}
				if subject == cartapi.SubjectCreated {
					created[env.Tenant]++
					continue
				}
				if subject != cartapi.SubjectCheckedOut || env.Tenant != "default" {
					t.Errorf("event %s of %s", subject, env.Tenant)
				}
				events = append(events, data)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].CartID != c.ID || events[0].OrderID != "order-1" || events[0].Email != "ann@example.com" {
			t.Fatalf("events = %+v", events)
		}
		if created["default"] != 2 || len(created) != 1 {
			t.Errorf("cart.created.v1 events per tenant = %v, want default: 2", created)
		}

		ctx := tenantCtx(t, "default")
		one, coupon := int64(1), "SAVE10"
		changes := map[string]func() error{
			"add": func() error {
				_, err := f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "MUG-1", Quantity: one})
				return err
			},
			"update": func() error { _, err := f.svc.UpdateItem(ctx, c.ID, got.Lines[0].ID, 2); return err },
			"remove": func() error { _, err := f.svc.RemoveItem(ctx, c.ID, got.Lines[0].ID); return err },
			"patch":  func() error { _, err := f.svc.Update(ctx, c.ID, cartapi.CartUpdate{Coupon: &coupon}); return err },
		}
		for name, change := range changes {
			t.Run(name, func(t *testing.T) { wantCode(t, change(), ErrCheckedOut) })
		}
		if after := f.get("default", c.ID); !after.UpdatedAt.Equal(got.UpdatedAt) || after.Lines[0].Quantity != 1 {
			t.Errorf("checked-out cart changed: %+v", after)
		}
	}, Migrations...)
}

func TestTenantIsolation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		for _, tenant := range []string{"default", "acme"} {
			f.feed(tenant, catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		}
		c := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}})
		acme := tenantCtx(t, "acme")
		_, err := f.svc.Cart(acme, c.ID)
		wantCode(t, err, ErrNotFound)
		_, err = f.svc.AddItem(acme, c.ID, cartapi.Item{SKU: "MUG-1", Quantity: 1})
		wantCode(t, err, ErrNotFound)
		_, err = f.svc.RemoveItem(acme, c.ID, c.Lines[0].ID)
		wantCode(t, err, ErrNotFound)
		// acme's order cannot check out default's cart.
		f.confirm("acme", "order-1", c.ID)
		if got := f.get("default", c.ID); got.Status != cartapi.StatusOpen || len(got.Lines) != 1 {
			t.Errorf("default's cart changed by acme: %+v", got)
		}
		l, err := f.svc.Carts(acme, ListQuery{})
		if err != nil || len(l.Items) != 0 {
			t.Errorf("acme lists %+v, %v", l.Items, err)
		}
	}, Migrations...)
}

func TestConcurrentAdds(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1", "MUG-2"))
		c := f.create("default", cartapi.CartCreate{})
		ctx := tenantCtx(t, "default")
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for range n {
			wg.Go(func() {
				_, err := f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "MUG-1", Quantity: 1})
				errs <- err
			})
			// A second SKU at the same time: both become lines, once each.
			wg.Go(func() {
				_, err := f.svc.AddItem(ctx, c.ID, cartapi.Item{SKU: "MUG-2", Quantity: 1})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := f.get("default", c.ID)
		// The first add of either SKU made the first line.
		slices.SortFunc(got.Lines, func(a, b cartapi.Line) int { return strings.Compare(a.SKU, b.SKU) })
		checkLines(t, got, lineWant{"MUG-1", n, 1000, true}, lineWant{"MUG-2", n, 1000, true})
	}, Migrations...)
}

func TestSweep(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		old := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}})
		done := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}})
		f.confirm("default", "order-1", done.ID)
		oldAcme := f.create("acme", cartapi.CartCreate{}) // the sweep serves every tenant
		touched := f.create("acme", cartapi.CartCreate{})
		f.advance(DefaultTTL - time.Hour)
		if _, err := f.svc.Update(tenantCtx(t, "acme"), touched.ID, cartapi.CartUpdate{}); err != nil {
			t.Fatal(err)
		}
		f.advance(2 * time.Hour) // old is past the TTL, touched is not

		n, err := f.svc.Sweep(t.Context())
		if err != nil || n != 2 {
			t.Fatalf("sweep = %d, %v; want 2", n, err)
		}
		_, err = f.svc.Cart(tenantCtx(t, "default"), old.ID)
		wantCode(t, err, ErrNotFound)
		_, err = f.svc.Cart(tenantCtx(t, "acme"), oldAcme.ID)
		wantCode(t, err, ErrNotFound)
		f.get("default", done.ID)
		f.get("acme", touched.ID)
		if got := f.count("cart_lines"); got != 1 {
			t.Errorf("%d lines left, want the checked-out cart's 1", got)
		}
		if n, err := f.svc.Sweep(t.Context()); err != nil || n != 0 {
			t.Errorf("second sweep = %d, %v", n, err)
		}
	}, Migrations...)
}

func TestAdminList(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		var ids []string
		for i := range 5 {
			c := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: int64(i + 1)}}})
			ids = append(ids, c.ID)
		}
		f.confirm("default", "order-1", ids[1])
		ctx := tenantCtx(t, "default")
		var got []cartapi.CartSummary
		lq := ListQuery{Limit: 2}
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			l, err := f.svc.Carts(ctx, lq)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, l.Items...)
			if l.NextCursor == "" {
				break
			}
			lq.Cursor = l.NextCursor
		}
		// Most recently changed first: the checked-out cart, then newest.
		want := []string{ids[1], ids[4], ids[3], ids[2], ids[0]}
		if len(got) != len(want) {
			t.Fatalf("got %d carts, want %d", len(got), len(want))
		}
		for i, c := range got {
			if c.ID != want[i] {
				t.Errorf("item %d = %s, want %s", i, c.ID, want[i])
			}
		}
		if got[1].Lines != 1 || got[1].Quantity != 5 || got[0].Status != cartapi.StatusCheckedOut || got[0].OrderID != "order-1" {
			t.Errorf("summaries = %+v", got[:2])
		}
		l, err := f.svc.Carts(ctx, ListQuery{Status: cartapi.StatusCheckedOut})
		if err != nil || len(l.Items) != 1 || l.Items[0].ID != ids[1] {
			t.Errorf("checked_out list = %+v, %v", l.Items, err)
		}
		_, err = f.svc.Carts(ctx, ListQuery{Cursor: "!!"})
		wantCode(t, err, kit.ErrInvalidCursor)
	}, Migrations...)
}

package pricing

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// TestClientAdmin walks the admin UI's and storefront's pricing calls
// through the typed client against the real handlers: a wrong path, query
// or body fails here.
func TestClientAdmin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sqldbtest.Open(t, "", Migrations...))
	// One client, as the UI has: each call carries its caller's token.
	c := pricingapi.NewClient(f.url, nil)
	guest := f.ctx("acme")
	ctx := apiclient.WithToken(guest, webtest.AdminToken)
	eur := func(a int64) money.Money { return money.Money{Amount: a, Currency: "EUR"} }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	notFound := func(name string, err error) {
		t.Helper()
		if !apiclient.IsStatus(err, http.StatusNotFound) || !apiclient.IsCode(err, "not_found") {
			t.Errorf("%s: %v, want 404 not_found", name, err)
		}
	}

	// Discounts: a repeated create with its key makes one.
	dc := pricingapi.DiscountCreate{Name: "Welcome", Code: "hello", Kind: pricingapi.KindPercentage, PercentBP: 1000}
	d, err := c.CreateDiscount(ctx, dc, "disc-1")
	must(err)
	if again, err := c.CreateDiscount(ctx, dc, "disc-1"); err != nil || again.ID != d.ID {
		t.Fatalf("repeat create discount = %+v, %v; want %s", again, err, d.ID)
	}
	if _, err := c.CreateDiscount(ctx, dc, "disc-2"); !apiclient.IsCode(err, "already_exists") {
		t.Errorf("second HELLO: %v, want already_exists", err)
	}
	off := false
	if got, err := c.UpdateDiscount(ctx, d.ID, pricingapi.DiscountUpdate{Active: &off}); err != nil || got.Active || got.Code != "HELLO" {
		t.Fatalf("update discount = %+v, %v", got, err)
	}
	if got, err := c.Discount(ctx, d.ID); err != nil || got.Active {
		t.Fatalf("discount = %+v, %v", got, err)
	}
	// Optional fields are set, then cleared; a field given and cleared,
	// or one that cannot be cleared, is refused.
	end, limit, min := d.CreatedAt.Add(240*time.Hour), int64(5), eur(2000)
	if got, err := c.UpdateDiscount(ctx, d.ID, pricingapi.DiscountUpdate{EndsAt: &end, UsageLimit: &limit, MinSubtotal: &min}); err != nil ||
		got.EndsAt == nil || got.UsageLimit == nil || got.MinSubtotal == nil {
		t.Fatalf("set the optional fields: %+v, %v", got, err)
	}
	if got, err := c.UpdateDiscount(ctx, d.ID, pricingapi.DiscountUpdate{Clear: []string{"ends_at", "min_subtotal"}}); err != nil ||
		got.EndsAt != nil || got.MinSubtotal != nil || got.UsageLimit == nil || *got.UsageLimit != 5 {
		t.Fatalf("clear ends_at and min_subtotal: %+v, %v", got, err)
	}
	for _, bad := range []pricingapi.DiscountUpdate{{UsageLimit: &limit, Clear: []string{"usage_limit"}}, {Clear: []string{"name"}}} {
		_, err := c.UpdateDiscount(ctx, d.ID, bad)
		var ae *apiclient.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || len(ae.Errors) != 1 || ae.Errors[0].Location != "body.clear[0]" {
			t.Errorf("update %+v: %v (%+v), want 422 on body.clear[0]", bad, err, ae)
		}
	}
	if got, err := c.Discount(ctx, d.ID); err != nil || got.UsageLimit == nil || *got.UsageLimit != 5 {
		t.Fatalf("a refused update changed the discount: %+v, %v", got, err)
	}
	if l, err := c.Discounts(ctx); err != nil || len(l.Items) != 1 {
		t.Fatalf("discounts = %+v, %v", l, err)
	}
	must(c.DeleteDiscount(ctx, d.ID))
	_, err = c.Discount(ctx, d.ID)
	notFound("deleted discount", err)

	// Tax rates.
	r, err := c.CreateTaxRate(ctx, pricingapi.TaxRateInput{Country: "IT", RateBP: 2200, Name: "IVA"}, "rate-1")
	must(err)
	if again, err := c.CreateTaxRate(ctx, pricingapi.TaxRateInput{Country: "IT", RateBP: 2200, Name: "IVA"}, "rate-1"); err != nil || again.ID != r.ID {
		t.Fatalf("repeat create rate = %+v, %v", again, err)
	}
	if got, err := c.ReplaceTaxRate(ctx, r.ID, pricingapi.TaxRateInput{Country: "IT", Region: "BZ", RateBP: 2100, Name: "IVA"}); err != nil || got.RateBP != 2100 || got.Region != "BZ" {
		t.Fatalf("replace rate = %+v, %v", got, err)
	}
	if got, err := c.TaxRate(ctx, r.ID); err != nil || got.RateBP != 2100 {
		t.Fatalf("rate = %+v, %v", got, err)
	}
	if l, err := c.TaxRates(ctx); err != nil || len(l.Items) != 1 {
		t.Fatalf("rates = %+v, %v", l, err)
	}
	must(c.DeleteTaxRate(ctx, r.ID))
	_, err = c.TaxRate(ctx, r.ID)
	notFound("deleted rate", err)

	// Shipping methods: the admin list has inactive ones, the public one
	// only active ones serving the country.
	in := pricingapi.ShippingMethodInput{Code: "local", Name: "Local pickup", Price: eur(0), Countries: []string{"DE"}}
	local, err := c.CreateShippingMethod(ctx, in, "ship-1")
	must(err)
	if again, err := c.CreateShippingMethod(ctx, in, "ship-1"); err != nil || again.ID != local.ID {
		t.Fatalf("repeat create method = %+v, %v", again, err)
	}
	express, err := c.CreateShippingMethod(ctx, pricingapi.ShippingMethodInput{Code: "express", Name: "Express", Price: eur(990), Active: &off}, "")
	must(err)
	in.Price = eur(100)
	if got, err := c.ReplaceShippingMethod(ctx, local.ID, in); err != nil || got.Price != eur(100) {
		t.Fatalf("replace method = %+v, %v", got, err)
	}
	if got, err := c.ShippingMethod(ctx, express.ID); err != nil || got.Active {
		t.Fatalf("method = %+v, %v", got, err)
	}
	if l, err := c.AdminShippingMethods(ctx); err != nil || len(l.Items) != 2 {
		t.Fatalf("admin methods = %+v, %v", l, err)
	}
	if l, err := c.ShippingMethods(guest, "DE"); err != nil || len(l.Items) != 1 || l.Items[0].Code != "local" {
		t.Fatalf("public methods to DE = %+v, %v", l, err)
	}
	if l, err := c.ShippingMethods(guest, "FR"); err != nil || len(l.Items) != 0 {
		t.Fatalf("public methods to FR = %+v, %v", l, err)
	}
	must(c.DeleteShippingMethod(ctx, express.ID))
	_, err = c.ShippingMethod(ctx, express.ID)
	notFound("deleted method", err)

	// Settings.
	if s, err := c.ReplaceSettings(ctx, pricingapi.SettingsUpdate{DefaultCountry: "IT", DefaultShippingMethod: "local"}); err != nil || s.DefaultCountry != "IT" {
		t.Fatalf("replace settings = %+v, %v", s, err)
	}
	if s, err := c.Settings(ctx); err != nil || s.DefaultCountry != "IT" || s.DefaultShippingMethod != "local" || s.Currency != "EUR" {
		t.Fatalf("settings = %+v, %v", s, err)
	}
	if _, err := c.Settings(guest); !apiclient.IsStatus(err, http.StatusUnauthorized) {
		t.Errorf("settings without a token: %v, want 401", err)
	}
}

package pricing

import (
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func eur(a int64) money.Money   { return money.Money{Amount: a, Currency: "EUR"} }
func eurp(a int64) *money.Money { m := eur(a); return &m }
func ptr[T any](v T) *T         { return &v }

// Fixture lines: a mug (product P1, category C1), a coffee (P2, C2), a
// grinder (P3, no category).
func mug(q int64) Line {
	return Line{SKU: "MUG-1", ProductID: "P1", VariantID: "V1", CategoryID: "C1", Title: "Mug – Blue", UnitPrice: eur(1299), Quantity: q}
}
func coffee(q int64) Line {
	return Line{SKU: "COF-1", ProductID: "P2", VariantID: "V2", CategoryID: "C2", Title: "Coffee – 250 g", UnitPrice: eur(899), Quantity: q}
}
func grinder(q int64) Line {
	return Line{SKU: "GRI-1", ProductID: "P3", VariantID: "V3", Title: "Grinder", UnitPrice: eur(8999), Quantity: q}
}

func deRates() []pricingapi.TaxRate {
	return []pricingapi.TaxRate{
		{Country: "DE", RateBP: 1900, Name: "MwSt"},
		{Country: "ES", RateBP: 2100, Name: "IVA"},
		{Country: "ES", Region: "CN", RateBP: 700, Name: "IGIC"},
	}
}

func standard() *pricingapi.ShippingMethod {
	return &pricingapi.ShippingMethod{Code: "standard", Name: "Standard", Price: eur(490), FreeOver: eurp(5000), Countries: []string{}, Active: true}
}

func disc(id, kind string, bp int64, amount *money.Money) pricingapi.Discount {
	return pricingapi.Discount{ID: id, Name: "discount " + id, Kind: kind, PercentBP: bp, Amount: amount, Scope: pricingapi.ScopeOrder, Active: true}
}

func withScope(d pricingapi.Discount, scope string, ids ...string) pricingapi.Discount {
	d.Scope = scope
	if scope == pricingapi.ScopeProduct {
		d.ProductIDs = ids
	} else {
		d.CategoryIDs = ids
	}
	return d
}

func stackable(d pricingapi.Discount, prio int64) pricingapi.Discount {
	d.Stackable, d.Priority = true, prio
	return d
}

func coupon(d pricingapi.Discount, code string) *pricingapi.Discount {
	d.Code = code
	return &d
}

func base(lines ...Line) QuoteInput {
	return QuoteInput{Currency: "EUR", Country: "DE", Lines: lines, TaxRates: deRates(), Shipping: standard()}
}

func TestComputeGolden(t *testing.T) {
	tests := []struct {
		name string
		in   func() QuoteInput
	}{
		{"exclusive_plain", func() QuoteInput { return base(mug(2), coffee(1)) }},
		{"inclusive_plain", func() QuoteInput { in := base(mug(2), coffee(1)); in.TaxInclusive = true; return in }},
		{"no_shipping", func() QuoteInput { in := base(mug(1)); in.Shipping = nil; return in }},
		{"free_shipping_threshold", func() QuoteInput { return base(grinder(1)) }},
		{"threshold_after_discount", func() QuoteInput {
			// 52.95 less a 15% coupon is 45.01: below the 50.00 threshold, so shipping is charged.
			in := base(mug(2), coffee(2), coffee(1))
			in.Coupon = coupon(disc("D1", pricingapi.KindPercentage, 1500, nil), "TAKE15")
			return in
		}},
		{"percentage_order_coupon", func() QuoteInput {
			in := base(mug(3), coffee(1))
			in.Coupon = coupon(disc("D1", pricingapi.KindPercentage, 1000, nil), "WELCOME10")
			return in
		}},
		{"fixed_order_inclusive", func() QuoteInput {
			in := base(mug(1), coffee(2))
			in.TaxInclusive = true
			in.Coupon = coupon(disc("D1", pricingapi.KindFixed, 0, eurp(500)), "SAVE5")
			return in
		}},
		{"fixed_larger_than_lines", func() QuoteInput {
			in := base(coffee(1))
			in.Coupon = coupon(disc("D1", pricingapi.KindFixed, 0, eurp(5000)), "BIG50")
			return in
		}},
		{"product_scope", func() QuoteInput {
			in := base(mug(2), coffee(1))
			in.Automatic = []pricingapi.Discount{withScope(disc("D1", pricingapi.KindPercentage, 2000, nil), pricingapi.ScopeProduct, "P1")}
			return in
		}},
		{"category_scope_fixed", func() QuoteInput {
			in := base(mug(1), coffee(3), grinder(1))
			in.Automatic = []pricingapi.Discount{withScope(disc("D1", pricingapi.KindFixed, 0, eurp(100)), pricingapi.ScopeCategory, "C2")}
			return in
		}},
		{"stacking_beats_single", func() QuoteInput {
			in := base(mug(2), coffee(2))
			in.Automatic = []pricingapi.Discount{
				stackable(disc("A1", pricingapi.KindPercentage, 1000, nil), 1),
				stackable(disc("A2", pricingapi.KindFixed, 0, eurp(300)), 2),
			}
			in.Coupon = coupon(disc("C1", pricingapi.KindPercentage, 1200, nil), "TWELVE")
			return in
		}},
		{"single_beats_stacking", func() QuoteInput {
			in := base(mug(2), coffee(2))
			in.Automatic = []pricingapi.Discount{stackable(disc("A1", pricingapi.KindPercentage, 500, nil), 1)}
			in.Coupon = coupon(disc("C1", pricingapi.KindPercentage, 2500, nil), "QUARTER")
			return in
		}},
		{"stackable_coupon_order", func() QuoteInput {
			// The fixed one (priority 1) applies first, the percentage to what it left.
			in := base(mug(1), coffee(1))
			in.Automatic = []pricingapi.Discount{stackable(disc("A2", pricingapi.KindPercentage, 5000, nil), 2)}
			in.Coupon = ptr(stackable(*coupon(disc("C1", pricingapi.KindFixed, 0, eurp(1000)), "TEN"), 1))
			return in
		}},
		{"free_shipping_coupon", func() QuoteInput {
			in := base(coffee(1))
			in.Shipping = &pricingapi.ShippingMethod{Code: "express", Price: eur(990), Countries: []string{}, Active: true}
			in.Coupon = coupon(disc("C1", pricingapi.KindFreeShipping, 0, nil), "SHIPFREE")
			return in
		}},
		{"region_rate", func() QuoteInput {
			in := base(mug(1), coffee(1))
			in.Country, in.Region, in.TaxInclusive = "ES", "CN", true
			return in
		}},
		{"country_rate_unknown_region", func() QuoteInput {
			in := base(mug(1))
			in.Country, in.Region = "ES", "MD"
			return in
		}},
		{"no_rate", func() QuoteInput { in := base(mug(1)); in.Country = "US"; return in }},
		{"automatic_outside_window_ignored", func() QuoteInput {
			in := base(mug(1))
			d := disc("A1", pricingapi.KindPercentage, 5000, nil)
			d.EndsAt = ptr(testNow.Add(-time.Hour))
			in.Automatic = []pricingapi.Discount{d}
			return in
		}},
		{"error_coupon_expired", func() QuoteInput {
			in := base(mug(1))
			d := disc("C1", pricingapi.KindPercentage, 1500, nil)
			d.StartsAt, d.EndsAt = ptr(testNow.AddDate(-1, 0, 0)), ptr(testNow.AddDate(0, -6, 0))
			in.Coupon = coupon(d, "SUMMER24")
			return in
		}},
		{"error_coupon_min_subtotal", func() QuoteInput {
			in := base(coffee(1))
			d := disc("C1", pricingapi.KindFixed, 0, eurp(500))
			d.MinSubtotal = eurp(3000)
			in.Coupon = coupon(d, "SAVE5")
			return in
		}},
		{"error_coupon_exhausted_per_customer", func() QuoteInput {
			in := base(coffee(1))
			d := disc("C1", pricingapi.KindPercentage, 1000, nil)
			d.UsageLimitPerCustomer = ptr(int64(1))
			in.Coupon, in.Email, in.CouponCustomerUses = coupon(d, "WELCOME10"), "ann@example.com", 1
			return in
		}},
		{"error_currency_mismatch", func() QuoteInput {
			l := coffee(1)
			l.UnitPrice.Currency = "USD"
			return base(mug(1), l)
		}},
		{"error_shipping_not_available", func() QuoteInput {
			in := base(mug(1))
			in.Shipping.Countries = []string{"FR"}
			return in
		}},
		{"error_quantity", func() QuoteInput { return base(mug(10001)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, qerr := Compute(tt.in(), testNow)
			var out any = q
			if qerr != nil {
				var ve *kit.ValidationError
				if !errors.As(qerr, &ve) || len(ve.Fields) != 1 {
					t.Fatalf("Compute: %v, want a one-field *kit.ValidationError", qerr)
				}
				out = map[string]any{"error": ve.Err.Error(), "field": ve.Fields[0].Field, "value": ve.Fields[0].Value, "detail": ve.Detail}
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if string(got) != string(want) {
				t.Errorf("quote differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
			}
			if qerr == nil {
				checkInvariants(t, tt.in(), q)
			}
		})
	}
}

// checkInvariants asserts what every quote must satisfy.
func checkInvariants(t *testing.T, in QuoteInput, q pricingapi.Quote) {
	t.Helper()
	var sub, disc, tax, totals int64
	for i, l := range q.Lines {
		if l.Subtotal.Amount < 0 || l.Discount.Amount < 0 || l.Tax.Amount < 0 || l.Total.Amount < 0 {
			t.Fatalf("line %d has a negative amount: %+v", i, l)
		}
		if l.Discount.Amount > l.Subtotal.Amount {
			t.Fatalf("line %d discounted below zero: %+v", i, l)
		}
		sub += l.Subtotal.Amount
		disc += l.Discount.Amount
		tax += l.Tax.Amount
		totals += l.Total.Amount
	}
	if q.Total.Amount < 0 || q.Tax.Amount < 0 || q.Shipping.Amount < 0 || q.ShippingTax.Amount < 0 {
		t.Fatalf("negative total: %+v", q)
	}
	if sub != q.Subtotal.Amount {
		t.Fatalf("line subtotals %d != subtotal %d", sub, q.Subtotal.Amount)
	}
	if disc != q.Discount.Amount {
		t.Fatalf("line discounts %d != discount %d", disc, q.Discount.Amount)
	}
	if tax+q.ShippingTax.Amount != q.Tax.Amount {
		t.Fatalf("line taxes %d + shipping tax %d != tax %d", tax, q.ShippingTax.Amount, q.Tax.Amount)
	}
	want := totals + q.Shipping.Amount
	if !in.TaxInclusive {
		want += q.ShippingTax.Amount
	}
	if want != q.Total.Amount {
		t.Fatalf("line totals + shipping = %d != total %d", want, q.Total.Amount)
	}
	var applied int64
	for _, d := range q.Discounts {
		applied += d.Amount.Amount
	}
	if applied < disc {
		t.Fatalf("applied discounts %d < line discounts %d", applied, disc)
	}
}

// randomInput builds a random but valid quote input.
func randomInput(r *rand.Rand) QuoteInput {
	in := QuoteInput{Currency: "EUR", Country: "DE", TaxInclusive: r.IntN(2) == 0}
	in.TaxRates = []pricingapi.TaxRate{{Country: "DE", RateBP: int64(r.IntN(3)) * int64(r.IntN(2701))}}
	n := 1 + r.IntN(8)
	for i := range n {
		price := int64(r.IntN(20000))
		if r.IntN(10) == 0 {
			price = int64(r.IntN(5)) // tiny prices stress rounding
		}
		in.Lines = append(in.Lines, Line{SKU: "S" + string(rune('A'+i)), ProductID: "P" + string(rune('0'+r.IntN(4))),
			CategoryID: "C" + string(rune('0'+r.IntN(3))), UnitPrice: eur(price), Quantity: 1 + int64(r.IntN(20))})
	}
	if r.IntN(4) > 0 {
		m := &pricingapi.ShippingMethod{Code: "s", Price: eur(int64(r.IntN(2000))), Countries: []string{}, Active: true}
		if r.IntN(2) == 0 {
			m.FreeOver = eurp(int64(r.IntN(100000)))
		}
		in.Shipping = m
	}
	kinds := []string{pricingapi.KindPercentage, pricingapi.KindFixed, pricingapi.KindFreeShipping}
	for i := range r.IntN(5) {
		d := disc("D"+string(rune('0'+i)), kinds[r.IntN(3)], 0, nil)
		switch d.Kind {
		case pricingapi.KindPercentage:
			d.PercentBP = 1 + int64(r.IntN(10000))
		case pricingapi.KindFixed:
			d.Amount = eurp(1 + int64(r.IntN(50000)))
		}
		if d.Kind != pricingapi.KindFreeShipping {
			switch r.IntN(3) {
			case 1:
				d = withScope(d, pricingapi.ScopeProduct, "P"+string(rune('0'+r.IntN(4))))
			case 2:
				d = withScope(d, pricingapi.ScopeCategory, "C"+string(rune('0'+r.IntN(3))))
			}
		}
		d.Stackable, d.Priority = r.IntN(2) == 0, int64(r.IntN(3))
		in.Automatic = append(in.Automatic, d)
	}
	return in
}

func TestComputeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		in := randomInput(r)
		q, err := Compute(in, testNow)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		checkInvariants(t, in, q)
	}
}

// TestInclusiveExclusiveAgree prices one basket both ways: inclusive with
// gross unit prices, exclusive with the net unit prices derived from them
// (round(gross × 10000 / (10000 + bp))). Rounding the unit price moves each
// unit by at most half a minor unit net, so the totals agree within one
// minor unit per unit of quantity, plus one per line and one for shipping.
func TestInclusiveExclusiveAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		in := randomInput(r)
		in.Automatic = nil
		in.TaxInclusive = true
		bp := in.TaxRates[0].RateBP
		ex := in
		ex.TaxInclusive = false
		ex.Lines = nil
		var bound int64 = 1
		for _, l := range in.Lines {
			net, _ := mulDivRound(l.UnitPrice.Amount, 10000, 10000+bp)
			l.UnitPrice = eur(net)
			ex.Lines = append(ex.Lines, l)
			bound += l.Quantity + 1
		}
		if in.Shipping != nil {
			s := *in.Shipping
			net, _ := mulDivRound(s.Price.Amount, 10000, 10000+bp)
			s.Price = eur(net)
			s.FreeOver = nil
			in.Shipping = ptr(*in.Shipping)
			in.Shipping.FreeOver = nil
			ex.Shipping = &s
		}
		qi, err := Compute(in, testNow)
		if err != nil {
			t.Fatal(err)
		}
		qe, err := Compute(ex, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if d := qi.Total.Amount - qe.Total.Amount; d > bound || d < -bound {
			t.Fatalf("case %d: inclusive total %d, exclusive %d: differ by %d > %d\n%+v", i, qi.Total.Amount, qe.Total.Amount, d, bound, in)
		}
		if d := qi.Tax.Amount - qe.Tax.Amount; d > bound || d < -bound {
			t.Fatalf("case %d: inclusive tax %d, exclusive %d: differ by %d > %d", i, qi.Tax.Amount, qe.Tax.Amount, d, bound)
		}
	}
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{10, []int64{1, 1, 1}, []int64{4, 3, 3}},
		{100, []int64{50, 50}, []int64{50, 50}},
		{1, []int64{3, 3, 3}, []int64{1, 0, 0}},
		{5, []int64{0, 10}, []int64{0, 5}},
		{7, []int64{2, 5}, []int64{2, 5}},
		{0, []int64{2, 5}, []int64{0, 0}},
		{2, []int64{1, 2, 3}, []int64{0, 1, 1}},
	}
	for _, tt := range tests {
		got := allocate(tt.total, tt.weights)
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("allocate(%d, %v) = %v, want %v", tt.total, tt.weights, got, tt.want)
				break
			}
		}
	}
}

func TestMulDivRound(t *testing.T) {
	tests := []struct{ a, b, c, want int64 }{
		{1, 1, 2, 1},             // half rounds up
		{1, 1, 3, 0},             // a third rounds down
		{2, 1, 3, 1},             // two thirds round up
		{1190, 1900, 11900, 190}, // tax included in 11.90 at 19%
		{MaxAmount, 10000, 10000, MaxAmount},
	}
	for _, tt := range tests {
		if got, ok := mulDivRound(tt.a, tt.b, tt.c); !ok || got != tt.want {
			t.Errorf("mulDivRound(%d, %d, %d) = %d, %v; want %d", tt.a, tt.b, tt.c, got, ok, tt.want)
		}
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

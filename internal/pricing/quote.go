package pricing

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/pricing/pricingdb"
)

// MaxAmount bounds every amount a quote handles (a line's subtotal): 2^50
// minor units, some 11 trillion euros. With at most 100 lines no sum can then
// overflow an int64, and a bigger figure is a mistake, not an order.
const MaxAmount = 1 << 50

// Line is one item to price, with what the catalog projection knows of it.
type Line struct {
	SKU        string
	ProductID  string
	VariantID  string
	CategoryID string
	Title      string
	UnitPrice  money.Money
	Quantity   int64
}

// QuoteInput is everything Compute needs: Quote does the I/O (lines
// from the catalog projection, discounts, rates, shipping method), Compute
// the arithmetic.
type QuoteInput struct {
	// Currency is the quote's currency; every line and fixed amount must be in it.
	Currency     string
	TaxInclusive bool
	Country      string
	Region       string
	Lines        []Line
	// Automatic are the candidate automatic discounts; those that do not
	// apply (window, minimum, scope, limits) are left out silently.
	Automatic []pricingapi.Discount
	// Coupon is the discount of the coupon the customer entered, nil for
	// none. A coupon that does not apply is an error.
	Coupon *pricingapi.Discount
	// CouponCustomerUses is how often Email has redeemed Coupon.
	CouponCustomerUses int64
	// Email is the customer's (lowercased), "" when unknown: per-customer
	// limits are then checked at redemption only.
	Email string
	// TaxRates are the rates of the destination country (others are ignored).
	TaxRates []pricingapi.TaxRate
	// Shipping is the shipping method, nil for a quote without shipping.
	Shipping *pricingapi.ShippingMethod
}

// Compute prices a basket. It is pure: no I/O, the time passed in.
//
// The rounding rule. Every amount is an integer number of minor units.
// Each division rounds half away from zero to the minor unit (all amounts
// are non-negative, so: half up). Rounding happens per line:
//
//   - A discount's figure is computed once over the lines it applies to:
//     percentage = round(base × bp / 10000), fixed = min(amount, base), where
//     base is the sum of what remains of those lines after the discounts
//     before it. The figure is allocated to the lines in proportion to what
//     remains of each, by the largest-remainder method (each line gets the
//     floor of its exact share, the units left go one each to the lines with
//     the largest remainders, ties to the earlier line), so line discounts
//     sum exactly to the figure and never take a line below zero.
//   - Tax is per line on its amount after discounts (net or gross): exclusive
//     tax = round(net × bp / 10000); inclusive tax = round(gross × bp /
//     (10000 + bp)). Shipping is taxed the same way at the destination's
//     rate, as its own line (ShippingTax, part of Tax).
//   - Exclusive: Total = Subtotal − Discount + Shipping + Tax. Inclusive:
//     Total = Subtotal − Discount + Shipping (the tax is included, and
//     reported).
//
// The stacking rule. The discounts that apply (automatic ones, and the
// coupon) are sorted by priority, then ID. The stackable ones apply in that
// order, each to what the previous left; a non-stackable one applies alone,
// to the full prices. The quote takes whichever of (all the stackable ones)
// or (the best single non-stackable one) takes more off (lines plus waived
// shipping); a tie goes to the stackable set, then to the earlier
// non-stackable one. A coupon that loses is not applied: Quote.Coupon is
// then empty, and the order must not redeem it.
//
// Shipping is the method's price, zero when the subtotal after discounts
// reaches its free_over threshold; a free_shipping discount waives what is
// left. Waived shipping is listed in Discounts but not counted in Discount,
// which is the sum of line discounts.
func Compute(in QuoteInput, now time.Time) (pricingapi.Quote, error) {
	cur := in.Currency
	q := pricingapi.Quote{
		Currency: cur, TaxInclusive: in.TaxInclusive, Country: in.Country, Region: in.Region,
		Lines: make([]pricingapi.QuoteLine, len(in.Lines)), Discounts: []pricingapi.AppliedDiscount{},
	}
	if len(in.Lines) == 0 || len(in.Lines) > pricingapi.MaxItems {
		return q, refused(ErrInvalidQuantity, "items", len(in.Lines),
			fmt.Sprintf("a quote has 1 to %d items", pricingapi.MaxItems))
	}
	subs := make([]int64, len(in.Lines))
	var subtotal int64
	for i, l := range in.Lines {
		if l.Quantity < 1 || l.Quantity > pricingapi.MaxQuantity {
			return q, refused(ErrInvalidQuantity, fmt.Sprintf("items[%d].quantity", i), l.Quantity,
				fmt.Sprintf("quantity of %s must be 1 to %d", l.SKU, pricingapi.MaxQuantity))
		}
		if l.UnitPrice.Currency != cur {
			return q, refused(ErrCurrencyMismatch, fmt.Sprintf("items[%d].sku", i), l.SKU,
				fmt.Sprintf("%s is priced in %s, the quote is in %s", l.SKU, l.UnitPrice.Currency, cur))
		}
		if l.UnitPrice.Amount < 0 || l.UnitPrice.Amount > MaxAmount/l.Quantity {
			return q, refused(ErrAmountTooLarge, fmt.Sprintf("items[%d].quantity", i), l.Quantity,
				fmt.Sprintf("the amount of %s is out of range", l.SKU))
		}
		subs[i] = l.UnitPrice.Amount * l.Quantity
		subtotal += subs[i]
	}

	cands, err := candidates(in, subtotal, now)
	if err != nil {
		return q, err
	}
	var ship, shipPrice int64
	if in.Shipping != nil {
		if err := checkShipping(in); err != nil {
			return q, err
		}
		shipPrice = in.Shipping.Price.Amount
	}
	best := chooseDiscounts(in, cands, subs, subtotal, shipPrice)

	// Lines: discount, tax, total.
	rate := taxRate(in.TaxRates, in.Country, in.Region)
	var discount, tax, lineTotals int64
	for i, l := range in.Lines {
		d := best.lineDisc[i]
		taxable := subs[i] - d
		t := taxOf(taxable, rate, in.TaxInclusive)
		total := taxable
		if !in.TaxInclusive {
			total += t
		}
		q.Lines[i] = pricingapi.QuoteLine{
			SKU: l.SKU, ProductID: l.ProductID, VariantID: l.VariantID, CategoryID: l.CategoryID, Title: l.Title,
			Quantity: l.Quantity, UnitPrice: l.UnitPrice, Subtotal: m(subs[i], cur), Discount: m(d, cur),
			Tax: m(t, cur), Total: m(total, cur), TaxRateBP: rate,
		}
		discount += d
		tax += t
		lineTotals += total
	}

	// Shipping after discounts: free over the threshold, then waived by a
	// free-shipping discount.
	if in.Shipping != nil {
		q.ShippingMethod = in.Shipping.Code
		ship = best.ship
	}
	shipTax := taxOf(ship, rate, in.TaxInclusive)
	tax += shipTax
	total := lineTotals + ship
	if !in.TaxInclusive {
		total += shipTax
	}
	for _, a := range best.applied {
		q.Discounts = append(q.Discounts, pricingapi.AppliedDiscount{ID: a.d.ID, Name: a.d.Name, Code: a.d.Code, Amount: m(a.amount, cur)})
		if in.Coupon != nil && a.d.ID == in.Coupon.ID {
			q.Coupon = a.d.Code
		}
	}
	q.Subtotal, q.Discount, q.Shipping = m(subtotal, cur), m(discount, cur), m(ship, cur)
	q.ShippingTax, q.Tax, q.Total = m(shipTax, cur), m(tax, cur), m(total, cur)
	return q, nil
}

func m(amount int64, cur string) money.Money { return money.Money{Amount: amount, Currency: cur} }

// candidates returns the discounts that may apply, sorted by priority then
// ID: the automatic ones that qualify, and the coupon, which must qualify.
func candidates(in QuoteInput, subtotal int64, now time.Time) ([]pricingapi.Discount, error) {
	var out []pricingapi.Discount
	for _, d := range in.Automatic {
		if d.Code == "" && qualify(d, in, subtotal, now, 0) == nil {
			out = append(out, d)
		}
	}
	if in.Coupon != nil {
		if err := qualify(*in.Coupon, in, subtotal, now, in.CouponCustomerUses); err != nil {
			return nil, refused(err, "coupon", in.Coupon.Code, couponDetail(err, in.Coupon.Code))
		}
		out = append(out, *in.Coupon)
	}
	slices.SortStableFunc(out, func(a, b pricingapi.Discount) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func couponDetail(err error, code string) string {
	switch {
	case errors.Is(err, ErrUnknownCoupon):
		return fmt.Sprintf("coupon %s does not exist", code)
	case errors.Is(err, ErrCouponExpired):
		return fmt.Sprintf("coupon %s is not valid at this time", code)
	case errors.Is(err, ErrCouponExhausted):
		return fmt.Sprintf("coupon %s has no uses left", code)
	}
	return fmt.Sprintf("coupon %s does not apply to this basket", code)
}

// qualify says why d cannot apply to the basket, or nil.
func qualify(d pricingapi.Discount, in QuoteInput, subtotal int64, now time.Time, customerUses int64) error {
	switch {
	case !d.Active:
		return ErrUnknownCoupon
	case d.StartsAt != nil && now.Before(*d.StartsAt), d.EndsAt != nil && !now.Before(*d.EndsAt):
		return ErrCouponExpired
	case d.UsageLimit != nil && d.Used >= *d.UsageLimit:
		return ErrCouponExhausted
	case in.Email != "" && d.UsageLimitPerCustomer != nil && customerUses >= *d.UsageLimitPerCustomer:
		return ErrCouponExhausted
	case d.Kind == pricingapi.KindFixed && (d.Amount == nil || d.Amount.Currency != in.Currency):
		return ErrCouponNotApplicable
	case d.MinSubtotal != nil && (d.MinSubtotal.Currency != in.Currency || subtotal < d.MinSubtotal.Amount):
		return ErrCouponNotApplicable
	}
	if d.Kind == pricingapi.KindFreeShipping {
		return nil
	}
	for _, l := range in.Lines {
		if matches(d, l) {
			return nil
		}
	}
	return ErrCouponNotApplicable
}

// matches reports whether discount d applies to line l by its scope.
func matches(d pricingapi.Discount, l Line) bool {
	switch d.Scope {
	case pricingapi.ScopeProduct:
		return slices.Contains(d.ProductIDs, l.ProductID)
	case pricingapi.ScopeCategory:
		return l.CategoryID != "" && slices.Contains(d.CategoryIDs, l.CategoryID)
	}
	return true
}

// applied is one discount of an outcome with what it took off.
type applied struct {
	d      pricingapi.Discount
	amount int64
}

// outcome is the effect of one set of discounts.
type outcome struct {
	lineDisc []int64
	applied  []applied
	ship     int64 // shipping charged
	value    int64 // line discounts plus waived shipping
}

// chooseDiscounts applies the stacking rule (see Compute).
func chooseDiscounts(in QuoteInput, cands []pricingapi.Discount, subs []int64, subtotal, shipPrice int64) outcome {
	var stackable []pricingapi.Discount
	var singles []pricingapi.Discount
	for _, d := range cands {
		if d.Stackable {
			stackable = append(stackable, d)
		} else {
			singles = append(singles, d)
		}
	}
	best := apply(in, stackable, subs, subtotal, shipPrice)
	for _, d := range singles {
		o := apply(in, []pricingapi.Discount{d}, subs, subtotal, shipPrice)
		if o.value > best.value {
			best = o
		}
	}
	return best
}

// apply applies ds in order, each to what the previous ones left.
func apply(in QuoteInput, ds []pricingapi.Discount, subs []int64, subtotal, shipPrice int64) outcome {
	o := outcome{lineDisc: make([]int64, len(subs))}
	remain := slices.Clone(subs)
	freeShip := -1
	for _, d := range ds {
		if d.Kind == pricingapi.KindFreeShipping {
			if freeShip < 0 {
				freeShip = len(o.applied)
				o.applied = append(o.applied, applied{d: d})
			}
			continue
		}
		var idx []int
		var weights []int64
		var base int64
		for i, l := range in.Lines {
			if remain[i] > 0 && matches(d, l) {
				idx = append(idx, i)
				weights = append(weights, remain[i])
				base += remain[i]
			}
		}
		var amt int64
		switch d.Kind {
		case pricingapi.KindPercentage:
			amt, _ = mulDivRound(base, d.PercentBP, 10000) // bp ≤ 10000: never above base
		case pricingapi.KindFixed:
			if d.Amount != nil {
				amt = min(d.Amount.Amount, base)
			}
		}
		if amt <= 0 {
			continue
		}
		for k, share := range allocate(amt, weights) {
			remain[idx[k]] -= share
			o.lineDisc[idx[k]] += share
		}
		o.applied = append(o.applied, applied{d: d, amount: amt})
		o.value += amt
	}
	if in.Shipping != nil {
		var disc int64
		for _, x := range o.lineDisc {
			disc += x
		}
		o.ship = shipPrice
		if fo := in.Shipping.FreeOver; fo != nil && subtotal-disc >= fo.Amount {
			o.ship = 0
		}
	}
	if freeShip >= 0 {
		o.applied[freeShip].amount = o.ship
		o.value += o.ship
		o.ship = 0
	}
	return o
}

// allocate splits total (at most the sum of weights, all non-negative) over
// the weights in proportion by the largest-remainder method: each gets the
// floor of its exact share, the units left over go one each to the largest
// remainders, ties to the earlier. No share exceeds its weight.
func allocate(total int64, weights []int64) []int64 {
	out := make([]int64, len(weights))
	var sum int64
	for _, w := range weights {
		sum += w
	}
	if sum == 0 || total <= 0 {
		return out
	}
	rems := make([]int64, len(weights))
	left := total
	for i, w := range weights {
		out[i], rems[i], _ = mulDiv(total, w, sum) // total ≤ sum: the share fits
		left -= out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rems[b], rems[a]) })
	for _, i := range order[:left] {
		out[i]++
	}
	return out
}

// mulDiv returns a×b / c and its remainder for a, b ≥ 0 and c > 0, in 128
// bits; ok is false when the quotient does not fit an int64.
func mulDiv(a, b, c int64) (quo, rem int64, ok bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 0, 0, false
	}
	qu, ru := bits.Div64(hi, lo, uint64(c))
	if qu > math.MaxInt64 {
		return 0, 0, false
	}
	return int64(qu), int64(ru), true
}

// mulDivRound is a×b / c rounded half away from zero (half up, for the
// non-negative amounts it gets).
func mulDivRound(a, b, c int64) (int64, bool) {
	q, r, ok := mulDiv(a, b, c)
	if !ok {
		return 0, false
	}
	if uint64(r)*2 >= uint64(c) {
		q++
	}
	return q, true
}

// taxOf is the tax of an amount at rate bp: on top of it (exclusive) or
// included in it (inclusive).
func taxOf(amount, bp int64, inclusive bool) int64 {
	if amount <= 0 || bp <= 0 {
		return 0
	}
	div := int64(10000)
	if inclusive {
		div += bp
	}
	t, _ := mulDivRound(amount, bp, div) // bp ≤ div: fits
	return t
}

// taxRate picks the destination's rate: the region's if there is one, else
// the country's, else none.
func taxRate(rates []pricingapi.TaxRate, country, region string) int64 {
	var rate int64
	for _, r := range rates {
		if r.Country != country {
			continue
		}
		if region != "" && strings.EqualFold(r.Region, region) {
			return r.RateBP
		}
		if r.Region == "" {
			rate = r.RateBP
		}
	}
	return rate
}

// checkShipping checks the method serves the quote.
func checkShipping(in QuoteInput) error {
	s := in.Shipping
	switch {
	case !s.Active:
		return refused(ErrUnknownShippingMethod, "shipping_method", s.Code,
			fmt.Sprintf("shipping method %s is not offered", s.Code))
	case s.Price.Currency != in.Currency || (s.FreeOver != nil && s.FreeOver.Currency != in.Currency):
		return refused(ErrCurrencyMismatch, "shipping_method", s.Code,
			fmt.Sprintf("shipping method %s is priced in %s, the quote is in %s", s.Code, s.Price.Currency, in.Currency))
	case len(s.Countries) > 0 && !slices.Contains(s.Countries, in.Country):
		return refused(ErrShippingNotAvailable, "country", in.Country,
			fmt.Sprintf("shipping method %s does not ship to %q", s.Code, in.Country))
	}
	return nil
}

// Quote prices a request for the tenant in ctx: it loads what the request
// names (SKUs from the catalog projection, the coupon, the automatic
// discounts, the destination's tax rates, the shipping method) in one read
// snapshot and hands it to Compute. It writes nothing.
func (s *Service) Quote(ctx context.Context, r pricingapi.QuoteRequest) (pricingapi.Quote, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return pricingapi.Quote{}, err
	}
	if len(r.Items) == 0 || len(r.Items) > pricingapi.MaxItems {
		return pricingapi.Quote{}, refused(ErrInvalidQuantity, "items", len(r.Items),
			fmt.Sprintf("a quote has 1 to %d items", pricingapi.MaxItems))
	}
	for i, it := range r.Items {
		if err := text.SKU(it.SKU); err != nil {
			return pricingapi.Quote{}, refused(ErrUnknownSKU, fmt.Sprintf("items[%d].sku", i), it.SKU,
				"not an SKU: "+err.Error())
		}
		if it.Quantity < 1 || it.Quantity > pricingapi.MaxQuantity {
			return pricingapi.Quote{}, refused(ErrInvalidQuantity, fmt.Sprintf("items[%d].quantity", i), it.Quantity,
				fmt.Sprintf("quantity of %s must be 1 to %d", it.SKU, pricingapi.MaxQuantity))
		}
	}
	var in QuoteInput
	now := s.now()
	err = s.store.Read(ctx, func(q *pricingdb.Queries) error {
		set, err := s.settings(ctx, q, tenant)
		if err != nil {
			return err
		}
		in, err = s.quoteInput(ctx, q, tenant, set, r)
		return err
	})
	if err != nil {
		return pricingapi.Quote{}, err
	}
	return Compute(in, now)
}

// quoteInput loads what Compute needs for r.
func (s *Service) quoteInput(ctx context.Context, q *pricingdb.Queries, tenant string, set pricingapi.Settings, r pricingapi.QuoteRequest) (QuoteInput, error) {
	in := QuoteInput{Currency: set.Currency, TaxInclusive: set.TaxInclusive, Country: strings.ToUpper(strings.TrimSpace(r.Country)),
		Region: strings.ToUpper(strings.TrimSpace(r.Region)), Email: normalizeEmail(r.Email)}
	if r.Currency != "" && r.Currency != set.Currency {
		return in, refused(ErrCurrencyMismatch, "currency", r.Currency,
			fmt.Sprintf("the store prices in %s, not %s", set.Currency, r.Currency))
	}
	if in.Country == "" {
		in.Country, in.Region = set.DefaultCountry, ""
	}
	if in.Country != "" && !validCountry(in.Country) {
		return in, refused(ErrInvalidCountry, "country", r.Country,
			fmt.Sprintf("%q is not an ISO 3166 alpha-2 country", r.Country))
	}
	for i, it := range r.Items {
		v, err := q.GetVariant(ctx, pricingdb.GetVariantParams{TenantID: tenant, Sku: it.SKU})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !v.Active) {
			return in, refused(ErrUnknownSKU, fmt.Sprintf("items[%d].sku", i), it.SKU,
				fmt.Sprintf("%s is not for sale", it.SKU))
		}
		if err != nil {
			return in, fmt.Errorf("load SKU %s: %w", it.SKU, err)
		}
		in.Lines = append(in.Lines, Line{SKU: v.Sku, ProductID: v.ProductID, VariantID: v.VariantID, CategoryID: v.CategoryID,
			Title: v.Title, UnitPrice: money.Money{Amount: v.Price, Currency: v.Currency}, Quantity: it.Quantity})
	}
	var err error
	if in.Automatic, err = toDiscounts(q.AutomaticDiscounts(ctx, tenant)); err != nil {
		return in, err
	}
	if code := NormalizeCoupon(r.Coupon); code != "" {
		row, err := q.GetDiscountByCode(ctx, pricingdb.GetDiscountByCodeParams{TenantID: tenant, Code: sql.NullString{String: code, Valid: true}})
		if errors.Is(err, sql.ErrNoRows) {
			return in, refused(ErrUnknownCoupon, "coupon", r.Coupon, couponDetail(ErrUnknownCoupon, code))
		}
		if err != nil {
			return in, fmt.Errorf("load coupon %s: %w", code, err)
		}
		d, err := toDiscount(row)
		if err != nil {
			return in, err
		}
		in.Coupon = &d
		if in.Email != "" {
			n, err := q.CustomerUses(ctx, pricingdb.CustomerUsesParams{TenantID: tenant, DiscountID: d.ID, Email: in.Email})
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return in, fmt.Errorf("count uses of %s: %w", code, err)
			}
			in.CouponCustomerUses = n
		}
	}
	if in.Country != "" {
		rates, err := q.CountryTaxRates(ctx, pricingdb.CountryTaxRatesParams{TenantID: tenant, Country: in.Country})
		if err != nil {
			return in, fmt.Errorf("load tax rates of %s: %w", in.Country, err)
		}
		for _, tr := range rates {
			in.TaxRates = append(in.TaxRates, toTaxRate(tr))
		}
	}
	if r.NoShipping {
		return in, nil
	}
	code := r.ShippingMethod
	if code == "" {
		code = set.DefaultShippingMethod
	}
	if code == "" {
		return in, refused(ErrUnknownShippingMethod, "shipping_method", "",
			"the store has no default shipping method: name one, or ask for no_shipping")
	}
	row, err := q.GetShippingMethodByCode(ctx, pricingdb.GetShippingMethodByCodeParams{TenantID: tenant, Code: code})
	if errors.Is(err, sql.ErrNoRows) {
		return in, refused(ErrUnknownShippingMethod, "shipping_method", code,
			fmt.Sprintf("no shipping method %s", code))
	}
	if err != nil {
		return in, fmt.Errorf("load shipping method %s: %w", code, err)
	}
	m, err := toShippingMethod(row)
	if err != nil {
		return in, err
	}
	in.Shipping = &m
	return in, nil
}

package invoice

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/money"
)

// The rules of documents: pure, no I/O, time passed in. An invoice is the
// order as priced at checkout; a credit note credits part (or the rest) of
// an invoice, split over its lines or its tax rates.

// number formats a document number: series, year, counter (six digits,
// more when a year needs them).
func number(series string, year int, seq int64) string {
	return fmt.Sprintf("%s-%d-%06d", series, year, seq)
}

// invoiceOf is the invoice of order o, issued by seller at now (dated in
// loc). The amounts are the order's: the lines' net amounts (after their
// discounts, without tax) and taxes, and shipping as one more line whose
// tax is what the order's tax holds beyond the lines' (docs/pricing.md:
// Σ line taxes + shipping tax = tax).
func invoiceOf(o orderapi.Order, seller invoiceapi.Party, now time.Time, loc *time.Location) invoiceapi.Invoice {
	cur := o.Currency
	m := func(a int64) money.Money { return money.Money{Amount: a, Currency: cur} }
	inv := invoiceapi.Invoice{Kind: invoiceapi.KindInvoice, OrderID: o.ID, Currency: cur, TaxInclusive: o.TaxInclusive,
		Seller: seller, Buyer: billedOf(o), CustomerID: o.CustomerID, Lines: make([]invoiceapi.Line, 0, len(o.Lines))}
	stamp(&inv, now, loc)
	var lineTax int64
	rates := map[int64]bool{}
	// An order from before lines kept their rate has one rate, the
	// order's, for every line and shipping.
	legacy := o.Tax.Amount != 0 && !slices.ContainsFunc(o.Lines, func(l orderapi.Line) bool { return l.TaxRateBP != 0 })
	var legacyBP int64
	if legacy {
		legacyBP = legacyRate(o)
	}
	for _, l := range o.Lines {
		net := l.Subtotal.Amount - l.Discount.Amount
		if o.TaxInclusive {
			net -= l.Tax.Amount
		}
		rate := l.TaxRateBP
		if legacy {
			rate = legacyBP
		}
		rates[rate] = true
		lineTax += l.Tax.Amount
		inv.Lines = append(inv.Lines, invoiceapi.Line{SKU: l.SKU, Title: l.Title, Quantity: l.Quantity, UnitPrice: m(l.UnitPrice.Amount),
			Discount: m(l.Discount.Amount), Net: m(net), TaxRateBP: rate, Tax: m(l.Tax.Amount), Total: m(net + l.Tax.Amount)})
	}
	if o.Shipping.Amount > 0 {
		tax := o.Tax.Amount - lineTax
		net := o.Shipping.Amount
		if o.TaxInclusive {
			net -= tax
		}
		// Shipping is taxed at the destination's rate, as the lines are;
		// with no line to tell it (or lines of several rates), its tax
		// tells it.
		rate := impliedRate(net, tax)
		switch {
		case legacy:
			rate = legacyBP
		case len(rates) == 1:
			for r := range rates {
				if tax == taxOf(o.Shipping.Amount, r, o.TaxInclusive) {
					rate = r
				}
			}
		}
		inv.Shipping = &invoiceapi.Line{Title: "Shipping", Quantity: 1, UnitPrice: m(o.Shipping.Amount), Discount: m(0),
			Net: m(net), TaxRateBP: rate, Tax: m(tax), Total: m(net + tax)}
		if o.ShippingMethod != "" {
			inv.Shipping.Title = "Shipping (" + o.ShippingMethod + ")"
		}
	}
	inv.Discount = m(o.Discount.Amount)
	settle(&inv)
	return inv
}

// billedOf is the billing party of an order: its billing address, or its
// shipping address when it has none, and its email.
func billedOf(o orderapi.Order) invoiceapi.Party {
	a := o.ShippingAddress
	if o.BillingAddress != nil {
		a = *o.BillingAddress
	}
	return invoiceapi.Party{Name: a.Name, Email: o.Email, Address: invoiceapi.Address{Line1: a.Line1, Line2: a.Line2, City: a.City,
		Region: a.Region, PostalCode: a.PostalCode, Country: strings.ToUpper(a.Country)}}
}

// stamp dates d: the instant, and the day in the store's time zone.
func stamp(d *invoiceapi.Invoice, now time.Time, loc *time.Location) {
	d.IssuedAt = now.UTC().Truncate(time.Microsecond)
	d.IssueDate = now.In(loc).Format(time.DateOnly)
}

// settle computes a document's sums from its lines and shipping: tax per
// rate, net, tax and total.
func settle(d *invoiceapi.Invoice) {
	cur := d.Currency
	by := map[int64]*invoiceapi.TaxSubtotal{}
	var net, tax int64
	all := d.Lines
	if d.Shipping != nil {
		all = append(slices.Clip(all), *d.Shipping)
	}
	for _, l := range all {
		s := by[l.TaxRateBP]
		if s == nil {
			s = &invoiceapi.TaxSubtotal{RateBP: l.TaxRateBP, Taxable: money.Money{Currency: cur}, Tax: money.Money{Currency: cur}}
			by[l.TaxRateBP] = s
		}
		s.Taxable.Amount += l.Net.Amount
		s.Tax.Amount += l.Tax.Amount
		net += l.Net.Amount
		tax += l.Tax.Amount
	}
	d.TaxSubtotals = make([]invoiceapi.TaxSubtotal, 0, len(by))
	for _, s := range by {
		d.TaxSubtotals = append(d.TaxSubtotals, *s)
	}
	slices.SortFunc(d.TaxSubtotals, func(a, b invoiceapi.TaxSubtotal) int { return cmp.Compare(b.RateBP, a.RateBP) })
	d.Net = money.Money{Amount: net, Currency: cur}
	d.Tax = money.Money{Amount: tax, Currency: cur}
	d.Total = money.Money{Amount: net + tax, Currency: cur}
	if d.Discount.Currency == "" {
		d.Discount = money.Money{Currency: cur}
	}
}

// legacyRate is the one tax rate of an order placed before its lines
// carried theirs. Pricing taxes all of an order's lines and its shipping at
// the destination's one rate (internal/pricing: Compute), each amount
// rounded on its own, so a rate implied line by line from the rounded tax
// is off (19.1 %, 18.99 %…). The order's rate is the one nearest what its
// total tax over its total net implies that gives back every line's and
// the shipping's tax by pricing's rounding (the roundest of those that
// do); that implied rate itself when none does (an order edited by hand).
func legacyRate(o orderapi.Order) int64 {
	type taxed struct{ amount, tax int64 } // as pricing taxed it: after the discount, gross when prices include tax
	var all []taxed
	var base, lineTax int64
	for _, l := range o.Lines {
		a := l.Subtotal.Amount - l.Discount.Amount
		all = append(all, taxed{a, l.Tax.Amount})
		base += a
		lineTax += l.Tax.Amount
	}
	if o.Shipping.Amount > 0 {
		all = append(all, taxed{o.Shipping.Amount, o.Tax.Amount - lineTax})
		base += o.Shipping.Amount
	}
	net := base
	if o.TaxInclusive {
		net -= o.Tax.Amount
	}
	implied := impliedRate(net, o.Tax.Amount)
	fits := func(rate int64) bool {
		for _, a := range all {
			if taxOf(max(a.amount, 0), rate, o.TaxInclusive) != a.tax {
				return false
			}
		}
		return true
	}
	// Small amounts fit several neighbouring rates: take the roundest
	// (rates in force are whole or half percents, or tenths: 19 %, 5.5 %,
	// 8.1 %), then the nearest to the implied one.
	roundness := func(r int64) int {
		switch {
		case r%100 == 0:
			return 3
		case r%50 == 0:
			return 2
		case r%10 == 0:
			return 1
		}
		return 0
	}
	best, found := implied, false
	for d := int64(0); d <= 500; d++ {
		for _, r := range []int64{implied - d, implied + d} {
			if r > 0 && r <= 10000 && fits(r) && (!found || roundness(r) > roundness(best)) {
				best, found = r, true
			}
		}
	}
	return best
}

// impliedRate is the rate, in basis points, that taxes net with tax.
func impliedRate(net, tax int64) int64 {
	if net <= 0 || tax <= 0 {
		return 0
	}
	return roundDiv(tax*10000, net)
}

// taxOf is the tax on amount at rate (basis points), as pricing computes
// it: on the net amount, or within the gross one.
func taxOf(amount, rate int64, inclusive bool) int64 {
	if inclusive {
		return roundDiv(amount*rate, 10000+rate)
	}
	return roundDiv(amount*rate, 10000)
}

// roundDiv is a/b rounded half away from zero (b > 0), the rounding of
// docs/pricing.md.
func roundDiv(a, b int64) int64 {
	if a < 0 {
		return -roundDiv(-a, b)
	}
	return (2*a + b) / (2 * b)
}

// part is what a credit note may credit of an invoice: a line (or part of
// one), shipping, or what is left at one tax rate, with its gross amount
// (net + tax) and the tax within it.
type part struct {
	line  invoiceapi.Line // SKU, title, quantity, unit price and rate of the credit line
	gross int64
	tax   int64
}

// creditNote is the credit note of amount (gross, in the invoice's
// currency) against inv, over parts: the amount is spread over the parts in
// proportion to their gross amounts (largest remainder, so the lines sum
// to the amount exactly), and each line's share splits into tax and net as
// its part's does, so that crediting a whole part gives back its tax to the
// unit. Nothing to credit (no amount, no part) is ok false.
func creditNote(inv invoiceapi.Invoice, parts []part, amount int64, reason string, now time.Time, loc *time.Location) (invoiceapi.Invoice, bool) {
	var weights []int64
	for _, p := range parts {
		weights = append(weights, max(p.gross, 0))
	}
	shares := allocate(amount, weights)
	if amount <= 0 || shares == nil {
		return invoiceapi.Invoice{}, false
	}
	cur := inv.Currency
	m := func(a int64) money.Money { return money.Money{Amount: a, Currency: cur} }
	cn := invoiceapi.Invoice{Kind: invoiceapi.KindCreditNote, OrderID: inv.OrderID, InvoiceID: inv.ID, InvoiceNumber: inv.Number,
		Reason: reason, Currency: cur, TaxInclusive: inv.TaxInclusive, Seller: inv.Seller, Buyer: inv.Buyer, CustomerID: inv.CustomerID,
		Lines: []invoiceapi.Line{}, Discount: m(0)}
	stamp(&cn, now, loc)
	for i, p := range parts {
		g := shares[i]
		if g == 0 {
			continue
		}
		tax := int64(0)
		if p.gross > 0 {
			tax = roundDiv(g*p.tax, p.gross)
		}
		l := p.line
		l.Net, l.Tax, l.Total = m(g-tax), m(tax), m(g)
		// The discount is what the credited amount falls short of the
		// quantity at its unit price, in the store's terms.
		priced := g
		if !inv.TaxInclusive {
			priced = g - tax
		}
		l.UnitPrice = m(l.UnitPrice.Amount)
		if l.UnitPrice.Amount == 0 && l.Quantity == 1 {
			l.UnitPrice = m(priced) // a refund's line per rate: its amount
		}
		l.Discount = m(max(0, l.UnitPrice.Amount*l.Quantity-priced))
		cn.Discount.Amount += l.Discount.Amount
		cn.Lines = append(cn.Lines, l)
	}
	settle(&cn)
	return cn, true
}

// allocate splits amount over weights in proportion (largest remainder,
// ties to the earlier): the shares sum to amount exactly. All weights zero
// is nil.
func allocate(amount int64, weights []int64) []int64 {
	var sum int64
	for _, w := range weights {
		sum += w
	}
	if sum <= 0 {
		return nil
	}
	shares := make([]int64, len(weights))
	rems := make([]int64, len(weights))
	left := amount
	for i, w := range weights {
		// amount × w fits in int64 for any order a store can take
		// (amounts below 2^31 minor units squared).
		shares[i] = amount * w / sum
		rems[i] = amount * w % sum
		left -= shares[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rems[b], rems[a]) })
	for k := 0; left > 0; k = (k + 1) % len(order) {
		if weights[order[k]] > 0 {
			shares[order[k]]++
			left--
		}
	}
	return shares
}

// wholeParts is every line and the shipping of inv, whole: crediting all
// of them reverses the invoice exactly.
func wholeParts(inv invoiceapi.Invoice) []part {
	parts := make([]part, 0, len(inv.Lines)+1)
	for _, l := range inv.Lines {
		parts = append(parts, part{line: l, gross: l.Total.Amount, tax: l.Tax.Amount})
	}
	if inv.Shipping != nil {
		parts = append(parts, part{line: *inv.Shipping, gross: inv.Shipping.Total.Amount, tax: inv.Shipping.Tax.Amount})
	}
	return parts
}

// leftByRate is what is left to credit of inv at each tax rate after
// credits: the gross amount and the tax within it.
func leftByRate(inv invoiceapi.Invoice, credits []invoiceapi.Invoice) map[int64]*part {
	left := map[int64]*part{}
	for _, s := range inv.TaxSubtotals {
		left[s.RateBP] = &part{gross: s.Taxable.Amount + s.Tax.Amount, tax: s.Tax.Amount}
	}
	for _, c := range credits {
		for _, s := range c.TaxSubtotals {
			if p := left[s.RateBP]; p != nil {
				p.gross -= s.Taxable.Amount + s.Tax.Amount
				p.tax -= s.Tax.Amount
			}
		}
	}
	return left
}

// rateParts is what is left to credit of inv at each tax rate, after
// credits, as one line per rate titled title: the parts of a refund that
// names no lines.
func rateParts(inv invoiceapi.Invoice, credits []invoiceapi.Invoice, title string) []part {
	return leftParts(inv, leftByRate(inv, credits), title)
}

// leftParts is left (per rate) as one line per rate titled title, in the
// invoice's order of rates; rates with nothing left are left out.
func leftParts(inv invoiceapi.Invoice, left map[int64]*part, title string) []part {
	parts := make([]part, 0, len(left))
	for _, s := range inv.TaxSubtotals {
		p := *left[s.RateBP]
		if p.gross <= 0 {
			continue
		}
		p.tax = max(0, min(p.tax, p.gross))
		p.line = invoiceapi.Line{Title: title, Quantity: 1, TaxRateBP: s.RateBP}
		parts = append(parts, p)
	}
	return parts
}

// capParts caps parts, rate by rate, at what is left at their rate (the
// parts of a rate share it in proportion to their gross amounts, and its
// tax likewise), takes what they keep off left, and drops the parts left
// with nothing.
func capParts(parts []part, left map[int64]*part) []part {
	byRate := map[int64][]int{}
	var rates []int64
	for i, p := range parts {
		r := p.line.TaxRateBP
		if byRate[r] == nil {
			rates = append(rates, r)
		}
		byRate[r] = append(byRate[r], i)
	}
	for _, r := range rates {
		idx := byRate[r]
		l := left[r]
		if l == nil {
			l = &part{}
			left[r] = l
		}
		var total int64
		weights := make([]int64, len(idx))
		for k, i := range idx {
			weights[k] = max(parts[i].gross, 0)
			total += weights[k]
		}
		if total > l.gross {
			gross := allocate(max(l.gross, 0), weights)
			tax := allocate(max(0, min(l.tax, l.gross)), weights)
			for k, i := range idx {
				parts[i].gross, parts[i].tax = 0, 0
				if gross != nil {
					parts[i].gross, parts[i].tax = gross[k], tax[k]
				}
			}
		}
		for _, i := range idx {
			l.gross -= parts[i].gross
			l.tax -= parts[i].tax
		}
	}
	return slices.DeleteFunc(parts, func(p part) bool { return p.gross <= 0 })
}

// returnParts is the returned lines of inv (quantity returned of quantity
// invoiced, by SKU), and its shipping when amount goes beyond them: the
// parts of a received return. Each is capped at what is left to credit at
// its rate after credits; what amount holds beyond the parts is spread
// over what is then left at each rate (rateParts), so that no rate is
// ever credited more than the invoice holds at it.
func returnParts(inv invoiceapi.Invoice, credits []invoiceapi.Invoice, ret orderapi.Return, amount int64) []part {
	left := leftByRate(inv, credits)
	var parts []part
	for _, rl := range ret.Lines {
		for _, l := range inv.Lines {
			if l.SKU != rl.SKU || l.Quantity <= 0 {
				continue
			}
			q := min(rl.Quantity, l.Quantity)
			p := part{line: l, gross: roundDiv(l.Total.Amount*q, l.Quantity), tax: roundDiv(l.Tax.Amount*q, l.Quantity)}
			p.line.Quantity = q
			parts = append(parts, p)
			break
		}
	}
	parts = capParts(parts, left)
	sum := func() int64 {
		var n int64
		for _, p := range parts {
			n += p.gross
		}
		return n
	}
	if inv.Shipping != nil && (amount > sum() || len(parts) == 0) {
		parts = append(parts, capParts([]part{{line: *inv.Shipping, gross: inv.Shipping.Total.Amount, tax: inv.Shipping.Tax.Amount}}, left)...)
	}
	if excess := amount - sum(); excess > 0 {
		rest := leftParts(inv, left, "Return")
		weights := make([]int64, len(rest))
		for i, p := range rest {
			weights[i] = p.gross
		}
		for i, g := range allocate(excess, weights) {
			if g <= 0 {
				continue
			}
			p := rest[i]
			p.tax = roundDiv(g*p.tax, p.gross)
			p.gross = g
			parts = append(parts, p)
		}
	}
	return parts
}

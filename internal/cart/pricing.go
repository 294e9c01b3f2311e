package cart

import (
	"context"
	"slices"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// quoteRequest is what pricing is asked for the cart c: its available
// lines, without shipping unless the cart has both a country and a shipping
// method. ok is false when there is nothing to quote.
func quoteRequest(c cartapi.Cart) (r pricingapi.QuoteRequest, ok bool) {
	for _, l := range c.Lines {
		if l.Available {
			r.Items = append(r.Items, pricingapi.Item{SKU: l.SKU, Quantity: l.Quantity})
		}
	}
	if len(r.Items) == 0 {
		return r, false
	}
	r.Currency, r.Country, r.Region, r.Coupon, r.Email = c.Currency, c.Country, c.Region, c.Coupon, c.Email
	if c.Country != "" && c.ShippingMethod != "" {
		r.ShippingMethod = c.ShippingMethod
	} else {
		r.NoShipping = true
	}
	return r, true
}

// totals is the cart's view of a quote.
func totals(q pricingapi.Quote) *cartapi.Totals {
	t := &cartapi.Totals{
		Subtotal: q.Subtotal, Discount: q.Discount, Shipping: q.Shipping, Tax: q.Tax, Total: q.Total,
		TaxInclusive: q.TaxInclusive, Discounts: make([]cartapi.AppliedDiscount, len(q.Discounts)),
	}
	for i, d := range q.Discounts {
		t.Discounts[i] = cartapi.AppliedDiscount(d)
	}
	return t
}

// Whether pricing's answer is a refusal of the cart (the caller's fault,
// passed on as it came) or pricing failing (down, slow, overloaded) is
// apiclient.Refused's rule: any 4xx except 408, 429 and 409 conflict.
// Pricing answers a quote with neither 408 nor 409, so for the cart that
// is every 4xx but 429.

// totalsProblem says why a cart read has no totals, without leaking the
// text of an internal failure.
func totalsProblem(err error) *cartapi.Problem {
	if ae, ok := apiclient.Refused(err); ok {
		return &cartapi.Problem{Code: ae.Code, Detail: ae.Detail}
	}
	return &cartapi.Problem{Code: "pricing_unavailable", Detail: "the pricing service could not quote the cart just now; totals are missing, the lines are current"}
}

// checkQuote asks pricing to quote the cart c with lines as it would be
// after a change, and passes a refusal on (*kit.UpstreamError). A cart with
// nothing to quote passes. When pricing cannot answer, a change that sets a
// coupon is refused (ErrPricingUnavailable): a coupon is only taken once
// pricing accepted it; other changes pass and show in the next read.
func (s *Service) checkQuote(ctx context.Context, c cartdb.Cart, lines []cartdb.ListLinesRow) error {
	req, ok := quoteRequest(s.preview(ctx, c, lines))
	if !ok {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, s.cfg.QuoteTimeout)
	defer cancel()
	_, err := s.pricing.Quote(qctx, req)
	if err == nil {
		return nil
	}
	if ae, ok := apiclient.Refused(err); ok {
		return &kit.UpstreamError{Err: ae}
	}
	s.log.WarnContext(ctx, "quote to check a cart change", "err", err)
	if c.Coupon != "" {
		return ErrPricingUnavailable
	}
	return nil
}

// preview is view for lines not yet written: their products are looked up
// in the projection.
func (s *Service) preview(ctx context.Context, c cartdb.Cart, lines []cartdb.ListLinesRow) cartapi.Cart {
	full := make([]cartdb.ListLinesRow, len(lines))
	copy(full, lines)
	if !slices.ContainsFunc(full, func(l cartdb.ListLinesRow) bool { return l.ProductID == "" }) {
		return view(c, full) // every line joined already: nothing to read
	}
	// A line whose SKU cannot be read stays unjoined, as an unknown SKU
	// would: the quote then says what is wrong with it.
	_ = s.store.Read(ctx, func(q *cartdb.Queries) error {
		for i, l := range full {
			if l.ProductID != "" {
				continue // a line read from the database, already joined
			}
			row, err := q.GetSKU(ctx, cartdb.GetSKUParams{TenantID: c.TenantID, Sku: l.Sku})
			if err == nil {
				full[i].ProductID, full[i].VariantID, full[i].Title = row.ProductID, row.VariantID, row.Title
				full[i].Price, full[i].Currency, full[i].Active = row.Price, row.Currency, row.Active
			}
		}
		return nil
	})
	return view(c, full)
}

package cart

import (
	"errors"
	"net/http"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
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

// rejection returns the pricing service's refusal in err (a 4xx answer:
// the request, not the service, is at fault), or nil when err is anything
// else: the service down, slow or failing.
func rejection(err error) *PricingError {
	var ae *apiclient.Error
	if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Status == http.StatusTooManyRequests {
		return nil
	}
	pe := &PricingError{Status: ae.Status, Code: ae.Code, Detail: ae.Detail, Fields: make([]FieldError, len(ae.Errors))}
	for i, f := range ae.Errors {
		pe.Fields[i] = FieldError(f)
	}
	return pe
}

// totalsProblem says why a cart read has no totals, without leaking the
// text of an internal failure.
func totalsProblem(err error) *cartapi.Problem {
	if pe := rejection(err); pe != nil {
		return &cartapi.Problem{Code: pe.Code, Detail: pe.Detail}
	}
	return &cartapi.Problem{Code: "pricing_unavailable", Detail: "the pricing service could not quote the cart just now; totals are missing, the lines are current"}
}

package cart

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/platform/web"
)

// newCartID returns a cart ID: 130 random bits from crypto/rand (rand.Text,
// base32), enough that a guessed ID never names a cart. The ID is the
// guest's only credential, so it must never be derived from anything.
func newCartID() string {
	return "cart_" + strings.ToLower(rand.Text())
}

// checkQuantity reports a line quantity outside 1..MaxQuantity.
func checkQuantity(field string, q int64) error {
	if q < 1 || q > cartapi.MaxQuantity {
		return kit.Invalid(ErrInvalidQuantity, kit.FieldError{Field: field, Message: web.Plain(ErrInvalidQuantity), Value: q})
	}
	return nil
}

// checkSKU reports an SKU that cannot be one (the platform's rule,
// text.SKU, which the catalog applies too).
func checkSKU(field, sku string) error {
	if err := text.SKU(sku); err != nil {
		return kit.Invalid(ErrUnknownSKU, kit.FieldError{Field: field, Message: "not an SKU: " + err.Error(), Value: sku})
	}
	return nil
}

// mergeItems checks the items of a new cart and adds up repeated SKUs into
// one item, in first-seen order, as adding them one by one would.
func mergeItems(items []cartapi.Item) ([]cartapi.Item, error) {
	out := make([]cartapi.Item, 0, len(items))
	at := make(map[string]int, len(items))
	for i, it := range items {
		if err := checkSKU(fmt.Sprintf("items[%d].sku", i), it.SKU); err != nil {
			return nil, err
		}
		if err := checkQuantity(fmt.Sprintf("items[%d].quantity", i), it.Quantity); err != nil {
			return nil, err
		}
		j, ok := at[it.SKU]
		if !ok {
			at[it.SKU] = len(out)
			out = append(out, it)
			continue
		}
		out[j].Quantity += it.Quantity
		if out[j].Quantity > cartapi.MaxQuantity {
			return nil, kit.Invalid(ErrInvalidQuantity, kit.FieldError{Field: fmt.Sprintf("items[%d].quantity", i),
				Message: fmt.Sprintf("%s adds up to more than %d", it.SKU, cartapi.MaxQuantity), Value: it.Quantity})
		}
	}
	if len(out) > cartapi.MaxLines {
		return nil, kit.Invalid(ErrTooManyLines, kit.FieldError{Field: "items", Message: web.Plain(ErrTooManyLines), Value: len(out)})
	}
	return out, nil
}

// checkEmail accepts "" (none) or one plain address (text.Email).
func checkEmail(field, s string) error {
	if s == "" {
		return nil
	}
	if err := text.Email(s); err != nil {
		return kit.Invalid(ErrInvalid, kit.FieldError{Field: field, Message: err.Error(), Value: s})
	}
	return nil
}

// checkQuoteFields checks the fields a cart passes to pricing, each
// optional, by the platform's rules: the coupon code, the destination
// country and region, and the shipping method code.
func checkQuoteFields(coupon, country, region, method *string) error {
	for _, f := range []struct {
		name  string
		v     *string
		check func(string) error
	}{
		{"coupon", coupon, func(s string) error { return text.Coupon(normalCoupon(s)) }},
		{"country", country, text.Country},
		{"region", region, func(s string) error { return text.Line(s, 50, false) }},
		{"shipping_method", method, text.Code},
	} {
		if f.v == nil || *f.v == "" {
			continue
		}
		if err := f.check(*f.v); err != nil {
			return kit.Invalid(ErrInvalid, kit.FieldError{Field: f.name, Message: err.Error(), Value: *f.v})
		}
	}
	return nil
}

// normalCoupon is a coupon code as the cart keeps it: pricing compares codes
// case-insensitively and answers with them upper-cased.
func normalCoupon(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// patch applies a PATCH of the cart's own fields to c and reports whether
// the change affects the quote (and so must be checked with pricing).
func patch(c cartdb.Cart, in cartapi.CartUpdate) (out cartdb.Cart, priced bool, err error) {
	if in.Email != nil {
		if err := checkEmail("email", *in.Email); err != nil {
			return c, false, err
		}
		c.Email = *in.Email
	}
	if err := checkQuoteFields(in.Coupon, in.Country, in.Region, in.ShippingMethod); err != nil {
		return c, false, err
	}
	set := func(dst *string, v *string) {
		if v != nil && *v != *dst {
			*dst, priced = *v, true
		}
	}
	if in.Coupon != nil {
		code := normalCoupon(*in.Coupon)
		set(&c.Coupon, &code)
	}
	set(&c.Country, in.Country)
	set(&c.Region, in.Region)
	set(&c.ShippingMethod, in.ShippingMethod)
	return c, priced, nil
}

// view builds the cart as clients see it, without totals: each line with
// its SKU's current projected title and price. A line is unavailable when
// its product was archived or unpublished, the SKU left it, or it is now
// priced in another currency than the cart's; unavailable lines do not
// count in the subtotal (checkout refuses them).
func view(c cartdb.Cart, rows []cartdb.ListLinesRow) cartapi.Cart {
	out := cartapi.Cart{
		ID: c.ID, Status: c.Status, Email: c.Email, CustomerID: c.CustomerID, Currency: c.Currency,
		Coupon: c.Coupon, Country: c.Country, Region: c.Region, ShippingMethod: c.ShippingMethod,
		OrderID: c.OrderID, Lines: make([]cartapi.Line, len(rows)),
		Subtotal:  money.Money{Currency: c.Currency},
		CreatedAt: sqldb.FromMicros(c.CreatedAt), UpdatedAt: sqldb.FromMicros(c.UpdatedAt),
	}
	for i, r := range rows {
		l := cartapi.Line{
			ID: r.ID, SKU: r.Sku, ProductID: r.ProductID, VariantID: r.VariantID, Title: r.Title,
			ImageURL: r.ImageUrl, Quantity: r.Quantity,
			UnitPrice: money.Money{Amount: r.Price, Currency: r.Currency},
			Subtotal:  money.Money{Amount: r.Price * r.Quantity, Currency: r.Currency},
			Available: r.Active && r.Currency == c.Currency,
		}
		if l.Available {
			out.Subtotal.Amount += l.Subtotal.Amount
		}
		out.Lines[i] = l
	}
	return out
}

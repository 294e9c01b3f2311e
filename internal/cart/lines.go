package cart

import (
	"crypto/rand"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/money"
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
		return &InputError{Err: ErrInvalidQuantity, Field: field, Value: q}
	}
	return nil
}

// checkSKU reports an SKU that cannot be one (the catalog's rule: 1..64
// characters, no spaces).
func checkSKU(field, sku string) error {
	if sku == "" || len(sku) > 64 || strings.ContainsAny(sku, " \t\r\n") {
		return &InputError{Err: ErrUnknownSKU, Field: field, Value: sku, Message: "not an SKU"}
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
			return nil, &InputError{Err: ErrInvalidQuantity, Field: fmt.Sprintf("items[%d].quantity", i), Value: it.Quantity,
				Message: fmt.Sprintf("%s adds up to more than %d", it.SKU, cartapi.MaxQuantity)}
		}
	}
	if len(out) > cartapi.MaxLines {
		return nil, &InputError{Err: ErrTooManyLines, Field: "items", Value: len(out)}
	}
	return out, nil
}

// checkEmail accepts "" (none) or one plain address.
func checkEmail(field, s string) error {
	if s == "" {
		return nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 320 {
		return &InputError{Err: ErrInvalid, Field: field, Value: s, Message: "not an email address"}
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
		CreatedAt: time.UnixMicro(c.CreatedAt).UTC(), UpdatedAt: time.UnixMicro(c.UpdatedAt).UTC(),
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

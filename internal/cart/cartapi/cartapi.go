// Package cartapi is the cart service's contract: the JSON bodies of its
// REST operations (huma validates requests against these types and builds the
// OpenAPI document from them), the payloads of the events it publishes, and a
// typed client for other services (the order service reads carts at
// checkout) and the storefront. Fields are only ever added.
package cartapi

import (
	"time"

	"github.com/mercato/mercato/internal/platform/money"
)

// The cart statuses: an open cart takes changes; a checked-out cart became
// an order and is read-only.
const (
	StatusOpen       = "open"
	StatusCheckedOut = "checked_out"
)

// Limits of a cart, enforced by the service.
const (
	// MaxQuantity is the largest quantity of one line.
	MaxQuantity = 10000
	// MaxLines is the largest number of lines of one cart.
	MaxLines = 100
)

// OpenAPI schema names: huma names a schema after its Go type alone, and
// every service's types share one OpenAPI document, so two services'
// "Line" or "Item" (or web.Problem) would collide. The defined types below
// therefore carry a Cart prefix, and the contract's short names are aliases
// of them.
type (
	// Line is a cart line (see CartLine).
	Line = CartLine
	// AppliedDiscount is a discount in a cart's totals (see CartDiscount).
	AppliedDiscount = CartDiscount
	// Totals are a cart's quoted figures (see CartTotals).
	Totals = CartTotals
	// Problem says why a cart has no totals (see CartTotalsProblem).
	Problem = CartTotalsProblem
	// Item is an SKU and quantity to add (see CartItem).
	Item = CartItem
	// ItemUpdate is the body of PATCH /api/v1/carts/{id}/items/{line} (see
	// CartItemUpdate).
	ItemUpdate = CartItemUpdate
)

// CartLine is one SKU in a cart. Title, image and price are the catalog's
// current ones (from the cart's projection of catalog events), not those of
// when the line was added.
type CartLine struct {
	ID        string      `json:"id" doc:"Line ID (UUIDv7): the {line} of the item operations."`
	SKU       string      `json:"sku" example:"MUG-1"`
	ProductID string      `json:"product_id"`
	VariantID string      `json:"variant_id"`
	Title     string      `json:"title" doc:"Product title, with the variant's title when the product has several variants."`
	ImageURL  string      `json:"image_url,omitempty" doc:"The product's first image, if any."`
	Quantity  int64       `json:"quantity" example:"2"`
	UnitPrice money.Money `json:"unit_price" doc:"The current catalog price of one unit."`
	Subtotal  money.Money `json:"subtotal" doc:"unit_price × quantity."`
	Available bool        `json:"available" doc:"False when the product was archived or unpublished: checkout will refuse the line."`
}

// CartDiscount is a discount the pricing service applied to the cart (a
// copy of pricingapi.AppliedDiscount, so this contract does not move when
// pricing's does).
type CartDiscount struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Code   string      `json:"code,omitempty" doc:"The coupon code, for a coupon discount."`
	Amount money.Money `json:"amount"`
}

// CartTotals are the cart's figures as the pricing service quoted them.
type CartTotals struct {
	Subtotal     money.Money       `json:"subtotal"`
	Discount     money.Money       `json:"discount"`
	Shipping     money.Money       `json:"shipping" doc:"Zero unless the cart has a country and a shipping method."`
	Tax          money.Money       `json:"tax"`
	Total        money.Money       `json:"total"`
	TaxInclusive bool              `json:"tax_inclusive" doc:"Prices include tax (tax is then part of subtotal, not added)."`
	Discounts    []AppliedDiscount `json:"discounts"`
}

// CartTotalsProblem says why a cart has no totals: the pricing service could not
// quote it (it is down, or the coupon is no longer valid).
type CartTotalsProblem struct {
	Code   string `json:"code" example:"coupon_expired"`
	Detail string `json:"detail"`
}

// Cart is a shopping cart: the response body of every cart operation. Its
// ID is the guest's bearer secret: whoever knows it may read and change it.
type Cart struct {
	ID             string      `json:"id" doc:"Unguessable cart ID; keep it secret." example:"cart_4k2j..."`
	Status         string      `json:"status" enum:"open,checked_out"`
	Email          string      `json:"email,omitempty"`
	CustomerID     string      `json:"customer_id,omitempty" doc:"The customer's ID for a signed-in customer's cart."`
	Currency       string      `json:"currency,omitempty" doc:"The currency of every line; absent while the cart is empty."`
	Coupon         string      `json:"coupon,omitempty"`
	Country        string      `json:"country,omitempty" doc:"ISO 3166-1 alpha-2 shipping country."`
	Region         string      `json:"region,omitempty"`
	ShippingMethod string      `json:"shipping_method,omitempty"`
	OrderID        string      `json:"order_id,omitempty" doc:"The order the cart became, once checked out."`
	Lines          []Line      `json:"lines"`
	Subtotal       money.Money `json:"subtotal" doc:"Sum of the lines' subtotals, before discounts, tax and shipping."`
	Totals         *Totals     `json:"totals,omitempty" doc:"The pricing service's quote; absent for an empty cart or when totals_error is set."`
	TotalsError    *Problem    `json:"totals_error,omitempty" doc:"Why totals are absent, when pricing could not quote the cart."`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

// CartItem is an SKU and a quantity, as a client adds it.
type CartItem struct {
	SKU      string `json:"sku" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$" example:"MUG-1"`
	Quantity int64  `json:"quantity" doc:"1..10000 (invalid_quantity otherwise); a line holds at most 10000." example:"1"`
}

// CartCreate is the optional body of POST /api/v1/carts.
type CartCreate struct {
	Email          string `json:"email,omitempty" maxLength:"254" doc:"The customer's email address."`
	Items          []Item `json:"items,omitempty" doc:"Lines to start with, at most 100 SKUs (too_many_lines otherwise); the same SKU twice adds up."`
	Country        string `json:"country,omitempty" pattern:"^[A-Z]{2}$" patternDescription:"ISO 3166-1 alpha-2, uppercase"`
	Region         string `json:"region,omitempty" maxLength:"50"`
	ShippingMethod string `json:"shipping_method,omitempty" maxLength:"50"`
	Coupon         string `json:"coupon,omitempty" maxLength:"64" doc:"Letters, digits, '_' and '-' (surrounding spaces are dropped); checked with the pricing service; an unknown coupon is refused."`
}

// CartUpdate is the body of PATCH /api/v1/carts/{id}: absent fields stay as
// they are; an empty string clears a field.
type CartUpdate struct {
	Email          *string `json:"email,omitempty" maxLength:"254" doc:"An email address, or empty to clear."`
	Coupon         *string `json:"coupon,omitempty" maxLength:"64" doc:"Letters, digits, '_' and '-' (surrounding spaces are dropped); checked with the pricing service; empty removes the coupon."`
	Country        *string `json:"country,omitempty" pattern:"^([A-Z]{2})?$" patternDescription:"ISO 3166-1 alpha-2, uppercase, or empty"`
	Region         *string `json:"region,omitempty" maxLength:"50"`
	ShippingMethod *string `json:"shipping_method,omitempty" maxLength:"50"`
}

// ItemAdd is the body of POST /api/v1/carts/{id}/items. Adding an SKU that
// is already in the cart adds to its line's quantity.
type ItemAdd = Item

// CartItemUpdate is the body of PATCH /api/v1/carts/{id}/items/{line}: the
// new quantity of the line (DELETE removes a line).
type CartItemUpdate struct {
	Quantity int64 `json:"quantity" doc:"1..10000 (invalid_quantity otherwise)." example:"3"`
}

// CartSummary is a cart in the admin list: no prices, no quote.
type CartSummary struct {
	ID         string    `json:"id"`
	Status     string    `json:"status" enum:"open,checked_out"`
	Email      string    `json:"email,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	Currency   string    `json:"currency,omitempty"`
	OrderID    string    `json:"order_id,omitempty"`
	Lines      int64     `json:"lines" doc:"Number of lines."`
	Quantity   int64     `json:"quantity" doc:"Sum of the lines' quantities."`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// CartList is one page of GET /api/v1/admin/carts, most recently changed
// first.
type CartList struct {
	Items []CartSummary `json:"items"`
	// NextCursor fetches the next page; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to fetch the next page; absent on the last page."`
}

// Package pricingapi is the pricing service's contract: the JSON bodies of
// its REST operations (huma validates requests against these types and builds
// the OpenAPI document from them), the payload of the event it publishes, and
// a typed client for other services (cart, order) and the admin UI. Fields
// are only ever added.
package pricingapi

import (
	"time"

	"github.com/mercato/mercato/internal/platform/money"
)

// MaxQuantity is the largest quantity of one item a quote accepts; more is
// taken for a typo or an attack rather than an order.
const MaxQuantity = 10000

// MaxItems is the largest number of items in one quote.
const MaxItems = 100

// Item is one SKU and quantity to price.
type Item struct {
	SKU      string `json:"sku" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$" doc:"Stock keeping unit." example:"MUG-1"`
	Quantity int64  `json:"quantity" doc:"How many, 1..10000." example:"2"`
}

// QuoteRequest is the body of POST /api/v1/quote.
type QuoteRequest struct {
	Items          []Item `json:"items" minItems:"1" maxItems:"100" doc:"The items to price, 1..100."`
	Currency       string `json:"currency,omitempty" doc:"Expected ISO 4217 currency; the quote fails with currency_mismatch when the items are priced in another." example:"EUR"`
	Country        string `json:"country,omitempty" maxLength:"2" doc:"Destination country (ISO 3166-1 alpha-2, either case); defaults to the store's." example:"DE"`
	Region         string `json:"region,omitempty" maxLength:"50" doc:"Destination region (e.g. ISO 3166-2 subdivision) for region tax rates." example:"BY"`
	ShippingMethod string `json:"shipping_method,omitempty" maxLength:"50" doc:"Shipping method code; defaults to the store's." example:"standard"`
	NoShipping     bool   `json:"no_shipping,omitempty" doc:"Price without shipping (cart estimates)."`
	Coupon         string `json:"coupon,omitempty" maxLength:"64" doc:"Coupon code, case-insensitive." example:"WELCOME10"`
	Email          string `json:"email,omitempty" maxLength:"254" doc:"Customer email, for per-customer coupon limits."`
}

// QuoteLine is one priced item. Subtotal is unit price × quantity; Total is
// Subtotal − Discount (+ Tax when prices are tax-exclusive).
type QuoteLine struct {
	SKU        string      `json:"sku"`
	ProductID  string      `json:"product_id"`
	VariantID  string      `json:"variant_id"`
	CategoryID string      `json:"category_id,omitempty"`
	Title      string      `json:"title"`
	Quantity   int64       `json:"quantity"`
	UnitPrice  money.Money `json:"unit_price"`
	Subtotal   money.Money `json:"subtotal"`
	Discount   money.Money `json:"discount"`
	Tax        money.Money `json:"tax" doc:"Tax on the line; included in Subtotal − Discount when prices are tax-inclusive."`
	Total      money.Money `json:"total"`
	TaxRateBP  int64       `json:"tax_rate_bp" doc:"Tax rate in basis points (1900 = 19%)."`
}

// AppliedDiscount is one discount that went into a quote, with what it took
// off in total (lines and shipping).
type AppliedDiscount struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Code   string      `json:"code,omitempty" doc:"The coupon code; absent for automatic discounts."`
	Amount money.Money `json:"amount"`
}

// Quote is the priced basket: what an order would cost. Amounts are minor
// units; see docs/pricing.md for the rounding rule.
type Quote struct {
	Currency       string            `json:"currency"`
	TaxInclusive   bool              `json:"tax_inclusive" doc:"Whether prices (and Subtotal) include tax."`
	Country        string            `json:"country"`
	Region         string            `json:"region,omitempty"`
	Lines          []QuoteLine       `json:"lines"`
	Subtotal       money.Money       `json:"subtotal" doc:"Sum of line subtotals."`
	Discount       money.Money       `json:"discount" doc:"Sum of line discounts."`
	Shipping       money.Money       `json:"shipping" doc:"Shipping price (after any free-shipping rule), tax-inclusive when prices are."`
	ShippingTax    money.Money       `json:"shipping_tax" doc:"Tax on shipping; part of Tax."`
	Tax            money.Money       `json:"tax" doc:"Sum of line taxes plus ShippingTax."`
	Total          money.Money       `json:"total" doc:"What the customer pays."`
	ShippingMethod string            `json:"shipping_method,omitempty" doc:"Shipping method code; absent with no_shipping."`
	Discounts      []AppliedDiscount `json:"discounts"`
	Coupon         string            `json:"coupon,omitempty" doc:"The coupon applied, upper-cased."`
}

// RedeemRequest is the body of POST /api/v1/admin/pricing/redemptions: the
// order takes one use of a coupon.
type RedeemRequest struct {
	OrderID string `json:"order_id" minLength:"1" maxLength:"100" doc:"The order redeeming; a repeat with the same order ID returns the first redemption."`
	Coupon  string `json:"coupon" minLength:"1" maxLength:"64" doc:"Coupon code, case-insensitive."`
	Email   string `json:"email,omitempty" maxLength:"254" doc:"Customer email, for per-customer limits."`
}

// Redemption statuses.
const (
	RedemptionActive   = "active"
	RedemptionReleased = "released"
)

// Redemption is one order's use of a coupon.
type Redemption struct {
	OrderID    string `json:"order_id"`
	DiscountID string `json:"discount_id"`
	Coupon     string `json:"coupon"`
	Email      string `json:"email,omitempty"`
	Status     string `json:"status" enum:"active,released"`
}

// Discount kinds.
const (
	KindPercentage   = "percentage"
	KindFixed        = "fixed"
	KindFreeShipping = "free_shipping"
)

// Discount scopes.
const (
	ScopeOrder    = "order"
	ScopeProduct  = "product"
	ScopeCategory = "category"
)

// Discount is a price reduction: automatic (no code) or behind a coupon.
type Discount struct {
	ID                    string       `json:"id"`
	Name                  string       `json:"name"`
	Code                  string       `json:"code,omitempty" doc:"Coupon code (upper-cased); absent for automatic discounts."`
	Kind                  string       `json:"kind" enum:"percentage,fixed,free_shipping"`
	PercentBP             int64        `json:"percent_bp,omitempty" doc:"Percentage in basis points (1000 = 10%), for kind percentage."`
	Amount                *money.Money `json:"amount,omitempty" doc:"Amount off, for kind fixed."`
	Scope                 string       `json:"scope" enum:"order,product,category"`
	ProductIDs            []string     `json:"product_ids"`
	CategoryIDs           []string     `json:"category_ids"`
	StartsAt              *time.Time   `json:"starts_at,omitempty"`
	EndsAt                *time.Time   `json:"ends_at,omitempty"`
	UsageLimit            *int64       `json:"usage_limit,omitempty"`
	UsageLimitPerCustomer *int64       `json:"usage_limit_per_customer,omitempty"`
	Used                  int64        `json:"used" doc:"Active redemptions."`
	MinSubtotal           *money.Money `json:"min_subtotal,omitempty"`
	Stackable             bool         `json:"stackable"`
	Priority              int64        `json:"priority" doc:"Lower applies first."`
	Active                bool         `json:"active"`
	CreatedAt             time.Time    `json:"created_at"`
	UpdatedAt             time.Time    `json:"updated_at"`
}

// DiscountCreate is the body of POST /api/v1/admin/pricing/discounts.
type DiscountCreate struct {
	Name                  string       `json:"name" minLength:"1" maxLength:"200"`
	Code                  string       `json:"code,omitempty" maxLength:"64" pattern:"^[A-Za-z0-9_-]+$" patternDescription:"letters, digits, dash and underscore" doc:"Coupon code; absent for an automatic discount."`
	Kind                  string       `json:"kind" enum:"percentage,fixed,free_shipping"`
	PercentBP             int64        `json:"percent_bp,omitempty" minimum:"0" maximum:"10000" doc:"1..10000 for kind percentage."`
	Amount                *money.Money `json:"amount,omitempty" doc:"Required for kind fixed."`
	Scope                 string       `json:"scope,omitempty" enum:"order,product,category" default:"order"`
	ProductIDs            []string     `json:"product_ids,omitempty" maxItems:"1000"`
	CategoryIDs           []string     `json:"category_ids,omitempty" maxItems:"1000"`
	StartsAt              *time.Time   `json:"starts_at,omitempty"`
	EndsAt                *time.Time   `json:"ends_at,omitempty"`
	UsageLimit            *int64       `json:"usage_limit,omitempty" minimum:"0"`
	UsageLimitPerCustomer *int64       `json:"usage_limit_per_customer,omitempty" minimum:"0"`
	MinSubtotal           *money.Money `json:"min_subtotal,omitempty"`
	Stackable             bool         `json:"stackable,omitempty"`
	Priority              int64        `json:"priority,omitempty"`
	Active                *bool        `json:"active,omitempty" doc:"Defaults to true."`
}

// DiscountUpdate is the body of PATCH /api/v1/admin/pricing/discounts/{id}:
// absent fields stay as they are. The kind, scope and code cannot change.
type DiscountUpdate struct {
	Name                  *string      `json:"name,omitempty" minLength:"1" maxLength:"200"`
	PercentBP             *int64       `json:"percent_bp,omitempty" minimum:"1" maximum:"10000"`
	Amount                *money.Money `json:"amount,omitempty"`
	ProductIDs            []string     `json:"product_ids,omitempty" maxItems:"1000"`
	CategoryIDs           []string     `json:"category_ids,omitempty" maxItems:"1000"`
	StartsAt              *time.Time   `json:"starts_at,omitempty"`
	EndsAt                *time.Time   `json:"ends_at,omitempty"`
	UsageLimit            *int64       `json:"usage_limit,omitempty" minimum:"0"`
	UsageLimitPerCustomer *int64       `json:"usage_limit_per_customer,omitempty" minimum:"0"`
	MinSubtotal           *money.Money `json:"min_subtotal,omitempty"`
	Stackable             *bool        `json:"stackable,omitempty"`
	Priority              *int64       `json:"priority,omitempty"`
	Active                *bool        `json:"active,omitempty"`
	// Clear empties optional fields, which an absent field cannot do.
	Clear []string `json:"clear,omitempty" maxItems:"5" doc:"Optional fields to empty (an absent field stays as it is): starts_at, ends_at, usage_limit, usage_limit_per_customer, min_subtotal. A field both given and cleared is refused." example:"[\"ends_at\"]"`
}

// Clearable are the DiscountUpdate fields Clear may name.
var Clearable = []string{"starts_at", "ends_at", "usage_limit", "usage_limit_per_customer", "min_subtotal"}

// DiscountList is the list of a tenant's discounts.
type DiscountList struct {
	Items []Discount `json:"items"`
}

// TaxRate is the tax of a country, or of one region of it.
type TaxRate struct {
	ID        string    `json:"id"`
	Country   string    `json:"country" doc:"ISO 3166 alpha-2." example:"DE"`
	Region    string    `json:"region,omitempty" doc:"Region code; absent for the country rate." example:"BY"`
	RateBP    int64     `json:"rate_bp" doc:"Basis points (1900 = 19%)." example:"1900"`
	Name      string    `json:"name" example:"MwSt"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TaxRateInput is the body creating (POST) or replacing (PUT) a tax rate.
type TaxRateInput struct {
	Country string `json:"country" pattern:"^[A-Z]{2}$" patternDescription:"two uppercase letters" example:"DE"`
	Region  string `json:"region,omitempty" maxLength:"50" pattern:"^[A-Za-z0-9-]*$" patternDescription:"letters, digits and dashes"`
	RateBP  int64  `json:"rate_bp" minimum:"0" maximum:"10000" example:"1900"`
	Name    string `json:"name" minLength:"1" maxLength:"100" example:"MwSt"`
}

// TaxRateList is the list of a tenant's tax rates.
type TaxRateList struct {
	Items []TaxRate `json:"items"`
}

// ShippingMethod is a way of delivering an order at a price.
type ShippingMethod struct {
	ID        string       `json:"id"`
	Code      string       `json:"code" example:"standard"`
	Name      string       `json:"name" example:"Standard"`
	Price     money.Money  `json:"price"`
	FreeOver  *money.Money `json:"free_over,omitempty" doc:"Shipping is free when the subtotal after discounts reaches this."`
	Countries []string     `json:"countries" doc:"Countries served; empty means everywhere."`
	Active    bool         `json:"active"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// ShippingMethodInput is the body creating (POST) or replacing (PUT) a
// shipping method.
type ShippingMethodInput struct {
	Code      string       `json:"code" minLength:"1" maxLength:"50" pattern:"^[a-z0-9]+([_-][a-z0-9]+)*$" patternDescription:"lowercase letters and digits separated by single dashes or underscores" example:"standard"`
	Name      string       `json:"name" minLength:"1" maxLength:"100" example:"Standard"`
	Price     money.Money  `json:"price"`
	FreeOver  *money.Money `json:"free_over,omitempty"`
	Countries []string     `json:"countries,omitempty" maxItems:"300"`
	Active    *bool        `json:"active,omitempty" doc:"Defaults to true."`
}

// ShippingMethodList is a list of shipping methods.
type ShippingMethodList struct {
	Items []ShippingMethod `json:"items"`
}

// Settings are the store's pricing settings. Currency and TaxInclusive are
// the store's settings, owned by the tenant service (PATCH
// /api/v1/admin/store) and copied here from its events: read-only in
// pricing. The rest is pricing's own (SettingsUpdate).
type Settings struct {
	TaxInclusive          bool   `json:"tax_inclusive" doc:"Whether catalog prices include tax. A store setting: change it with PATCH /api/v1/admin/store." readOnly:"true"`
	Currency              string `json:"currency" doc:"The store's currency. A store setting: change it with PATCH /api/v1/admin/store." example:"EUR" readOnly:"true"`
	DefaultShippingMethod string `json:"default_shipping_method,omitempty" maxLength:"50" example:"standard"`
	DefaultCountry        string `json:"default_country" example:"DE"`
}

// SettingsUpdate is the body of PUT /api/v1/admin/pricing/settings: the
// settings pricing owns. Currency and tax mode are not here: they are the
// store's (PATCH /api/v1/admin/store), and a body naming them is refused.
type SettingsUpdate struct {
	DefaultShippingMethod string `json:"default_shipping_method,omitempty" maxLength:"50" doc:"Code of the shipping method of quotes that name none; empty for none." example:"standard"`
	DefaultCountry        string `json:"default_country" pattern:"^[A-Z]{2}$" patternDescription:"two uppercase letters" doc:"ISO 3166 alpha-2 destination of quotes that name none (a cart estimate)." example:"DE"`
}

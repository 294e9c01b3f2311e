package pricingapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the pricing API for other services (cart, order) and the
// admin UI. It is safe for concurrent use. Errors are *apiclient.Error for problem answers; test
// them with apiclient.IsCode(err, "unknown_sku") and friends.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the API at baseURL (scheme and host, e.g.
// "http://pricing:8080"). A nil hc means a client with apiclient's default
// timeout. Redeem and ReleaseRedemption are admin operations: hc must carry
// the admin token (the platform's clients do).
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New("pricing", baseURL, hc)}
}

// Quote prices the request for the tenant in ctx (POST /api/v1/quote). A
// quote writes nothing, so it is retried like a read.
func (c *Client) Quote(ctx context.Context, r QuoteRequest) (Quote, error) {
	var q Quote
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/quote", Body: r, Out: &q, Idempotent: true})
	return q, err
}

// Redeem takes one use of r.Coupon for order r.OrderID (POST
// /api/v1/admin/pricing/redemptions). It is idempotent on the order ID: a
// repeat returns the first redemption. A coupon with no use left fails with
// 409 coupon_exhausted; an unknown one with 422 unknown_coupon.
func (c *Client) Redeem(ctx context.Context, r RedeemRequest) (Redemption, error) {
	var out Redemption
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/pricing/redemptions", Body: r, Out: &out, Idempotent: true})
	return out, err
}

// ReleaseRedemption gives back the coupon use of the order (POST
// /api/v1/admin/pricing/redemptions/{order_id}/release), e.g. when the order
// is cancelled. It is idempotent, and an order that redeemed nothing is no
// error.
func (c *Client) ReleaseRedemption(ctx context.Context, orderID string) error {
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/pricing/redemptions/" + url.PathEscape(orderID) + "/release", Idempotent: true})
	if apiclient.IsStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// ShippingMethods returns the active shipping methods a buyer may choose,
// cheapest first (GET /api/v1/shipping-methods); with a country (ISO
// alpha-2), only those shipping there.
func (c *Client) ShippingMethods(ctx context.Context, country string) (ShippingMethodList, error) {
	path := "/api/v1/shipping-methods"
	if country != "" {
		path += "?" + url.Values{"country": {country}}.Encode()
	}
	var out ShippingMethodList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	return out, err
}

// The admin operations, under /api/v1/admin/pricing, for the admin UI. An
// unknown ID is a 404 not_found; a code (or country and region) another
// item has, a 409 already_exists. A create takes an idempotencyKey: the
// service answers a repeat with the first outcome ("" sends none).

const adminBase = "/api/v1/admin/pricing"

// Discounts returns every discount of the store, automatic ones and
// coupons, active or not (GET /api/v1/admin/pricing/discounts).
func (c *Client) Discounts(ctx context.Context) (DiscountList, error) {
	var out DiscountList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/discounts", Out: &out})
	return out, err
}

// Discount returns a discount (GET /api/v1/admin/pricing/discounts/{id}).
func (c *Client) Discount(ctx context.Context, id string) (Discount, error) {
	var out Discount
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/discounts/" + url.PathEscape(id), Out: &out})
	return out, err
}

// CreateDiscount creates a discount (POST /api/v1/admin/pricing/discounts).
func (c *Client) CreateDiscount(ctx context.Context, d DiscountCreate, idempotencyKey string) (Discount, error) {
	var out Discount
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: adminBase + "/discounts", Body: d, Out: &out, IdempotencyKey: idempotencyKey})
	return out, err
}

// UpdateDiscount changes the fields u sets (PATCH
// /api/v1/admin/pricing/discounts/{id}).
func (c *Client) UpdateDiscount(ctx context.Context, id string, u DiscountUpdate) (Discount, error) {
	var out Discount
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: adminBase + "/discounts/" + url.PathEscape(id), Body: u, Out: &out})
	return out, err
}

// DeleteDiscount deletes a discount (DELETE
// /api/v1/admin/pricing/discounts/{id}).
func (c *Client) DeleteDiscount(ctx context.Context, id string) error {
	return c.c.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: adminBase + "/discounts/" + url.PathEscape(id)})
}

// TaxRates returns every tax rate of the store (GET
// /api/v1/admin/pricing/tax-rates).
func (c *Client) TaxRates(ctx context.Context) (TaxRateList, error) {
	var out TaxRateList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/tax-rates", Out: &out})
	return out, err
}

// TaxRate returns a tax rate (GET /api/v1/admin/pricing/tax-rates/{id}).
func (c *Client) TaxRate(ctx context.Context, id string) (TaxRate, error) {
	var out TaxRate
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/tax-rates/" + url.PathEscape(id), Out: &out})
	return out, err
}

// CreateTaxRate adds a tax rate (POST /api/v1/admin/pricing/tax-rates).
func (c *Client) CreateTaxRate(ctx context.Context, r TaxRateInput, idempotencyKey string) (TaxRate, error) {
	var out TaxRate
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: adminBase + "/tax-rates", Body: r, Out: &out, IdempotencyKey: idempotencyKey})
	return out, err
}

// ReplaceTaxRate replaces a tax rate as a whole (PUT
// /api/v1/admin/pricing/tax-rates/{id}); being a PUT, it is retried.
func (c *Client) ReplaceTaxRate(ctx context.Context, id string, r TaxRateInput) (TaxRate, error) {
	var out TaxRate
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPut, Path: adminBase + "/tax-rates/" + url.PathEscape(id), Body: r, Out: &out, Idempotent: true})
	return out, err
}

// DeleteTaxRate deletes a tax rate (DELETE
// /api/v1/admin/pricing/tax-rates/{id}).
func (c *Client) DeleteTaxRate(ctx context.Context, id string) error {
	return c.c.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: adminBase + "/tax-rates/" + url.PathEscape(id)})
}

// AdminShippingMethods returns every shipping method of the store, active
// or not (GET /api/v1/admin/pricing/shipping-methods); ShippingMethods
// gives the ones buyers may choose.
func (c *Client) AdminShippingMethods(ctx context.Context) (ShippingMethodList, error) {
	var out ShippingMethodList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/shipping-methods", Out: &out})
	return out, err
}

// ShippingMethod returns a shipping method (GET
// /api/v1/admin/pricing/shipping-methods/{id}).
func (c *Client) ShippingMethod(ctx context.Context, id string) (ShippingMethod, error) {
	var out ShippingMethod
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/shipping-methods/" + url.PathEscape(id), Out: &out})
	return out, err
}

// CreateShippingMethod adds a shipping method (POST
// /api/v1/admin/pricing/shipping-methods).
func (c *Client) CreateShippingMethod(ctx context.Context, m ShippingMethodInput, idempotencyKey string) (ShippingMethod, error) {
	var out ShippingMethod
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: adminBase + "/shipping-methods", Body: m, Out: &out, IdempotencyKey: idempotencyKey})
	return out, err
}

// ReplaceShippingMethod replaces a shipping method as a whole (PUT
// /api/v1/admin/pricing/shipping-methods/{id}); being a PUT, it is retried.
func (c *Client) ReplaceShippingMethod(ctx context.Context, id string, m ShippingMethodInput) (ShippingMethod, error) {
	var out ShippingMethod
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPut, Path: adminBase + "/shipping-methods/" + url.PathEscape(id), Body: m, Out: &out, Idempotent: true})
	return out, err
}

// DeleteShippingMethod deletes a shipping method (DELETE
// /api/v1/admin/pricing/shipping-methods/{id}).
func (c *Client) DeleteShippingMethod(ctx context.Context, id string) error {
	return c.c.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: adminBase + "/shipping-methods/" + url.PathEscape(id)})
}

// Settings returns the store's pricing settings (GET
// /api/v1/admin/pricing/settings).
func (c *Client) Settings(ctx context.Context) (Settings, error) {
	var out Settings
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/settings", Out: &out})
	return out, err
}

// ReplaceSettings replaces the settings pricing owns (PUT
// /api/v1/admin/pricing/settings); currency and tax mode are the store's
// (tenantapi). Being a PUT, it is retried.
func (c *Client) ReplaceSettings(ctx context.Context, s SettingsUpdate) (Settings, error) {
	var out Settings
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPut, Path: adminBase + "/settings", Body: s, Out: &out, Idempotent: true})
	return out, err
}

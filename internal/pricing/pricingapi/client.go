package pricingapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the pricing API for other services (cart, order). It is safe
// for concurrent use. Errors are *apiclient.Error for problem answers; test
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

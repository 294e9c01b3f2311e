package orderapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// The buyer's operations: checkout, and reading, cancelling and returning
// an order. A guest proves an order is theirs with the order token of the
// checkout answer, which the client sends in the OrderTokenHeader (never
// in the URL, which access logs keep); a signed-in customer instead calls
// with their access token in ctx (apiclient.WithToken) and passes no order
// token.

// OrderTokenHeader carries a guest's order token.
const OrderTokenHeader = "X-Order-Token"

// Checkout places an order (POST /api/v1/checkout). idempotencyKey is
// required by the service (428 idempotency_key_required without one): a
// retry with the same key and request answers the same order, or the same
// failure, never a second order or charge, so the call is retried like a
// read. The answer carries the guest's order Token, shown only here. With
// a customer's access token in ctx the order is the customer's.
func (c *Client) Checkout(ctx context.Context, r CheckoutRequest, idempotencyKey string) (Order, error) {
	var o Order
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/checkout", Body: r, Out: &o, IdempotencyKey: idempotencyKey})
	if err != nil {
		return Order{}, mapError(err)
	}
	return o, nil
}

// GuestOrder returns an order to its buyer (GET /api/v1/orders/{id}): the
// guest holding token, or ("" token) the customer the order belongs to.
// For anyone else it is ErrNotFound.
func (c *Client) GuestOrder(ctx context.Context, id, token string) (Order, error) {
	var o Order
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: buyerOrderPath(id), Out: &o, Header: tokenHeader(token)})
	if err != nil {
		return Order{}, mapError(err)
	}
	return o, nil
}

// GuestCancel cancels a confirmed, unshipped order for its buyer (the guest
// holding token, or the customer with "" token), through
// POST /api/v1/orders/{id}/cancel. A shipped order is a 409
// invalid_transition: request a return instead.
func (c *Client) GuestCancel(ctx context.Context, id, token string) (Order, error) {
	var o Order
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: buyerOrderPath(id) + "/cancel", Out: &o, Header: tokenHeader(token)})
	if err != nil {
		return Order{}, mapError(err)
	}
	return o, nil
}

// RequestReturn asks, for the order's buyer (the guest holding token, or
// the customer with "" token), to send lines of a shipped or delivered
// order back (POST /api/v1/orders/{id}/returns); staff then receive or
// reject it. A non-empty idempotencyKey makes a signed-in customer's
// retried request ask once (the platform keeps no outcomes of anonymous
// callers).
func (c *Client) RequestReturn(ctx context.Context, id, token string, r ReturnCreate, idempotencyKey string) (Order, error) {
	var o Order
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: buyerOrderPath(id) + "/returns", Body: r, Out: &o,
		Header: tokenHeader(token), IdempotencyKey: idempotencyKey})
	if err != nil {
		return Order{}, mapError(err)
	}
	return o, nil
}

// MyOrders returns a page of the signed-in customer's orders, newest first
// (GET /api/v1/me/orders): ctx must carry the customer's access token.
// cursor is the NextCursor of the previous page; limit 0 is the service's
// default page size. Listed orders carry no shipments or returns.
func (c *Client) MyOrders(ctx context.Context, cursor string, limit int) (OrderList, error) {
	var l OrderList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: withQuery("/api/v1/me/orders", url.Values{}, cursor, limit), Out: &l})
	if err != nil {
		return OrderList{}, mapError(err)
	}
	return l, nil
}

func buyerOrderPath(id string) string {
	return "/api/v1/orders/" + url.PathEscape(id)
}

// tokenHeader is the header carrying a guest's order token; none for "".
func tokenHeader(token string) http.Header {
	if token == "" {
		return nil
	}
	return http.Header{OrderTokenHeader: {token}}
}

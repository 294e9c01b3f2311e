package orderapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Errors the client makes of 404 answers; each wraps the *apiclient.Error.
var (
	// ErrNotFound is returned for an order that does not exist in the
	// tenant, or that the caller may not see (a wrong order token).
	ErrNotFound = errors.New("orderapi: order not found")
	// ErrShipmentNotFound: the order has no such shipment.
	ErrShipmentNotFound = errors.New("orderapi: shipment not found")
	// ErrReturnNotFound: the order has no such return.
	ErrReturnNotFound = errors.New("orderapi: return not found")
)

// Client calls the order service's API: the admin operations for other
// services and the admin UI, and the buyer's operations (buyer.go) for
// the storefront. It is safe for concurrent use.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the order API at baseURL (scheme and host).
// hc must carry the admin token (the platform's HTTPClient does); nil means
// a default client.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New("order", baseURL, hc)}
}

// adminPath is the collection of orders in the admin API; an order is at
// adminPath/{id}.
const adminPath = "/api/v1/admin/orders"

// Get returns the order with the given ID, for the tenant in ctx, through
// GET /api/v1/admin/orders/{id}. An unknown order is ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (Order, error) {
	var o Order
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminOrderPath(id), Out: &o})
	if err != nil {
		return Order{}, mapError(err)
	}
	return o, nil
}

// ListParams filters and pages GET /api/v1/admin/orders; zero values are
// unset.
type ListParams struct {
	Status Status
	// Email is the buyer's email address.
	Email string
	// CreatedFrom (inclusive) and CreatedTo (exclusive) bound when the
	// orders were placed.
	CreatedFrom time.Time
	CreatedTo   time.Time
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// Limit is the page size (the service's default when 0, capped at 100).
	Limit int
}

// List returns one page of the store's orders, newest first, through
// GET /api/v1/admin/orders. Listed orders carry no shipments or returns.
func (c *Client) List(ctx context.Context, lp ListParams) (OrderList, error) {
	q := url.Values{}
	if lp.Status != "" {
		q.Set("status", string(lp.Status))
	}
	if lp.Email != "" {
		q.Set("email", lp.Email)
	}
	if !lp.CreatedFrom.IsZero() {
		q.Set("created_from", lp.CreatedFrom.UTC().Format(time.RFC3339Nano))
	}
	if !lp.CreatedTo.IsZero() {
		q.Set("created_to", lp.CreatedTo.UTC().Format(time.RFC3339Nano))
	}
	var l OrderList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: withQuery(adminPath, q, lp.Cursor, lp.Limit), Out: &l})
	if err != nil {
		return OrderList{}, mapError(err)
	}
	return l, nil
}

// Cancel cancels a confirmed, unshipped order: its stock goes back and its
// payment is voided (POST /api/v1/admin/orders/{id}/cancel). An order in
// another state is a 409 invalid_transition.
func (c *Client) Cancel(ctx context.Context, id string) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/cancel", nil, "", false)
}

// Refund pays back r.Amount, in the order's currency, of what was captured
// (POST /api/v1/admin/orders/{id}/refunds). Any part may be refunded, up to
// captured − refunded (409 refund_exceeds_captured); shipping was captured
// with the lines, so it is refunded by including it in the amount. r.Key
// makes the refund idempotent: the same key refunds once, so the call is
// retried like a read.
func (c *Client) Refund(ctx context.Context, id string, r RefundCreate) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/refunds", r, "", true)
}

// Ship records a shipment handed to s.Carrier with s.TrackingNumber
// (POST /api/v1/admin/orders/{id}/shipments): the first one captures the
// payment and makes the order shipped. A non-empty idempotencyKey makes a
// retried request record one shipment, not two.
func (c *Client) Ship(ctx context.Context, id string, s ShipmentCreate, idempotencyKey string) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/shipments", s, idempotencyKey, false)
}

// Track adds a tracking event to a shipment
// (POST /api/v1/admin/orders/{id}/shipments/{sid}/events). Delivery is
// recorded this way too: an event with status ShipmentDelivered (once per
// shipment) delivers the shipment, and the order is delivered when all its
// shipments are. ShipmentInTransit may be added any number of times before.
func (c *Client) Track(ctx context.Context, id, shipmentID string, u TrackingUpdate) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/shipments/"+url.PathEscape(shipmentID)+"/events", u, "", false)
}

// ReceiveReturn marks a requested return received
// (POST /api/v1/admin/orders/{id}/returns/{rid}/receive): the SKUs in
// r.Restock (every returned line when empty) go back into stock, and
// r.Refund (the returned lines' totals when nil, plus shipping with
// r.IncludeShipping) is paid back.
func (c *Client) ReceiveReturn(ctx context.Context, id, returnID string, r ReturnReceive) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/returns/"+url.PathEscape(returnID)+"/receive", r, "", false)
}

// RejectReturn refuses a requested return: nothing is restocked or
// refunded (POST /api/v1/admin/orders/{id}/returns/{rid}/reject).
func (c *Client) RejectReturn(ctx context.Context, id, returnID string) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/returns/"+url.PathEscape(returnID)+"/reject", nil, "", false)
}

// post makes a POST answered with the order.
func (c *Client) post(ctx context.Context, path string, body any, idempotencyKey string, idempotent bool) (Order, error) {
	var o Order
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: path, Body: body, Out: &o,
		IdempotencyKey: idempotencyKey, Idempotent: idempotent})
	if err != nil {
		return Order{}, mapError(err)
	}
	return o, nil
}

func adminOrderPath(id string) string {
	return adminPath + "/" + url.PathEscape(id)
}

// withQuery returns path with q and the page's cursor and limit, when set,
// as its query.
func withQuery(path string, q url.Values, cursor string, limit int) string {
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// mapError makes the contract's sentinels match 404 answers, keeping the
// *apiclient.Error in the chain.
func mapError(err error) error {
	if !apiclient.IsStatus(err, http.StatusNotFound) {
		return err
	}
	switch {
	case apiclient.IsCode(err, "shipment_not_found"):
		return fmt.Errorf("%w: %w", ErrShipmentNotFound, err)
	case apiclient.IsCode(err, "return_not_found"):
		return fmt.Errorf("%w: %w", ErrReturnNotFound, err)
	}
	return fmt.Errorf("%w: %w", ErrNotFound, err)
}

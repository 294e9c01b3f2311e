package orderapi

import (
	"context"
	"net/url"

	"github.com/mercato/mercato/internal/platform/money"
)

// The admin UI's forms each carry their own Idempotency-Key, so a double
// click or a reload of an action changes the order once and answers the
// same as the first time (the platform replays the first answer). These
// are the admin operations of client.go with that key; "" sends none.

// CancelWithKey is Cancel (POST /api/v1/admin/orders/{id}/cancel) sent with
// an Idempotency-Key.
func (c *Client) CancelWithKey(ctx context.Context, id, idempotencyKey string) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/cancel", nil, idempotencyKey, false)
}

// TrackWithKey is Track (POST /api/v1/admin/orders/{id}/shipments/{sid}/events)
// sent with an Idempotency-Key: a repeated in_transit event is added once.
func (c *Client) TrackWithKey(ctx context.Context, id, shipmentID string, u TrackingUpdate, idempotencyKey string) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/shipments/"+url.PathEscape(shipmentID)+"/events", u, idempotencyKey, false)
}

// ReturnDecision is how staff receive a return: the SKUs that go back into
// stock (none when empty, unlike ReturnReceive, whose empty Restock means
// every line) and the refund (nil: the returned lines' totals, plus
// shipping with IncludeShipping).
type ReturnDecision struct {
	Restock         []string
	Refund          *money.Money
	IncludeShipping bool
}

// returnDecisionBody is ReturnReceive with restock always sent: [] restocks
// nothing.
type returnDecisionBody struct {
	Restock         []string     `json:"restock"`
	Refund          *money.Money `json:"refund,omitempty"`
	IncludeShipping bool         `json:"include_shipping,omitempty"`
}

// ReceiveReturnAs receives a requested return as d decides
// (POST /api/v1/admin/orders/{id}/returns/{rid}/receive), sent with an
// Idempotency-Key.
func (c *Client) ReceiveReturnAs(ctx context.Context, id, returnID string, d ReturnDecision, idempotencyKey string) (Order, error) {
	body := returnDecisionBody{Restock: d.Restock, Refund: d.Refund, IncludeShipping: d.IncludeShipping}
	if body.Restock == nil {
		body.Restock = []string{}
	}
	return c.post(ctx, adminOrderPath(id)+"/returns/"+url.PathEscape(returnID)+"/receive", body, idempotencyKey, false)
}

// RejectReturnWithKey is RejectReturn
// (POST /api/v1/admin/orders/{id}/returns/{rid}/reject) sent with an
// Idempotency-Key.
func (c *Client) RejectReturnWithKey(ctx context.Context, id, returnID, idempotencyKey string) (Order, error) {
	return c.post(ctx, adminOrderPath(id)+"/returns/"+url.PathEscape(returnID)+"/reject", nil, idempotencyKey, false)
}

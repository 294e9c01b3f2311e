package orderapi

import "github.com/mercato/mercato/internal/platform/money"

// The subjects (event types) the order service publishes through its
// outbox. Every payload carries the order as it is after the change (never
// with its token).
const (
	// SubjectConfirmed carries an OrderEvent (with cart_id when the checkout
	// came from a cart): the checkout succeeded.
	SubjectConfirmed = "order.confirmed.v1"
	// SubjectCancelled carries an OrderEvent with its cancel_reason.
	SubjectCancelled = "order.cancelled.v1"
	// SubjectShipped carries a Shipped: a shipment left.
	SubjectShipped = "order.shipped.v1"
	// SubjectDelivered carries an OrderEvent: every shipment arrived.
	SubjectDelivered = "order.delivered.v1"
	// SubjectRefunded carries a Refunded.
	SubjectRefunded = "order.refunded.v1"
	// SubjectReturnRequested carries a ReturnEvent.
	SubjectReturnRequested = "order.return_requested.v1"
	// SubjectReturnReceived carries a ReturnEvent.
	SubjectReturnReceived = "order.return_received.v1"
)

// Source is the envelope source of order events.
const Source = "order"

// OrderEvent is the payload of order.confirmed.v1, order.cancelled.v1 and
// order.delivered.v1: the order, and the SHA-256 of its guest token (added
// to the Order these events carried before), so that a service keeping a
// projection of orders can tell a guest's token from a wrong one without
// asking the order service. The hash is what the order service stores; it
// cannot be turned back into the token, and presenting it proves nothing.
type OrderEvent struct {
	Order
	// TokenHash is the lowercase hex SHA-256 of the order token.
	TokenHash string `json:"token_hash,omitempty"`
}

// Shipped is the payload of order.shipped.v1: the order and the shipment
// that left.
type Shipped struct {
	Order
	Shipment Shipment `json:"shipment"`
}

// Refunded is the payload of order.refunded.v1: the order after the refund
// and the amount of this refund.
type Refunded struct {
	Order
	Amount money.Money `json:"amount"`
	Reason string      `json:"reason,omitempty"`
}

// ReturnEvent is the payload of order.return_requested.v1 and
// order.return_received.v1: the order and the return concerned.
type ReturnEvent struct {
	Order
	Return Return `json:"return"`
}

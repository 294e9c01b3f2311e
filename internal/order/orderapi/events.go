package orderapi

import "github.com/mercato/mercato/internal/platform/money"

// The subjects (event types) the order service publishes through its
// outbox. Every payload carries the order as it is after the change (never
// with its token).
const (
	// SubjectConfirmed carries an Order (with cart_id when the checkout came
	// from a cart): the checkout succeeded.
	SubjectConfirmed = "order.confirmed.v1"
	// SubjectCancelled carries an Order with its cancel_reason.
	SubjectCancelled = "order.cancelled.v1"
	// SubjectShipped carries a Shipped: a shipment left.
	SubjectShipped = "order.shipped.v1"
	// SubjectDelivered carries an Order: every shipment arrived.
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

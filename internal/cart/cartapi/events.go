package cartapi

import "time"

// The subjects (event types) the cart service publishes through its outbox.
const (
	// SubjectCreated carries a Created: a shopper opened a cart.
	SubjectCreated = "cart.created.v1"
	// SubjectCheckedOut carries a CheckedOut: the cart's order was
	// confirmed.
	SubjectCheckedOut = "cart.checked_out.v1"
)

// Source is the envelope source of cart events.
const Source = "cart"

// CheckedOut is the data of cart.checked_out.v1: the cart became the order.
type CheckedOut struct {
	CartID     string    `json:"cart_id"`
	OrderID    string    `json:"order_id"`
	Email      string    `json:"email,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	At         time.Time `json:"at"`
}

// Created is the data of cart.created.v1: a cart was opened (the first
// step of the analytics funnel).
type Created struct {
	CartID     string    `json:"cart_id"`
	Currency   string    `json:"currency"`
	Email      string    `json:"email,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	At         time.Time `json:"at"`
}

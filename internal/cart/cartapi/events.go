package cartapi

import "time"

// The subjects (event types) the cart service publishes through its outbox.
const (
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

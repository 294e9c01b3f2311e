package paymentapi

import "github.com/mercato/mercato/internal/platform/money"

// The subjects (event types) the payment service publishes through its
// outbox, each in the transaction of the change.
const (
	SubjectAuthorized = "payment.authorized.v1"
	SubjectCaptured   = "payment.captured.v1"
	SubjectRefunded   = "payment.refunded.v1"
	SubjectFailed     = "payment.failed.v1"
	SubjectVoided     = "payment.voided.v1"
)

// Source is the envelope source of payment events.
const Source = "payment"

// PaymentEvent is the data of every payment event: the payment after the
// change and the amount of the operation (authorized, captured, refunded,
// voided; for failed, the amount asked for).
type PaymentEvent struct {
	Payment Payment     `json:"payment"`
	Amount  money.Money `json:"amount"`
	// Reason is set on a change nobody asked for through this service's
	// API: the provider's own, learnt from its webhook (ReasonVoidedAtProvider,
	// ReasonRefundedAtProvider). Empty otherwise.
	Reason string `json:"reason,omitempty"`
	// ProviderEventID is the provider's ID of the webhook event behind a
	// change with a Reason.
	ProviderEventID string `json:"provider_event_id,omitempty"`
}

// The reasons of PaymentEvent.
const (
	// ReasonVoidedAtProvider: the provider canceled the authorization (in
	// its dashboard, say), so the money the order was confirmed with is no
	// longer held (payment.voided.v1).
	ReasonVoidedAtProvider = "voided_at_provider"
	// ReasonRefundedAtProvider: the provider refunded the payment itself
	// (payment.refunded.v1).
	ReasonRefundedAtProvider = "refunded_at_provider"
)

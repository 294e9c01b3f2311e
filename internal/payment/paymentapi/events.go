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
}

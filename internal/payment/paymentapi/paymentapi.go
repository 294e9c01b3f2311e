// Package paymentapi is the payment service's contract: the JSON bodies of
// its REST operations (huma validates requests against these types and
// builds the OpenAPI document from them), the payloads of the events it
// publishes, and a typed client for other services (the order saga).
// Fields are only ever added.
package paymentapi

import (
	"errors"
	"time"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
)

// Status is where a payment is in its life.
//
//	pending → authorized | failed | voided (a void that overtook the authorization)
//	authorized → voided | partially_captured | captured
//	partially_captured → captured (further captures)
//	captured/partially_captured → partially_refunded → refunded
type Status string

// The payment statuses.
const (
	StatusPending           Status = "pending"
	StatusAuthorized        Status = "authorized"
	StatusFailed            Status = "failed"
	StatusVoided            Status = "voided"
	StatusCaptured          Status = "captured"
	StatusPartiallyCaptured Status = "partially_captured"
	StatusRefunded          Status = "refunded"
	StatusPartiallyRefunded Status = "partially_refunded"
)

// The built-in provider names.
const (
	// ProviderFake is the in-memory provider with test tokens (tok_visa,
	// tok_declined, tok_insufficient_funds, tok_timeout), the laptop default.
	ProviderFake = "fake"
	// ProviderStripe is Stripe, available when a Stripe key is configured.
	ProviderStripe = "stripe"
)

// The failure codes a failed payment may carry besides a decline reason.
const (
	// FailureTimeout: the provider did not answer in time; the payment was
	// voided at the provider in case the authorization went through.
	FailureTimeout = "timeout"
	// FailureAbandoned: the authorization was left pending (a crash) and
	// voided at the provider when found stale.
	FailureAbandoned = "abandoned"
	// FailureProviderError: the provider failed in another way.
	FailureProviderError = "provider_error"
)

// Payment is the payment of one order: the response body of every payment
// operation and the snapshot carried by every payment event.
type Payment struct {
	ID          string      `json:"id" doc:"Payment ID (UUIDv7)."`
	OrderID     string      `json:"order_id" doc:"The order paid; one payment per order."`
	Provider    string      `json:"provider" example:"fake"`
	ProviderRef string      `json:"provider_ref" doc:"The provider's reference of the authorization (empty until authorized)."`
	Status      Status      `json:"status" enum:"pending,authorized,failed,voided,captured,partially_captured,refunded,partially_refunded"`
	Amount      money.Money `json:"amount" doc:"The amount authorized (asked for while pending)."`
	Captured    money.Money `json:"captured" doc:"The amount captured so far."`
	Refunded    money.Money `json:"refunded" doc:"The amount refunded so far; never above captured."`
	FailureCode string      `json:"failure_code,omitempty" doc:"Why the payment failed: a decline reason (declined, insufficient_funds, invalid_token, ...), timeout, abandoned or provider_error."`
	Refunds     []Refund    `json:"refunds" doc:"The refunds, oldest first."`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// Refund is one refund of a payment.
type Refund struct {
	ID        string      `json:"id" doc:"Refund ID (UUIDv7)."`
	Amount    money.Money `json:"amount"`
	Reason    string      `json:"reason,omitempty"`
	Key       string      `json:"key" doc:"The caller's idempotency key of the refund."`
	CreatedAt time.Time   `json:"created_at"`
}

// AuthorizeRequest asks to authorize an order's amount. It is idempotent on
// OrderID: a repeat returns the first outcome.
type AuthorizeRequest struct {
	OrderID  string      `json:"order_id" minLength:"1" maxLength:"100" doc:"The order to pay; one payment per order."`
	Amount   money.Money `json:"amount"`
	Provider string      `json:"provider,omitempty" maxLength:"50" doc:"Payment provider; defaults to fake." example:"fake"`
	Token    string      `json:"token" minLength:"1" maxLength:"255" doc:"The card token or payment method from the checkout form." example:"tok_visa"`
	Email    string      `json:"email,omitempty" maxLength:"320" doc:"The buyer's email, passed to the provider."`
}

// CaptureRequest captures (part of) the authorized amount. A repeat with the
// same Key returns the first outcome and captures nothing more.
type CaptureRequest struct {
	Amount money.Money `json:"amount" doc:"At most the authorized amount not yet captured."`
	Key    string      `json:"key,omitempty" maxLength:"200" doc:"Idempotency key of this capture; defaults to \"capture\" (one full capture)."`
}

// RefundRequest refunds (part of) the captured amount, shipping included:
// the payment knows no order lines. A repeat with the same Key returns the
// first outcome and refunds nothing more.
type RefundRequest struct {
	Amount money.Money `json:"amount" doc:"At most the captured amount not yet refunded."`
	Reason string      `json:"reason,omitempty" maxLength:"500"`
	Key    string      `json:"key" minLength:"1" maxLength:"200" doc:"Idempotency key of this refund."`
}

// PaymentList is a page of payments, newest first.
type PaymentList struct {
	Items      []Payment `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page."`
}

// Providers are the payment providers a deployment offers: the names a
// checkout's payment.provider may take.
type Providers struct {
	Providers []string `json:"providers" doc:"The provider names a checkout may use, e.g. fake, stripe."`
}

// Audit counts payments that need attention, for the checkout bench and
// operators.
type Audit struct {
	AuthorizedWithoutCaptureOrVoid int64 `json:"authorized_without_capture_or_void" doc:"Payments authorized, neither captured nor voided."`
	Pending                        int64 `json:"pending" doc:"Payments still pending."`
	InvariantViolations            int64 `json:"invariant_violations" doc:"Payments breaking 0 <= refunded <= captured <= amount; always 0."`
}

// DeclinedError is a payment the provider declined; Reason is its code
// (declined, insufficient_funds, invalid_token, ...). The client's
// DeclinedError wraps the service's answer (Err, a 402 payment_declined),
// so a caller classing errors by status or code sees it through this type.
type DeclinedError struct {
	Reason string
	Err    *apiclient.Error
}

func (e *DeclinedError) Error() string { return "payment declined: " + e.Reason }

// Unwrap returns the service's answer the decline was made from, if any.
func (e *DeclinedError) Unwrap() error {
	if e.Err == nil {
		return nil // not a typed nil: errors.As must not match it
	}
	return e.Err
}

// Errors the client returns for the service's answers.
var (
	ErrTimeout               = errors.New("paymentapi: provider timed out")
	ErrNotFound              = errors.New("paymentapi: payment not found")
	ErrRefundExceedsCaptured = errors.New("paymentapi: refund exceeds captured amount")
)

// The problem codes of the payment API.
const (
	CodeDeclined              = "payment_declined"
	CodeTimeout               = "payment_timeout"
	CodeNotFound              = "payment_not_found"
	CodeRefundExceedsCaptured = "refund_exceeds_captured"
	CodeCaptureExceeds        = "capture_exceeds_authorized"
	CodeInvalidState          = "invalid_payment_state"
	CodeUnknownProvider       = "unknown_provider"
	CodeCurrencyMismatch      = "currency_mismatch"
	CodeKeyReused             = "idempotency_key_reused"
	CodeOrderMismatch         = "payment_mismatch"
	CodeInvalidSignature      = "invalid_signature"
	CodeProviderError         = "provider_error"
)

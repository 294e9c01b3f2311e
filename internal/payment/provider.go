package payment

import (
	"context"
	"errors"
	"net/http"

	"github.com/mercato/mercato/internal/platform/money"
)

// Provider is a payment provider: it authorizes, captures, voids and refunds
// card payments, and verifies the webhooks it sends. Every call carries an
// idempotency key: a repeat with the same key must return the first
// outcome, not act twice. The service relies on that to replay a call whose
// answer was lost.
type Provider interface {
	// Authorize holds req.Amount on the card. It returns a *DeclineError
	// when the card is refused, ErrTimeout (or another error) when the
	// outcome is unknown.
	Authorize(ctx context.Context, req AuthRequest) (AuthResult, error)
	// Capture takes amount of the authorization ref.
	Capture(ctx context.Context, ref string, amount money.Money, key string) error
	// Void releases the authorization ref, of which nothing is captured.
	Void(ctx context.Context, ref, key string) error
	// Refund gives back amount of what ref captured.
	Refund(ctx context.Context, ref string, amount money.Money, key string) (RefundRef, error)
	// VerifyWebhook checks the signature of a webhook request and decodes
	// the event; a bad signature is ErrInvalidSignature.
	VerifyWebhook(payload []byte, header http.Header) (Event, error)
}

// AuthRequest is one authorization.
type AuthRequest struct {
	Amount         money.Money
	Token          string
	Email          string
	IdempotencyKey string
	OrderID        string
}

// AuthResult is a successful authorization.
type AuthResult struct {
	// Ref is the provider's reference of the authorization.
	Ref string
}

// RefundRef is the provider's reference of a refund.
type RefundRef string

// EventKind is what a provider event means to a payment.
type EventKind string

// The event kinds the service acts on; other events are only recorded.
const (
	// EventRefunded: the payment was refunded at the provider (possibly in
	// its dashboard); RefundedTotal is the total refunded so far.
	EventRefunded EventKind = "refunded"
	// EventVoided: the authorization was canceled at the provider.
	EventVoided EventKind = "voided"
	// EventOther: anything else.
	EventOther EventKind = "other"
)

// Event is a verified provider webhook event.
type Event struct {
	// ID is the provider's event ID, unique per provider.
	ID string
	// Type is the provider's event type, e.g. charge.refunded.
	Type string
	Kind EventKind
	// Ref is the authorization the event is about, if any.
	Ref string
	// RefundedTotal is the total refunded of Ref after the event, in minor
	// units (EventRefunded).
	RefundedTotal int64
}

// DeclineError is a provider's definite no: nothing was authorized (or
// captured, voided, refunded). Reason is a short code such as declined,
// insufficient_funds or invalid_token.
type DeclineError struct {
	Reason string
}

func (e *DeclineError) Error() string { return "payment: declined: " + e.Reason }

// Provider errors besides *DeclineError.
var (
	// ErrTimeout means the provider did not answer in time: the call may or
	// may not have taken effect.
	ErrTimeout = errors.New("payment: provider timed out")
	// ErrInvalidSignature means a webhook's signature did not verify.
	ErrInvalidSignature = errors.New("payment: invalid webhook signature")
)

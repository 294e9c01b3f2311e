package payment

import (
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/money"
)

// record is a payment row: the state the rules below move between. It is
// pure data; the rules return a changed copy or an error, never touch I/O.
type record struct {
	ID, OrderID    string
	Provider       string
	ProviderRef    string
	Status         paymentapi.Status
	Currency       string
	Amount         int64
	Captured       int64 // confirmed by the provider
	CapturePending int64 // captures sent, outcome not yet recorded
	Refunded       int64 // confirmed plus in flight
	FailureCode    string
	AuthToken      string
	AuthEmail      string
	// AuthOpen: the authorize call's outcome at the provider is unknown (in
	// flight, or its process died): the sweep settles it.
	AuthOpen  bool
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// settled reports whether the authorization can no longer change state:
// failed or voided.
func (r record) settled() bool {
	return r.Status == paymentapi.StatusFailed || r.Status == paymentapi.StatusVoided
}

// derive sets Status from the amounts, for a payment past authorization.
func (r *record) derive() {
	if r.Status == paymentapi.StatusPending || r.settled() {
		return
	}
	switch {
	case r.Refunded > 0 && r.Refunded >= r.Captured:
		r.Status = paymentapi.StatusRefunded
	case r.Refunded > 0:
		r.Status = paymentapi.StatusPartiallyRefunded
	case r.Captured > 0 && r.Captured == r.Amount:
		r.Status = paymentapi.StatusCaptured
	case r.Captured > 0:
		r.Status = paymentapi.StatusPartiallyCaptured
	default:
		r.Status = paymentapi.StatusAuthorized
	}
}

// check reports a broken ledger invariant; a bug if it ever fires, and the
// database's CHECK constraints stand behind it.
func (r record) check() error {
	if r.Refunded < 0 || r.Refunded > r.Captured || r.Captured > r.Amount ||
		r.CapturePending < 0 || r.Captured+r.CapturePending > r.Amount {
		return fmt.Errorf("payment %s: ledger invariant broken (amount %d, captured %d+%d, refunded %d)",
			r.ID, r.Amount, r.Captured, r.CapturePending, r.Refunded)
	}
	return nil
}

// capturable reports whether the payment can take new captures.
func (r record) capturable() bool {
	switch r.Status {
	case paymentapi.StatusAuthorized, paymentapi.StatusPartiallyCaptured:
		return true
	}
	return false
}

// reserveCapture holds amount for a capture about to be sent: within the
// authorized amount not captured nor being captured.
func (r record) reserveCapture(amount int64, currency string) (record, error) {
	switch {
	case currency != r.Currency:
		return r, ErrCurrencyMismatch
	case !r.capturable():
		return r, fmt.Errorf("%w: cannot capture a %s payment", ErrInvalidState, r.Status)
	case amount <= 0:
		return r, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case r.Captured+r.CapturePending+amount > r.Amount:
		return r, &ExceedsError{Err: ErrCaptureExceeds, Available: r.Amount - r.Captured - r.CapturePending}
	}
	r.CapturePending += amount
	return r, nil
}

// confirmCapture records a capture the provider confirmed.
func (r record) confirmCapture(amount int64) record {
	r.CapturePending -= amount
	r.Captured += amount
	r.derive()
	return r
}

// releaseCapture drops a capture the provider refused.
func (r record) releaseCapture(amount int64) record {
	r.CapturePending -= amount
	return r
}

// reserveRefund holds amount for a refund about to be sent: within what the
// provider confirmed captured and is not refunded or being refunded. Any
// amount within that, shipping included: the payment knows no lines.
func (r record) reserveRefund(amount int64, currency string) (record, error) {
	switch {
	case currency != r.Currency:
		return r, ErrCurrencyMismatch
	case r.Status == paymentapi.StatusPending || r.settled():
		return r, fmt.Errorf("%w: cannot refund a %s payment", ErrInvalidState, r.Status)
	case amount <= 0:
		return r, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case r.Refunded+amount > r.Captured:
		return r, &ExceedsError{Err: ErrRefundExceedsCaptured, Available: r.Captured - r.Refunded}
	}
	r.Refunded += amount
	r.derive()
	return r, nil
}

// releaseRefund drops a refund the provider refused.
func (r record) releaseRefund(amount int64) record {
	r.Refunded -= amount
	r.derive()
	return r
}

// voidable reports whether Void may release the authorization: authorized
// with nothing captured or being captured.
func (r record) voidable() error {
	if r.Status != paymentapi.StatusAuthorized || r.Captured > 0 || r.CapturePending > 0 {
		return fmt.Errorf("%w: cannot void a %s payment", ErrInvalidState, r.Status)
	}
	return nil
}

// authorized records the provider's authorization of a pending payment.
func (r record) authorized(ref string, at time.Time) record {
	r.Status, r.ProviderRef = paymentapi.StatusAuthorized, ref
	return r.closeAuth(at)
}

// closeAuth marks the authorize outcome known and forgets the token.
func (r record) closeAuth(at time.Time) record {
	r.AuthOpen, r.AuthToken, r.AuthEmail, r.UpdatedAt = false, "", "", at
	return r
}

// mayHaveRefunds reports whether r can have refund rows in the ledger.
// Refunded counts them all, confirmed or in flight (each above zero), and
// every change to it is written with the row that causes it (reserve with
// the insert, release with the delete), so nothing refunded means none.
func (r record) mayHaveRefunds() bool {
	return r.Refunded != 0
}

// payment is the API view of r; refunds are added by the caller.
func (r record) payment(refunds []paymentapi.Refund) paymentapi.Payment {
	m := func(a int64) money.Money { return money.Money{Amount: a, Currency: r.Currency} }
	if refunds == nil {
		refunds = []paymentapi.Refund{}
	}
	return paymentapi.Payment{
		ID: r.ID, OrderID: r.OrderID, Provider: r.Provider, ProviderRef: r.ProviderRef, Status: r.Status,
		Amount: m(r.Amount), Captured: m(r.Captured), Refunded: m(r.Refunded), FailureCode: r.FailureCode,
		Refunds: refunds, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

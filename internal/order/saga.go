package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// The checkout saga, as a state machine:
//
//	pending → confirmed
//	   ↘
//	     cancelled
//
// The steps between (reserve stock, redeem the coupon, authorize the
// payment, commit the reservation) are not written to the order: each is
// idempotent on the order ID in the service that owns it, and that service
// is the record of whether it happened. Recovery of a pending order asks
// payment: an authorized payment means every earlier step succeeded, and
// the order goes forward; anything else is compensated and cancelled. The
// timeline still shows the steps, with their times, once the order is
// confirmed. Orders written as stock_reserved or payment_authorized by
// earlier versions are recovered as before.
//
// and the order's life after it:
//
//	confirmed → shipping → shipped → delivered     (shipping: capture running)
//	confirmed → cancelling → cancelled             (cancelling: release + void running)
//	shipping → cancelling                          (the capture was declined for good)
//
// Each arrow is one conditional UPDATE on the version read; shipped and
// delivered also move to themselves (a shipment added, a return, a refund).

// transitions lists the statuses each status may move to.
var transitions = map[orderapi.Status][]orderapi.Status{
	orderapi.StatusPending:           {orderapi.StatusConfirmed, orderapi.StatusCancelled},
	orderapi.StatusStockReserved:     {orderapi.StatusPaymentAuthorized, orderapi.StatusCancelled},
	orderapi.StatusPaymentAuthorized: {orderapi.StatusConfirmed, orderapi.StatusCancelled},
	orderapi.StatusConfirmed:         {orderapi.StatusShipping, orderapi.StatusCancelling},
	orderapi.StatusShipping:          {orderapi.StatusShipped, orderapi.StatusCancelling},
	orderapi.StatusShipped:           {orderapi.StatusShipped, orderapi.StatusDelivered},
	orderapi.StatusDelivered:         {orderapi.StatusDelivered},
	orderapi.StatusCancelling:        {orderapi.StatusCancelled},
}

// canMove reports whether an order may go from one status to another.
func canMove(from, to orderapi.Status) bool {
	return slices.Contains(transitions[from], to)
}

// inSaga reports whether the checkout saga of an order in st is unfinished.
func inSaga(st orderapi.Status) bool {
	switch st {
	case orderapi.StatusPending, orderapi.StatusStockReserved, orderapi.StatusPaymentAuthorized:
		return true
	}
	return false
}

// undo says which compensations a failure needs. Each is idempotent and
// finding nothing to undo is fine, so recovery runs them all.
type undo struct {
	release, redemption, void bool
}

var undoAll = undo{release: true, redemption: true, void: true}

// drive runs the saga of a pending order to its end. It runs on a context
// detached from the request's (with SagaTimeout): a client hanging up must
// not leave the saga half done.
func (s *Service) drive(ctx context.Context, rec record, pay orderapi.PaymentInput) (record, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SagaTimeout)
	defer cancel()
	id := rec.ID

	lines := make([]invLine, len(rec.Lines))
	for i, l := range rec.Lines {
		lines[i] = invLine{SKU: l.SKU, Quantity: l.Quantity}
	}
	_, err := s.deps.Inventory.Reserve(ctx, reserveRequest{OrderID: id, Lines: lines,
		TTLSeconds: int64(s.cfg.ReservationTTL / time.Second)})
	var oos *invOutOfStockError
	switch {
	case errors.As(err, &oos):
		return s.fail(ctx, rec, undo{}, orderapi.ReasonOutOfStock, oos.SKU, err)
	case err != nil:
		return s.fail(ctx, rec, undo{release: true}, orderapi.ReasonInterrupted, "", err)
	}
	steps := []orderapi.TimelineEntry{s.passed(orderapi.StatusStockReserved, "stock reserved")}
	s.crashPoint(crashAfterReserve)

	if rec.Coupon != "" {
		_, err := s.deps.Pricing.Redeem(ctx, pricingapi.RedeemRequest{OrderID: id, Coupon: rec.Coupon, Email: rec.Email})
		ae, isRefusal := apiclient.Refused(err)
		switch {
		case isRefusal:
			// Exhausted since the quote (or gone): the coupon can't be had.
			return s.fail(ctx, rec, undo{release: true, redemption: true}, orderapi.ReasonCouponExhausted, ae.Code, err)
		case err != nil:
			return s.fail(ctx, rec, undo{release: true, redemption: true}, orderapi.ReasonInterrupted, "", err)
		}
	}

	if rec.Total.Amount > 0 {
		p, err := s.deps.Payment.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: id, Amount: rec.Total,
			Provider: pay.Provider, Token: pay.Token, Email: rec.Email})
		var de *paymentapi.DeclinedError
		ae, isRefusal := apiclient.Refused(err)
		switch {
		case errors.As(err, &de):
			return s.fail(ctx, rec, undo{release: true, redemption: true}, orderapi.ReasonPaymentDeclined, de.Reason, err)
		case errors.Is(err, paymentapi.ErrTimeout):
			return s.fail(ctx, rec, undoAll, orderapi.ReasonPaymentTimeout, "", err)
		case isRefusal:
			// The payment service refused the request itself (a provider
			// it does not offer, say): to the customer, a declined payment.
			return s.fail(ctx, rec, undoAll, orderapi.ReasonPaymentDeclined, ae.Code, err)
		case err != nil:
			return s.fail(ctx, rec, undoAll, orderapi.ReasonInterrupted, "", err)
		case p.Status != paymentapi.StatusAuthorized:
			// Voided under us by a recovery pass that took the order over.
			return s.fail(ctx, rec, undoAll, orderapi.ReasonInterrupted, "", fmt.Errorf("payment is %s after authorize", p.Status))
		}
	}
	steps = append(steps, s.passed(orderapi.StatusPaymentAuthorized, "payment authorized"))
	s.crashPoint(crashAfterAuthorize)
	return s.confirm(ctx, rec, steps...)
}

// The crash points of the saga, where Service.crash is called: right after
// the stock was reserved, and right after the payment was authorized.
const (
	crashAfterReserve   = "reserve"
	crashAfterAuthorize = "authorize"
)

// crashPoint calls s.crash, when set, at a crash point: fault injection
// (see Service.crash).
func (s *Service) crashPoint(step string) {
	if s.crash != nil {
		s.crash(step)
	}
}

// passed is the timeline entry of a saga step that succeeded now; confirm
// writes them with the order.
func (s *Service) passed(st orderapi.Status, note string) orderapi.TimelineEntry {
	return orderapi.TimelineEntry{At: s.now().UTC().Truncate(time.Microsecond), Status: string(st), Note: note}
}

// settled waits for someone else's outcome of the saga and answers with it.
func (s *Service) settled(ctx context.Context, rec record) (record, error) {
	rec, err := s.await(ctx, rec)
	if err != nil {
		return record{}, err
	}
	if _, err := answer(rec); err != nil {
		return record{}, err
	}
	return rec, nil
}

// confirm commits the reservation and confirms an authorized order, with
// order.confirmed.v1 in the same transaction; steps are the timeline entries
// of the saga steps that led here, written with it. A reservation that
// expired meanwhile voids the payment and cancels the order instead.
func (s *Service) confirm(ctx context.Context, rec record, steps ...orderapi.TimelineEntry) (record, error) {
	_, err := s.deps.Inventory.Commit(ctx, rec.ID)
	switch {
	case errors.Is(err, errInvReservationClosed), errors.Is(err, errInvNotFound):
		return s.fail(ctx, rec, undo{void: true, redemption: true}, orderapi.ReasonReservationExpired, "", err)
	case err != nil:
		// Left authorized: recovery commits once the lease runs out.
		return record{}, fmt.Errorf("%w: commit reservation of order %s: %w", ErrUnavailable, rec.ID, err)
	}
	// The steps go before the confirmation in the timeline; rec is only
	// read by advance for its data (the guard is its version and status).
	rec.Timeline = append(slices.Clip(rec.Timeline), steps...)
	next, err := s.advance(ctx, rec, change{to: orderapi.StatusConfirmed, note: "order confirmed", event: orderapi.SubjectConfirmed})
	if errors.Is(err, errStale) {
		return s.settled(ctx, rec)
	}
	if err != nil {
		return record{}, err
	}
	s.log.DebugContext(ctx, "order confirmed", "tenant", rec.tenant, "order_id", rec.ID)
	return next, nil
}

// fail compensates and cancels the order with reason, and returns the
// checkout error for it. When a compensation fails the order is left as it
// is for recovery, which retries them all once the lease runs out.
func (s *Service) fail(ctx context.Context, rec record, u undo, reason, detail string, cause error) (record, error) {
	// Compensations and the cancel run on a context of their own: the
	// step that failed may have used up the saga's time (a provider
	// timeout), and undoing must not fail for that.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compensationTimeout)
	defer cancel()
	if reason == orderapi.ReasonInterrupted {
		s.log.WarnContext(ctx, "checkout step failed", "tenant", rec.tenant, "order_id", rec.ID, "status", rec.Status, "err", cause)
	}
	if err := s.compensate(ctx, rec, u, reason); err != nil {
		s.log.ErrorContext(ctx, "checkout compensation failed", "tenant", rec.tenant, "order_id", rec.ID, "err", err)
		return record{}, fmt.Errorf("%w: compensate order %s: %w", ErrUnavailable, rec.ID, err)
	}
	_, err := s.advance(ctx, rec, change{to: orderapi.StatusCancelled, note: reason, event: orderapi.SubjectCancelled,
		apply: func(r *record) { r.CancelReason, r.cancelDetail = reason, detail }})
	if errors.Is(err, errStale) {
		return s.settled(ctx, rec)
	}
	if err != nil {
		return record{}, err
	}
	return record{}, cancelError(reason, detail)
}

// compensationTimeout bounds the compensations and cancel of a failed
// checkout; what does not finish in it is left to recovery.
const compensationTimeout = 15 * time.Second

// compensate runs the compensations u asks for, all of them even when one
// fails.
func (s *Service) compensate(ctx context.Context, rec record, u undo, reason string) error {
	var errs []error
	// A compensation refused for good (the provider declines to void an
	// authorization it no longer has, say) is logged and passed over:
	// repeating it would fail the same way on every recovery pass.
	if u.void {
		_, err := s.deps.Payment.Void(ctx, rec.ID)
		if err != nil && !errors.Is(err, paymentapi.ErrNotFound) && !s.refusedForGood(ctx, rec, "void payment", err) {
			errs = append(errs, fmt.Errorf("void payment: %w", err))
		}
	}
	if u.release {
		_, err := s.deps.Inventory.Release(ctx, rec.ID, reason)
		if err != nil && !errors.Is(err, errInvNotFound) && !errors.Is(err, errInvReservationClosed) &&
			!s.refusedForGood(ctx, rec, "release stock", err) {
			errs = append(errs, fmt.Errorf("release stock: %w", err))
		}
	}
	if u.redemption && rec.Coupon != "" {
		if err := s.deps.Pricing.ReleaseRedemption(ctx, rec.ID); err != nil && !s.refusedForGood(ctx, rec, "release coupon", err) {
			errs = append(errs, fmt.Errorf("release coupon: %w", err))
		}
	}
	return errors.Join(errs...)
}

// await polls an order until its saga is over, for at most CheckoutWait;
// ErrInProgress after that.
func (s *Service) await(ctx context.Context, rec record) (record, error) {
	deadline := time.Now().Add(s.cfg.CheckoutWait)
	delay := 5 * time.Millisecond
	for inSaga(rec.Status) {
		if time.Now().After(deadline) {
			return record{}, ErrInProgress
		}
		select {
		case <-ctx.Done():
			return record{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
		var err error
		if rec, err = s.store.get(ctx, rec.tenant, rec.ID); err != nil {
			return record{}, err
		}
	}
	return rec, nil
}

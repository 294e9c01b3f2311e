package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// recoveryBatch bounds the orders one recovery pass takes on.
const recoveryBatch = 100

// Start subscribes the consumers (see subscribe), then runs one recovery
// pass before the service serves: sagas a crashed process left unfinished
// are finished (or, where another service does not answer yet, left for
// Run's next pass).
func (s *Service) Start(ctx context.Context) error {
	if err := s.subscribe(ctx); err != nil {
		return err
	}
	if _, err := s.Recover(ctx); err != nil {
		s.consumers.Stop()
		return err
	}
	return nil
}

// Run repeats the recovery pass every RecoveryInterval until ctx is done,
// then stops the consumers.
func (s *Service) Run(ctx context.Context) error {
	defer s.consumers.Stop()
	t := time.NewTicker(s.cfg.RecoveryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Recover(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "order recovery", "err", err)
			}
		}
	}
}

// Recover finishes unfinished orders, of every tenant, untouched for longer
// than SagaLease: pending ones whose payment was authorized, and
// payment_authorized ones, are committed and confirmed; other pending ones
// and stock_reserved ones are compensated and cancelled (interrupted);
// shipping ones captured, cancelling ones compensated. Each is claimed
// first with a conditional UPDATE, so two replicas never work on one order,
// and a claim renews the lease. Returns left receiving as long (staff
// received them, the restock or refund did not finish) are settled as
// decided. It returns how many orders and returns it finished; a failure
// of another service leaves that one for a later pass and is only logged.
func (s *Service) Recover(ctx context.Context) (int, error) {
	now := s.now()
	before := now.Add(-s.cfg.SagaLease)
	rows, err := s.store.stale(ctx, before, recoveryBatch)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, row := range rows {
		if ctx.Err() != nil {
			return done, nil
		}
		// Found across tenants; worked on as the order's tenant. The claim
		// renews the lease from now, not from the start of the pass, which
		// may have spent long on the orders before this one.
		tctx := tenancy.WithID(ctx, row.TenantID)
		claimed := s.now()
		ok, err := s.store.claim(tctx, row, claimed, claimed.Add(-s.cfg.SagaLease))
		if err != nil {
			return done, err
		}
		if !ok {
			continue // someone else is at it
		}
		if err := s.finish(tctx, row.TenantID, row.ID); err != nil {
			s.log.WarnContext(tctx, "order recovery left order unfinished", "tenant", row.TenantID, "order_id", row.ID, "err", err)
			continue
		}
		done++
	}
	rets, err := s.store.staleReturns(ctx, before, recoveryBatch)
	if err != nil {
		return done, err
	}
	for _, r := range rets {
		if ctx.Err() != nil {
			return done, nil
		}
		tctx := tenancy.WithID(ctx, r.TenantID)
		finished, err := s.finishReturn(tctx, r.OrderID, r.ID)
		if err != nil {
			s.log.WarnContext(tctx, "order recovery left return unfinished", "tenant", r.TenantID, "order_id", r.OrderID, "return_id", r.ID, "err", err)
			continue
		}
		if finished {
			done++
		}
	}
	return done, nil
}

// finishReturn settles a return left receiving: its restock and refund
// were decided when staff received it and are idempotent on the return ID,
// so running them again (even beside a retry of the receipt) does each
// once. finished is false when the return was no longer receiving, or
// another writer got to the order first (the next pass looks again).
func (s *Service) finishReturn(ctx context.Context, orderID, returnID string) (finished bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SagaTimeout)
	defer cancel()
	rec, err := s.load(ctx, orderID)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(rec.Returns, func(r orderapi.Return) bool { return r.ID == returnID })
	if i < 0 || rec.Returns[i].Status != orderapi.ReturnReceiving {
		return false, nil
	}
	s.log.InfoContext(ctx, "order recovery", "tenant", rec.tenant, "order_id", orderID, "return_id", returnID, "status", rec.Returns[i].Status)
	_, err = s.settleReturn(ctx, rec, rec.Returns[i])
	var rd *RefundDeclinedError
	switch {
	case errors.Is(err, errStale):
		return false, nil
	case errors.As(err, &rd):
		return true, nil // parked as refund_declined, for staff: settled as far as it can be
	}
	return err == nil, err
}

// finish drives one claimed order to its end.
func (s *Service) finish(ctx context.Context, tenant, id string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SagaTimeout)
	defer cancel()
	rec, err := s.store.get(ctx, tenant, id)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "order recovery", "tenant", tenant, "order_id", id, "status", rec.Status)
	switch rec.Status {
	case orderapi.StatusPending:
		var authorized bool
		if authorized, err = s.authorized(ctx, rec); err != nil {
			return fmt.Errorf("finish order %s: %w", id, err)
		}
		if authorized {
			_, err = s.confirm(ctx, rec, s.passed(orderapi.StatusPaymentAuthorized, "payment authorized (found by recovery)"))
		} else {
			_, err = s.fail(ctx, rec, undoAll, orderapi.ReasonInterrupted, "", errors.New("saga interrupted"))
		}
	case orderapi.StatusStockReserved:
		_, err = s.fail(ctx, rec, undoAll, orderapi.ReasonInterrupted, "", errors.New("saga interrupted"))
	case orderapi.StatusPaymentAuthorized:
		_, err = s.confirm(ctx, rec)
	case orderapi.StatusShipping:
		_, err = s.capture(ctx, rec)
	case orderapi.StatusCancelling:
		_, err = s.cancelled(ctx, rec)
	default:
		return nil
	}
	if err == nil || isCheckoutFailure(err) || errors.Is(err, ErrCaptureFailed) {
		// Ended: a cancelled checkout or a refused capture is an ending too.
		return nil
	}
	return fmt.Errorf("finish order %s: %w", id, err)
}

// authorized reports whether the payment of a pending order was
// authorized: the saga's last step before the confirmation, taken only
// after stock was reserved and the coupon redeemed, so the order may go
// forward. An order with nothing to pay never has a payment, and is
// cancelled like any other interrupted one.
func (s *Service) authorized(ctx context.Context, rec record) (bool, error) {
	if rec.Total.Amount <= 0 {
		return false, nil
	}
	p, err := s.deps.Payment.Get(ctx, rec.ID)
	switch {
	case errors.Is(err, paymentapi.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up payment: %w", err)
	}
	return p.Status == paymentapi.StatusAuthorized, nil
}

// isCheckoutFailure reports whether err is the answer of a saga that ended
// cancelled.
func isCheckoutFailure(err error) bool {
	var oos *OutOfStockError
	var de *DeclinedError
	return errors.As(err, &oos) || errors.As(err, &de) || errors.Is(err, ErrPaymentTimeout) ||
		errors.Is(err, ErrCouponExhausted) || errors.Is(err, ErrReservationExpired) || errors.Is(err, ErrInterrupted)
}

package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// defaultCaptureKey is the key of a capture sent without one: one full
// capture per order.
const defaultCaptureKey = "capture"

// Capture captures in.Amount of the order's authorization: at most the
// authorized amount not yet captured (ErrCaptureExceeds). A repeat with the
// same key returns the first outcome, or resends a capture whose outcome
// was lost.
func (s *Service) Capture(ctx context.Context, orderID string, in paymentapi.CaptureRequest) (paymentapi.Payment, error) {
	if in.Key == "" {
		in.Key = defaultCaptureKey
	}
	p, err := s.ledgerOp(ctx, orderID, ledgerRequest{Kind: opCapture, Amount: in.Amount, CallerKey: in.Key})
	if err != nil {
		return p, fmt.Errorf("capture order %s: %w", orderID, err)
	}
	return p, nil
}

// Refund refunds in.Amount of the order's captured amount: any amount,
// shipping included, repeatedly, but never above what was captured and not
// yet refunded (ErrRefundExceedsCaptured, nothing written). A repeat with
// the same key returns the first refund instead of making a second.
func (s *Service) Refund(ctx context.Context, orderID string, in paymentapi.RefundRequest) (paymentapi.Payment, error) {
	if in.Key == "" {
		return paymentapi.Payment{}, fmt.Errorf("%w: a refund needs a key", ErrInvalid)
	}
	p, err := s.ledgerOp(ctx, orderID, ledgerRequest{Kind: opRefund, Amount: in.Amount, CallerKey: in.Key, Reason: in.Reason})
	if err != nil {
		return p, fmt.Errorf("refund order %s: %w", orderID, err)
	}
	return p, nil
}

// ledgerRequest is a capture or refund asked of ledgerOp.
type ledgerRequest struct {
	Kind   string // opCapture or opRefund
	Amount money.Money
	// CallerKey is the caller's idempotency key, Reason the refund's.
	CallerKey, Reason string
}

// ledgerOp runs a capture or refund: reserve the amount and write the
// operation as pending (one transaction), send it to the provider with its
// key, then record the outcome and the event (another). A definite refusal
// releases the reservation; an unknown outcome leaves the operation pending
// for a repeat with the same key to resend.
func (s *Service) ledgerOp(ctx context.Context, orderID string, req ledgerRequest) (paymentapi.Payment, error) {
	kind, amt, callerKey, reason := req.Kind, req.Amount, req.CallerKey, req.Reason
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return paymentapi.Payment{}, err
	}
	if amt.Amount <= 0 {
		return paymentapi.Payment{}, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	}
	key := providerKey(tenant, orderID, kind, callerKey)
	var (
		r    record
		op   operation
		send bool
	)
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *paymentdb.Queries) error {
		var err error
		if r, err = byOrder(ctx, q, tenant, orderID); err != nil {
			return err
		}
		existing, ok, err := getOp(ctx, q, tenant, r.ID, key)
		if err != nil {
			return err
		}
		if ok {
			if existing.Kind != kind || existing.Amount != amt.Amount || amt.Currency != r.Currency {
				return fmt.Errorf("%w: key %q", ErrKeyReused, callerKey)
			}
			op, send = existing, existing.Status == opPending
			return nil
		}
		next := r
		if kind == opCapture {
			next, err = r.reserveCapture(amt.Amount, amt.Currency)
		} else {
			next, err = r.reserveRefund(amt.Amount, amt.Currency)
		}
		if err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		if err := save(ctx, q, tenant, &next); err != nil {
			return err
		}
		op = operation{TenantID: tenant, ID: kit.NewID(), PaymentID: r.ID, Kind: kind, Amount: amt.Amount, IdemKey: key,
			CallerKey: callerKey, Reason: reason, Status: opPending, CreatedAt: sqldb.Micros(s.now())}
		r, send = next, true
		return insertOp(ctx, q, op) // releaseOp deletes the row by op.ID
	})
	if err != nil {
		return paymentapi.Payment{}, err
	}
	if !send {
		return s.view(ctx, tenant, r)
	}
	prov, err := s.provider(r.Provider)
	if err != nil {
		return paymentapi.Payment{}, err
	}
	pctx, cancel := s.providerCtx(ctx)
	var ref string
	if kind == opCapture {
		err = prov.Capture(pctx, r.ProviderRef, amt, key)
	} else {
		var rr RefundRef
		rr, err = prov.Refund(pctx, r.ProviderRef, amt, key)
		ref = string(rr)
	}
	if err != nil && !isDecline(err) && !errors.Is(err, ErrTimeout) && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	cancel()
	switch {
	case err == nil:
		return s.recordOp(ctx, orderID, op, ref, func(r record) (record, string) {
			if kind == opCapture {
				return r.confirmCapture(amt.Amount), paymentapi.SubjectCaptured
			}
			r.derive()
			return r, paymentapi.SubjectRefunded
		})
	case isDecline(err):
		p, rerr := s.releaseOp(ctx, tenant, orderID, op, func(r record) record {
			if kind == opCapture {
				return r.releaseCapture(amt.Amount)
			}
			return r.releaseRefund(amt.Amount)
		})
		if rerr != nil {
			return p, rerr
		}
		return p, err
	default:
		s.log.WarnContext(ctx, "provider outcome unknown", "tenant", tenant, "order_id", orderID, "op", kind, "err", err)
		if errors.Is(err, ErrTimeout) {
			return paymentapi.Payment{}, err
		}
		return paymentapi.Payment{}, fmt.Errorf("%w: %w", ErrProvider, err)
	}
}

// recordOp records a pending operation the provider confirmed (with its
// reference ref) on the payment of orderID in op's tenant: apply changes
// the payment, the event of subject announces it. An operation a
// concurrent resender recorded first is left as it is.
func (s *Service) recordOp(ctx context.Context, orderID string, op operation, ref string, apply func(record) (record, string)) (paymentapi.Payment, error) {
	tenant := op.TenantID
	ctx, cancel := detached(ctx)
	defer cancel()
	var p paymentapi.Payment
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error {
		r, err := byOrder(ctx, q, tenant, orderID)
		if err != nil {
			return err
		}
		// op.Reason is the row's (both callers hold the row as written).
		done, err := finishOp(ctx, q, opResult{Tenant: tenant, PaymentID: r.ID, Kind: op.Kind, Key: op.IdemKey,
			Status: opSucceeded, Ref: ref, Reason: op.Reason, At: s.now()})
		if err != nil {
			return err
		}
		if !done {
			p, err = view(ctx, q, tenant, r)
			return err
		}
		r, subject := apply(r)
		r.UpdatedAt = s.now()
		if err := save(ctx, q, tenant, &r); err != nil {
			return err
		}
		rs, err := refunds(ctx, q, tenant, r)
		if err != nil {
			return err
		}
		p = r.payment(rs)
		return addEvent(ctx, tx, subject, r, rs, op.Amount)
	})
	if err != nil {
		return p, fmt.Errorf("record %s: %w", op.Kind, err)
	}
	return p, nil
}

// releaseOp undoes the reservation of an operation the provider refused
// and deletes it, so the key may be used again.
func (s *Service) releaseOp(ctx context.Context, tenant, orderID string, op operation, undo func(record) record) (paymentapi.Payment, error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	var p paymentapi.Payment
	err := s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *paymentdb.Queries) error {
		r, err := byOrder(ctx, q, tenant, orderID)
		if err != nil {
			return err
		}
		n, err := q.DeleteOperation(ctx, paymentdb.DeleteOperationParams{TenantID: tenant, ID: op.ID})
		if err != nil {
			return fmt.Errorf("delete %s operation: %w", op.Kind, err)
		}
		if n == 1 {
			r = undo(r)
			r.UpdatedAt = s.now()
			if err := save(ctx, q, tenant, &r); err != nil {
				return err
			}
		}
		p, err = view(ctx, q, tenant, r)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("release %s: %w", op.Kind, err)
	}
	return p, nil
}

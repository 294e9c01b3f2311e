package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
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
	p, err := s.ledgerOp(ctx, orderID, opCapture, in.Amount, in.Key, "")
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
	p, err := s.ledgerOp(ctx, orderID, opRefund, in.Amount, in.Key, in.Reason)
	if err != nil {
		return p, fmt.Errorf("refund order %s: %w", orderID, err)
	}
	return p, nil
}

// ledgerOp runs a capture or refund: reserve the amount and write the
// operation as pending (one transaction), send it to the provider with its
// key, then record the outcome and the event (another). A definite refusal
// releases the reservation; an unknown outcome leaves the operation pending
// for a repeat with the same key to resend.
func (s *Service) ledgerOp(ctx context.Context, orderID, kind string, amt money.Money, callerKey, reason string) (paymentapi.Payment, error) {
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
		op = operation{TenantID: tenant, ID: s.newID(), PaymentID: r.ID, Kind: kind, Amount: amt.Amount, IdemKey: key,
			CallerKey: callerKey, Reason: reason, Status: opPending, CreatedAt: micros(s.now())}
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
		return s.recordOp(ctx, tenant, orderID, op, ref, func(r record) (record, string) {
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

// recordOp records a pending operation the provider confirmed: apply
// changes the payment, the event of subject announces it. An operation a
// concurrent resender recorded first is left as it is.
func (s *Service) recordOp(ctx context.Context, tenant, orderID string, op operation, ref string, apply func(record) (record, string)) (paymentapi.Payment, error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	var p paymentapi.Payment
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error {
		r, err := byOrder(ctx, q, tenant, orderID)
		if err != nil {
			return err
		}
		// op.Reason is the row's (both callers hold the row as written).
		done, err := finishOp(ctx, q, tenant, r.ID, op.Kind, op.IdemKey, opSucceeded, ref, op.Reason, s.now())
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

// Void releases the order's authorization. It is idempotent: a voided or
// failed payment is returned unchanged. A pending payment is voided at
// once, winning over its authorization in flight (which then voids at the
// provider what it gets). Only an authorization with nothing captured can
// be voided (ErrInvalidState).
func (s *Service) Void(ctx context.Context, orderID string) (paymentapi.Payment, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return paymentapi.Payment{}, err
	}
	key := providerKey(tenant, orderID, opVoid, "")
	var (
		r       record
		op      operation
		send    bool
		missing bool // no payment yet: marked voided
	)
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error {
		var err error
		r, err = byOrder(ctx, q, tenant, orderID)
		if missing = errors.Is(err, ErrNotFound); missing {
			// Nothing to void yet, but an Authorize the order gave up on
			// may still arrive: the mark makes it refuse.
			return q.InsertVoidedOrder(ctx, paymentdb.InsertVoidedOrderParams{TenantID: tenant, OrderID: orderID, CreatedAt: micros(s.now())})
		}
		if err != nil {
			return err
		}
		switch r.Status {
		case paymentapi.StatusPending:
			r.Status, r.FailureCode, r.UpdatedAt = paymentapi.StatusVoided, failureVoided, s.now()
			if err := save(ctx, q, tenant, &r); err != nil {
				return err
			}
			return addEvent(ctx, tx, paymentapi.SubjectVoided, r, nil, r.Amount)
		case paymentapi.StatusFailed:
			return nil
		case paymentapi.StatusVoided:
			existing, ok, err := getOp(ctx, q, tenant, r.ID, key)
			op, send = existing, ok && existing.Status == opPending
			return err
		}
		if err := r.voidable(); err != nil {
			return err
		}
		r.Status, r.UpdatedAt = paymentapi.StatusVoided, s.now()
		if err := save(ctx, q, tenant, &r); err != nil {
			return err
		}
		op = operation{TenantID: tenant, ID: s.newID(), PaymentID: r.ID, Kind: opVoid, Amount: r.Amount, IdemKey: key,
			Status: opPending, CreatedAt: micros(s.now())}
		send = true
		return insertOp(ctx, q, op)
	})
	if err != nil {
		return paymentapi.Payment{}, fmt.Errorf("void order %s: %w", orderID, err)
	}
	if missing {
		return paymentapi.Payment{}, fmt.Errorf("void order %s: %w", orderID, ErrNotFound)
	}
	if !send {
		if s.stale(r) {
			if r2, err := s.abandon(ctx, tenant, r); err != nil {
				s.log.WarnContext(ctx, "settle open authorization", "tenant", tenant, "order_id", orderID, "err", err)
			} else {
				r = r2
			}
		}
		return s.view(ctx, tenant, r)
	}
	prov, err := s.provider(r.Provider)
	if err != nil {
		return paymentapi.Payment{}, err
	}
	pctx, cancel := s.providerCtx(ctx)
	err = prov.Void(pctx, r.ProviderRef, key)
	if err != nil && !isDecline(err) && !errors.Is(err, ErrTimeout) && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	cancel()
	switch {
	case err == nil:
		return s.recordOp(ctx, tenant, orderID, op, r.ProviderRef, func(r record) (record, string) {
			return r, paymentapi.SubjectVoided
		})
	case isDecline(err):
		p, rerr := s.releaseOp(ctx, tenant, orderID, op, func(r record) record {
			r.Status = paymentapi.StatusAuthorized
			return r
		})
		if rerr != nil {
			return p, rerr
		}
		return p, fmt.Errorf("void order %s: %w", orderID, err)
	default:
		s.log.WarnContext(ctx, "provider outcome unknown", "tenant", tenant, "order_id", orderID, "op", opVoid, "err", err)
		if errors.Is(err, ErrTimeout) {
			return paymentapi.Payment{}, err
		}
		return paymentapi.Payment{}, fmt.Errorf("%w: %w", ErrProvider, err)
	}
}

// Get returns the order's payment, settling first an authorization left
// open past the lease.
func (s *Service) Get(ctx context.Context, orderID string) (paymentapi.Payment, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return paymentapi.Payment{}, err
	}
	r, p, err := s.readView(ctx, tenant, orderID)
	if err != nil || !s.stale(r) {
		return p, err
	}
	if r2, err := s.abandon(ctx, tenant, r); err != nil {
		s.log.WarnContext(ctx, "settle open authorization", "tenant", tenant, "order_id", orderID, "err", err)
	} else {
		r = r2
	}
	return s.view(ctx, tenant, r)
}

// ListQuery pages the admin list of payments.
type ListQuery struct {
	Status paymentapi.Status
	Cursor string
	Limit  int
}

// List returns a page of the tenant's payments, newest first.
func (s *Service) List(ctx context.Context, lq ListQuery) (paymentapi.PaymentList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return paymentapi.PaymentList{}, err
	}
	after := firstCursor
	if lq.Cursor != "" {
		if after, err = decodeCursor(lq.Cursor); err != nil {
			return paymentapi.PaymentList{}, err
		}
	}
	n := web.PageSize(lq.Limit, pageSize, maxPageSize)
	var out paymentapi.PaymentList
	// The page and its refunds from one snapshot.
	err = s.store.readTx(ctx, func(q *paymentdb.Queries) error {
		rows, err := q.ListPayments(ctx, paymentdb.ListPaymentsParams{
			TenantID: tenant, Status: string(lq.Status), AfterKey: after.at, AfterID: after.id, PageLimit: int64(n + 1),
		})
		if err != nil {
			return fmt.Errorf("list payments: %w", err)
		}
		out = paymentapi.PaymentList{Items: make([]paymentapi.Payment, 0, min(len(rows), n))}
		for i, row := range rows {
			if i == n {
				last := rows[n-1]
				out.NextCursor = cursor{at: last.CreatedAt, id: last.ID}.encode()
				break
			}
			p, err := view(ctx, q, tenant, toRecord(row))
			if err != nil {
				return err
			}
			out.Items = append(out.Items, p)
		}
		return nil
	})
	if err != nil {
		return paymentapi.PaymentList{}, err
	}
	return out, nil
}

// Audit counts the tenant's payments needing attention.
func (s *Service) Audit(ctx context.Context) (paymentapi.Audit, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return paymentapi.Audit{}, err
	}
	a, err := readOne(ctx, s.store, func(q *paymentdb.Queries) (paymentdb.AuditPaymentsRow, error) {
		return q.AuditPayments(ctx, tenant)
	})
	if err != nil {
		return paymentapi.Audit{}, fmt.Errorf("audit payments: %w", err)
	}
	return paymentapi.Audit{AuthorizedWithoutCaptureOrVoid: a.AuthorizedOpen, Pending: a.Pending, InvariantViolations: a.Violations}, nil
}

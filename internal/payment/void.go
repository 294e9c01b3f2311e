package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

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
			return q.InsertVoidedOrder(ctx, paymentdb.InsertVoidedOrderParams{TenantID: tenant, OrderID: orderID, CreatedAt: sqldb.Micros(s.now())})
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
		op = operation{TenantID: tenant, ID: kit.NewID(), PaymentID: r.ID, Kind: opVoid, Amount: r.Amount, IdemKey: key,
			Status: opPending, CreatedAt: sqldb.Micros(s.now())}
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
		return s.recordOp(ctx, orderID, op, r.ProviderRef, func(r record) (record, string) {
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

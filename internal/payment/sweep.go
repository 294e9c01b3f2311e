package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Start settles the authorizations left open by a process that died, before
// requests are served.
func (s *Service) Start(ctx context.Context) error {
	if _, err := s.Sweep(ctx); err != nil {
		// Not fatal: a provider down at start must not keep the service
		// down; the periodic sweep tries again.
		s.log.WarnContext(ctx, "sweep open authorizations", "err", err)
	}
	return nil
}

// Run sweeps open authorizations every half lease until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PendingLease / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "sweep open authorizations", "err", err)
			}
		}
	}
}

// stale reports whether r's authorization has been open past the lease.
func (s *Service) stale(r record) bool {
	return r.AuthOpen && r.CreatedAt.Before(s.now().Add(-s.cfg.PendingLease))
}

// abandon settles a stale open authorization: a pending payment is failed
// first (so an authorizer that is only slow, not dead, voids what it gets),
// then the authorization is replayed with its key and voided.
func (s *Service) abandon(ctx context.Context, tenant string, r record) (record, error) {
	if r.Status == paymentapi.StatusPending {
		if _, err := s.recordAuthFailed(ctx, tenant, r.OrderID, paymentapi.FailureAbandoned, false); err != nil {
			return r, err
		}
	}
	prov, err := s.provider(r.Provider)
	if err != nil {
		return r, err
	}
	req := AuthRequest{Amount: money.Money{Amount: r.Amount, Currency: r.Currency}, Token: r.AuthToken, Email: r.AuthEmail,
		IdempotencyKey: providerKey(tenant, r.OrderID, opAuthorize, ""), OrderID: r.OrderID}
	res, err := s.callAuthorize(ctx, prov, req)
	var decl *DeclineError
	switch {
	case err == nil:
		_, err = s.voidOpen(ctx, prov, unwanted{Tenant: tenant, OrderID: r.OrderID, Ref: res.Ref, Code: paymentapi.FailureAbandoned})
	case errors.As(err, &decl):
		_, err = s.recordAuthFailed(ctx, tenant, r.OrderID, decl.Reason, true)
	default:
		err = fmt.Errorf("settle open authorization of order %s: %w", r.OrderID, err)
	}
	if err != nil {
		return r, err
	}
	return s.readByOrder(ctx, tenant, r.OrderID)
}

// voidMarkRetention is how long the mark of a void that came before any
// authorization (voided_orders) is kept: the Authorize it refuses was sent
// before the order gave up, so it arrives within the caller's timeouts and
// retries, minutes at most.
const voidMarkRetention = 7 * 24 * time.Hour

// Sweep settles every tenant's authorizations open past the lease (their
// caller died): see abandon. It returns how many it settled. The list spans
// tenants (sqldb.AllTenants); each payment is settled as its tenant. It
// also drops the void marks past voidMarkRetention.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	all := sqldb.AllTenants(ctx)
	rows, err := kit.ReadOne(all, s.store, func(q *paymentdb.Queries) ([]paymentdb.ListOpenAuthorizationsRow, error) {
		return q.ListOpenAuthorizations(all, sqldb.Micros(s.now().Add(-s.cfg.PendingLease)))
	})
	if err != nil {
		return 0, fmt.Errorf("list open authorizations: %w", err)
	}
	n := 0
	var errs []error
	for _, row := range rows {
		tctx := tenancy.WithID(ctx, row.TenantID)
		r, err := s.readByOrder(tctx, row.TenantID, row.OrderID)
		if err == nil && s.stale(r) {
			_, err = s.abandon(tctx, row.TenantID, r)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	err = s.store.Write(all, func(ctx context.Context, _ *sql.Tx, q *paymentdb.Queries) error {
		_, err := q.PurgeVoidedOrders(ctx, sqldb.Micros(s.now().Add(-voidMarkRetention)))
		return err
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("purge void marks: %w", err))
	}
	return n, errors.Join(errs...)
}

package payment

import (
	"context"
	"fmt"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

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
		if after, err = kit.ParseCursor(lq.Cursor); err != nil {
			return paymentapi.PaymentList{}, err
		}
	}
	n := web.PageSize(lq.Limit, pageSize, maxPageSize)
	var out paymentapi.PaymentList
	// The page and its refunds from one snapshot.
	err = s.store.Read(ctx, func(q *paymentdb.Queries) error {
		rows, err := q.ListPayments(ctx, paymentdb.ListPaymentsParams{
			TenantID: tenant, Status: string(lq.Status), AfterKey: after.At, AfterID: after.ID, PageLimit: int64(n + 1),
		})
		if err != nil {
			return fmt.Errorf("list payments: %w", err)
		}
		out = paymentapi.PaymentList{Items: make([]paymentapi.Payment, 0, min(len(rows), n))}
		for i, row := range rows {
			if i == n {
				last := rows[n-1]
				out.NextCursor = kit.Cursor{At: last.CreatedAt, ID: last.ID}.String()
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
	a, err := kit.ReadOne(ctx, s.store, func(q *paymentdb.Queries) (paymentdb.AuditPaymentsRow, error) {
		return q.AuditPayments(ctx, tenant)
	})
	if err != nil {
		return paymentapi.Audit{}, fmt.Errorf("audit payments: %w", err)
	}
	return paymentapi.Audit{AuthorizedWithoutCaptureOrVoid: a.AuthorizedOpen, Pending: a.Pending, InvariantViolations: a.Violations}, nil
}

// view returns r with its refunds, read in a read transaction; one with
// nothing refunded needs no transaction (see refunds).
func (s *Service) view(ctx context.Context, tenant string, r record) (paymentapi.Payment, error) {
	if !r.mayHaveRefunds() {
		return r.payment(nil), nil
	}
	return kit.ReadOne(ctx, s.store, func(q *paymentdb.Queries) (paymentapi.Payment, error) {
		return view(ctx, q, tenant, r)
	})
}

// readView loads the order's payment and its view from one snapshot: one
// read transaction where readByOrder and view would take two.
func (s *Service) readView(ctx context.Context, tenant, orderID string) (record, paymentapi.Payment, error) {
	var (
		r record
		p paymentapi.Payment
	)
	err := s.store.Read(ctx, func(q *paymentdb.Queries) error {
		var err error
		if r, err = byOrder(ctx, q, tenant, orderID); err != nil {
			return err
		}
		p, err = view(ctx, q, tenant, r)
		return err
	})
	return r, p, err
}

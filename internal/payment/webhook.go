package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// errNoWebhookProvider is a webhook for a provider not configured here.
var errNoWebhookProvider = errors.New("payment: no such webhook provider")

// HandleWebhook verifies and applies a provider's webhook. Events are
// recorded by the provider's event ID, so a redelivery has no second
// effect. A refund made at the provider (its dashboard) raises the
// payment's refunded amount to the provider's total, within what was
// captured; a cancellation there voids an uncaptured authorization.
func (s *Service) HandleWebhook(ctx context.Context, providerName string, payload []byte, header http.Header) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	prov, ok := s.providers[providerName]
	if !ok {
		return errNoWebhookProvider
	}
	ev, err := prov.VerifyWebhook(payload, header)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error {
		var r record
		found := false
		if ev.Ref != "" {
			row, err := q.GetPaymentByRef(ctx, paymentdb.GetPaymentByRefParams{TenantID: tenant, Provider: providerName, ProviderRef: ev.Ref})
			switch {
			case err == nil:
				r, found = toRecord(row), true
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("load payment of %s: %w", ev.Ref, err)
			}
		}
		n, err := q.InsertWebhookEvent(ctx, paymentdb.InsertWebhookEventParams{
			TenantID: tenant, Provider: providerName, EventID: ev.ID, EventType: ev.Type, PaymentID: r.ID, ReceivedAt: sqldb.Micros(s.now()),
		})
		if err != nil {
			return fmt.Errorf("record webhook event: %w", err)
		}
		if n == 0 || !found {
			return nil // seen before, or about no payment of ours
		}
		key := "webhook-" + providerName + "-" + ev.ID
		switch ev.Kind {
		case EventRefunded:
			delta := ev.RefundedTotal - r.Refunded
			if delta <= 0 {
				return nil // our own refunds, already counted
			}
			next, err := r.reserveRefund(delta, r.Currency)
			if err != nil {
				s.log.WarnContext(ctx, "provider refund not applicable", "tenant", tenant, "order_id", r.OrderID, "event_id", ev.ID, "err", err)
				return nil
			}
			next.UpdatedAt = s.now()
			if err := save(ctx, q, tenant, &next); err != nil {
				return err
			}
			if err := s.addOp(ctx, q, next, operation{TenantID: tenant, Kind: opRefund, Amount: delta, IdemKey: key, CallerKey: key,
				Reason: "refunded at the provider", Status: opSucceeded}); err != nil {
				return err
			}
			rs, err := refunds(ctx, q, tenant, next)
			if err != nil {
				return err
			}
			return addProviderEvent(ctx, tx, paymentapi.SubjectRefunded, next, rs, delta, paymentapi.ReasonRefundedAtProvider, ev.ID)
		case EventVoided:
			if r.voidable() != nil {
				return nil
			}
			r.Status, r.UpdatedAt = paymentapi.StatusVoided, s.now()
			if err := save(ctx, q, tenant, &r); err != nil {
				return err
			}
			if err := s.addOp(ctx, q, r, operation{TenantID: tenant, Kind: opVoid, Amount: r.Amount, IdemKey: key, CallerKey: key,
				Reason: "voided at the provider", ProviderRef: r.ProviderRef, Status: opSucceeded}); err != nil {
				return err
			}
			// The order was confirmed with this authorization: the event
			// says the provider voided it, so the order can react.
			return addProviderEvent(ctx, tx, paymentapi.SubjectVoided, r, nil, r.Amount, paymentapi.ReasonVoidedAtProvider, ev.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("handle %s webhook %s: %w", providerName, ev.ID, err)
	}
	return nil
}

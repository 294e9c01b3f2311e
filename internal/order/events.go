package order

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// groupCustomers is the consumer group of identity's customer events.
const groupCustomers = "order-customers"

// groupPayments is the consumer group of payment's events.
const groupPayments = "order-payments"

// paymentAttempts bounds the deliveries of a payment event: one about an
// order whose checkout is still running is retried until the checkout
// has ended (at most SagaTimeout, or recovery's lease after a crash), and
// the default backoff reaches 30 s between attempts.
const paymentAttempts = 30

// errSagaRunning asks for a payment event to be delivered again: its order
// is still in its checkout, whose outcome decides what the event means.
var errSagaRunning = errors.New("order: checkout still running; the payment event is retried")

// subscribe starts the consumers: identity's email verifications, which
// claim guest orders, and payment's voids, failures and refunds, which a change
// the provider made must not leave unseen by the order. It runs in Start,
// before the demo seed and before requests,
// so no verification is missed: a new consumer group only sees messages
// published after it subscribed. Without a bus (tests) there is nothing to
// subscribe to. The consumer stops when Run ends.
func (s *Service) subscribe(ctx context.Context) error {
	if s.deps.Bus == nil {
		return nil
	}
	// The consumer outlives Start's context: Run stops it.
	ctx = context.WithoutCancel(ctx)
	c, err := outbox.Consume(ctx, s.deps.Bus, s.store.DB(), bus.Subscription{
		Group:    groupCustomers,
		Subjects: []string{identityapi.SubjectCustomerEmailVerified},
	}, s.now, s.handleCustomerEmailVerified)
	if err != nil {
		return fmt.Errorf("order: subscribe to customer email verifications: %w", err)
	}
	s.consumers.Add(c)
	p, err := outbox.Consume(ctx, finishing{s.deps.Bus, s.finishPaymentEvent}, s.store.DB(), bus.Subscription{
		Group:       groupPayments,
		Subjects:    []string{paymentapi.SubjectVoided, paymentapi.SubjectFailed, paymentapi.SubjectRefunded},
		MaxAttempts: paymentAttempts,
	}, s.now, s.handlePaymentEvent)
	if err != nil {
		s.consumers.Stop()
		return fmt.Errorf("order: subscribe to payment events: %w", err)
	}
	s.consumers.Add(p)
	return nil
}

// finishing is a bus whose handlers, once they succeeded (outbox.Consume's
// transaction committed), run after on the same message; after's error has
// the message delivered again.
type finishing struct {
	bus.Bus
	after func(ctx context.Context, m bus.Message) error
}

func (b finishing) Subscribe(ctx context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	return b.Bus.Subscribe(ctx, sub, func(ctx context.Context, m bus.Message) error {
		if err := h(ctx, m); err != nil {
			return err
		}
		return b.after(ctx, m)
	})
}

// handlePaymentEvent makes a payment the provider voided or failed reach
// its order, in the transaction that records the event in the inbox. A
// confirmed order can no longer be paid: it is claimed for cancelling
// (reason payment_voided, why in its timeline), and finishPaymentEvent then
// gives its stock back and releases its coupon. An order whose checkout is
// still running is looked at again later (errSagaRunning), since the void
// may be the checkout's own compensation or may race its confirmation;
// payment.failed.v1 is only ever about an authorization that never
// succeeded, which the checkout learns from its own call. Orders past
// confirmed are left alone: cancelling and cancelled ones void the payment
// themselves, a shipping one learns it from its capture, and a shipped one
// was captured, which no void undoes. A refund made at the provider
// reaches a shipped order through providerRefund.
func (s *Service) handlePaymentEvent(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	var pe paymentapi.PaymentEvent
	if err := json.Unmarshal(e.Data, &pe); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	p := pe.Payment
	if strings.TrimSpace(p.OrderID) == "" {
		return bus.Permanent(fmt.Errorf("decode %s %s: payment without order_id", e.Type, e.ID))
	}
	refund := e.Type == paymentapi.SubjectRefunded
	if !refund && p.Status != paymentapi.StatusVoided && p.Status != paymentapi.StatusFailed {
		return nil
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	q := orderdb.New(tx) // the inbox's transaction, which outbox.Consume began
	rec, err := s.store.order(ctx, q, tenant, p.OrderID)
	if errors.Is(err, ErrNotFound) {
		return nil // a payment of no order of this store
	}
	if err != nil {
		return err
	}
	if refund {
		return s.providerRefund(ctx, tx, q, rec, pe)
	}
	switch {
	case inSaga(rec.Status):
		if e.Type == paymentapi.SubjectVoided {
			return errSagaRunning
		}
		return nil
	case rec.Status != orderapi.StatusConfirmed:
		return nil
	}
	why := cmp.Or(pe.Reason, p.FailureCode, string(p.Status))
	c := change{to: orderapi.StatusCancelling,
		note: "payment " + string(p.Status) + " by the payment provider (" + why + "): the order cannot be paid and is cancelled",
		apply: func(r *record) {
			r.CancelReason, r.cancelDetail = orderapi.ReasonPaymentVoided, why
		}}
	next, err := s.prepare(rec, c)
	if err != nil {
		return err
	}
	if err := applyChange(ctx, tx, q, rec, next, c); err != nil {
		return err
	}
	s.log.WarnContext(ctx, "payment voided at the provider; cancelling the order", "tenant", tenant, "order_id", rec.ID,
		"event_id", e.ID, "reason", why)
	return nil
}

// providerRefund records on a shipped or delivered order a refund made at
// the payment provider (its dashboard, told by its webhook: the event's
// reason is refunded_at_provider): the order's refunded amount rises to
// the payment's, with a timeline note and order.refunded.v1. Refunds the
// order asked for are recorded by the operation that made them, with its
// reason, and are skipped here; amounts only ever rise, so a refund
// recorded by either path is never counted twice.
func (s *Service) providerRefund(ctx context.Context, tx *sql.Tx, q *orderdb.Queries, rec record, pe paymentapi.PaymentEvent) error {
	p := pe.Payment
	if pe.Reason != paymentapi.ReasonRefundedAtProvider {
		return nil
	}
	if rec.Status != orderapi.StatusShipped && rec.Status != orderapi.StatusDelivered {
		return nil // nothing was captured; a refund can only follow a capture
	}
	if p.Refunded.Currency != rec.Currency || p.Refunded.Amount <= rec.Refunded.Amount {
		return nil
	}
	delta := money.Money{Amount: p.Refunded.Amount - rec.Refunded.Amount, Currency: rec.Currency}
	const reason = "refunded at the payment provider"
	c := change{to: rec.Status, note: reason + ": " + delta.String(), event: orderapi.SubjectRefunded,
		apply: func(r *record) {
			r.Captured.Amount = min(r.Total.Amount, max(r.Captured.Amount, p.Captured.Amount))
			r.Refunded.Amount = min(r.Captured.Amount, p.Refunded.Amount)
		},
		data: func(next record) any { return orderapi.Refunded{Order: public(next), Amount: delta, Reason: reason} }}
	next, err := s.prepare(rec, c)
	if err != nil {
		return err
	}
	return applyChange(ctx, tx, q, rec, next, c) // finishPaymentEvent wakes the relay once committed
}

// finishPaymentEvent wakes the outbox relay, and finishes the cancellation
// handlePaymentEvent claimed
// (or any cancellation of the event's order left unfinished): stock back,
// coupon released, the void repeated (a no-op on a voided payment). It is
// idempotent; a failure has the event delivered again, and recovery
// finishes the order after its lease in any case.
func (s *Service) finishPaymentEvent(ctx context.Context, m bus.Message) error {
	if s.deps.Relay != nil {
		s.deps.Relay.Notify() // for an order.refunded.v1 the handler may have written
	}
	e, err := outbox.Decode(m)
	if err != nil {
		return nil // handled (dead-lettered) by the handler already
	}
	var pe paymentapi.PaymentEvent
	if json.Unmarshal(e.Data, &pe) != nil || pe.Payment.OrderID == "" || e.Tenant == "" {
		return nil
	}
	ctx = tenancy.WithID(ctx, e.Tenant)
	rec, err := s.store.get(ctx, e.Tenant, pe.Payment.OrderID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Status != orderapi.StatusCancelling {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SagaTimeout)
	defer cancel()
	if _, err := s.cancelled(ctx, rec); err != nil && !errors.Is(err, errStale) {
		return fmt.Errorf("cancel order %s after its payment was voided: %w", rec.ID, err)
	}
	return nil
}

// handleCustomerEmailVerified gives a customer the store's guest orders
// placed with their email (compared lowercased, as identity keys
// accounts) once they have proved they own the address, in the
// transaction that records the event in the inbox. Registering alone
// claims nothing: anyone can register any address, only its owner can
// open the verification mail (docs/decisions/0026). Orders that belong to
// a customer already keep theirs. Events of another type (a registration
// still routed to the group by a broker's old binding) are skipped.
func (s *Service) handleCustomerEmailVerified(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	c, email, ok, err := identityapi.DecodeEmailVerified(e.Type, e.Data)
	if !ok {
		return nil
	}
	if err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	n, err := orderdb.New(tx).ClaimGuestOrders(ctx, orderdb.ClaimGuestOrdersParams{
		CustomerID: sql.NullString{String: c.CustomerID, Valid: true}, TenantID: tenant, EmailLower: email})
	if err != nil {
		return fmt.Errorf("claim guest orders of customer %s: %w", c.CustomerID, err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "guest orders claimed", "tenant", tenant, "customer_id", c.CustomerID, "count", n)
	}
	return nil
}

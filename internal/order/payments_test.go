package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/order/orderdb"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// paymentEvent is the message payment publishes for a change of an
// order's payment.
func paymentEvent(t *testing.T, tenant, subject string, p paymentapi.Payment, reason ...string) bus.Message {
	t.Helper()
	pe := paymentapi.PaymentEvent{Payment: p, Amount: p.Amount}
	if len(reason) > 0 {
		pe.Reason, pe.ProviderEventID = reason[0], "evt_"+reason[0]
	}
	e, err := outbox.NewEvent(ctxFor(t, tenant), paymentapi.Source, subject, time.Now(), pe)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return bus.Message{ID: e.ID, Subject: subject, Data: raw, Attempt: 1}
}

// TestPaymentVoidedAtTheProviderReachesTheOrder: a payment voided by the
// provider after the order was confirmed (a webhook) cancels the order,
// with its stock back and why in its timeline; a redelivery changes
// nothing; an order whose checkout is still running has the event tried
// again until the checkout has ended; orders past confirmation are left as
// they are.
func TestPaymentVoidedAtTheProviderReachesTheOrder(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		b := newFakeBus()
		w.svc.deps.Bus = b
		if err := w.svc.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := b.subs[groupPayments]; !slices.Contains(got, paymentapi.SubjectVoided) || !slices.Contains(got, paymentapi.SubjectFailed) {
			t.Fatalf("subscriptions: %v", b.subs)
		}
		deliver := func(m bus.Message) error { return b.handlers[groupPayments](t.Context(), m) }
		ctx := ctxFor(t, "default")
		voidAtProvider := func(id string) bus.Message {
			t.Helper()
			w.pay.mu.Lock()
			w.pay.pays[id].Status = paymentapi.StatusVoided
			p := *w.pay.pays[id]
			w.pay.mu.Unlock()
			return paymentEvent(t, "default", paymentapi.SubjectVoided, p, paymentapi.ReasonVoidedAtProvider)
		}

		before := w.inv.stock()["MUG-1"]
		o := placed(t, w, ctx, "voided-1")
		m := voidAtProvider(o.ID)
		if err := deliver(m); err != nil {
			t.Fatal(err)
		}
		got, err := w.svc.Order(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != orderapi.StatusCancelled || got.CancelReason != orderapi.ReasonPaymentVoided {
			t.Fatalf("order %s (%s), want cancelled payment_voided", got.Status, got.CancelReason)
		}
		if !timelineHas(got, "voided by the payment provider ("+paymentapi.ReasonVoidedAtProvider+")") {
			t.Errorf("the timeline does not say why: %+v", got.Timeline)
		}
		if after := w.inv.stock()["MUG-1"]; after != before {
			t.Errorf("stock %d, %d before the order", after, before)
		}
		if !slices.Contains(outboxSubjects(t, db), orderapi.SubjectCancelled) {
			t.Error("no order.cancelled.v1 for the cancellation")
		}
		if err := deliver(m); err != nil { // redelivered: nothing more happens
			t.Fatal(err)
		}
		if again, _ := w.svc.Order(ctx, o.ID); len(again.Timeline) != len(got.Timeline) {
			t.Errorf("the redelivery wrote to the order: %+v", again.Timeline)
		}

		// A checkout still running: the event waits for its outcome.
		held := placed(t, w, ctx, "voided-in-saga")
		rec, err := w.svc.store.get(ctx, "default", held.ID)
		if err != nil {
			t.Fatal(err)
		}
		pending := rec
		pending.Status = orderapi.StatusPending
		if err := w.svc.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries) error {
			return update(ctx, q, rec, pending)
		}); err != nil {
			t.Fatal(err)
		}
		m = voidAtProvider(held.ID)
		if err := deliver(m); !errors.Is(err, errSagaRunning) || bus.IsPermanent(err) {
			t.Fatalf("void during the checkout: %v, want a retry", err)
		}
		pending.version++
		if err := w.svc.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *orderdb.Queries) error {
			return update(ctx, q, pending, rec)
		}); err != nil {
			t.Fatal(err)
		}
		if err := deliver(m); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.svc.Order(ctx, held.ID); got.Status != orderapi.StatusCancelled || got.CancelReason != orderapi.ReasonPaymentVoided {
			t.Fatalf("after the checkout confirmed: %s (%s), want cancelled", got.Status, got.CancelReason)
		}

		// Shipped (captured): a stray void changes nothing.
		shipped := placed(t, w, ctx, "voided-shipped")
		if _, err := w.svc.Ship(ctx, shipped.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T9"}); err != nil {
			t.Fatal(err)
		}
		p, _ := w.pay.payment(shipped.ID)
		p.Status = paymentapi.StatusVoided
		if err := deliver(paymentEvent(t, "default", paymentapi.SubjectVoided, p)); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.svc.Order(ctx, shipped.ID); got.Status != orderapi.StatusShipped {
			t.Errorf("shipped order after a stray void: %s", got.Status)
		}

		// Another store's order of the same ID is not touched; a payment
		// without an order is dead-lettered.
		if err := deliver(paymentEvent(t, "acme", paymentapi.SubjectVoided, paymentapi.Payment{OrderID: o.ID, Status: paymentapi.StatusVoided})); err != nil {
			t.Fatal(err)
		}
		if err := deliver(paymentEvent(t, "default", paymentapi.SubjectVoided, paymentapi.Payment{Status: paymentapi.StatusVoided})); !bus.IsPermanent(err) {
			t.Errorf("payment without an order: %v, want permanent", err)
		}
	}, Migrations...)
}

// TestProviderRefundReachesTheOrder: a refund made at the provider (its
// dashboard, told by webhook) raises the shipped order's refunded amount,
// with a note and order.refunded.v1, once; the payment service's events of
// the order's own refunds are left to the operations that made them.
func TestProviderRefundReachesTheOrder(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		b := newFakeBus()
		w.svc.deps.Bus = b
		if err := w.svc.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		deliver := func(m bus.Message) error { return b.handlers[groupPayments](t.Context(), m) }
		ctx := ctxFor(t, "default")
		o := placed(t, w, ctx, "provider-refund")
		if _, err := w.svc.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}); err != nil {
			t.Fatal(err)
		}
		p, _ := w.pay.payment(o.ID)
		refunded := func(key string, total int64) paymentapi.Payment {
			q := p
			q.Refunded = eur(total)
			q.Refunds = append(slices.Clone(p.Refunds), paymentapi.Refund{ID: key, Amount: eur(total), Key: key})
			return q
		}

		// The order's own refund (no reason: asked for through the API):
		// recorded by Refund, not by the event.
		own := paymentEvent(t, "default", paymentapi.SubjectRefunded, refunded("refund-a", 300))
		if err := deliver(own); err != nil {
			t.Fatal(err)
		}
		if got, _ := w.svc.Order(ctx, o.ID); got.Refunded.Amount != 0 {
			t.Fatalf("the event of an own refund was recorded: refunded %v", got.Refunded)
		}

		events := len(outboxSubjects(t, db))
		m := paymentEvent(t, "default", paymentapi.SubjectRefunded, refunded("webhook-fake-evt_1", 500), paymentapi.ReasonRefundedAtProvider)
		for range 2 { // the redelivery changes nothing
			if err := deliver(m); err != nil {
				t.Fatal(err)
			}
		}
		got, err := w.svc.Order(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Refunded.Amount != 500 || got.TotalDue.Amount != 500 || !timelineHas(got, "refunded at the payment provider") {
			t.Fatalf("after a provider refund: refunded %v due %v, timeline %+v", got.Refunded, got.TotalDue, got.Timeline)
		}
		subjects := outboxSubjects(t, db)
		if len(subjects) != events+1 || subjects[len(subjects)-1] != orderapi.SubjectRefunded {
			t.Errorf("events %v, want one more order.refunded.v1", subjects)
		}
	}, Migrations...)
}

package review

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

// TestProjectionIsIdempotent: the same order event twice is applied once
// (the inbox); an older snapshot arriving after a newer one changes
// nothing; an undecodable one is dead-lettered at once.
func TestProjectionIsIdempotent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		ctx := tenantCtx(t, "default")
		o := order("o1", "c-1", t0, "MUG-1")
		confirmed, applied := f.feed("default", orderapi.SubjectConfirmed, o)
		if !applied {
			t.Fatal("first delivery not applied")
		}
		again, err := f.svc.HandleOrderEvent(t.Context(), confirmed)
		if err != nil || again {
			t.Errorf("second delivery of the same event: applied %v, %v; want not applied", again, err)
		}
		o.UpdatedAt = t0.Add(time.Hour)
		delivered, _ := f.feed("default", orderapi.SubjectDelivered, o)
		// A replay of the older confirmation (a new event ID, so past the
		// inbox) must not make the order undelivered.
		old := order("o1", "c-1", t0, "MUG-1")
		if _, applied := f.feed("default", orderapi.SubjectConfirmed, old); !applied {
			t.Error("replayed confirmation not handled")
		}
		if _, err := f.svc.Create(ctx, Buyer{CustomerID: "c-1"}, reviewapi.ReviewCreate{OrderID: "o1", SKU: "MUG-1", Rating: 5, Title: "ok"}); err != nil {
			t.Fatalf("review after delivery and a stale replay: %v", err)
		}
		if again, err := f.svc.HandleOrderEvent(t.Context(), delivered); err != nil || again {
			t.Errorf("redelivered delivery: applied %v, %v", again, err)
		}
		bad, err := outbox.NewEvent(ctx, orderapi.Source, orderapi.SubjectDelivered, t0, "not an order")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.HandleOrderEvent(t.Context(), bad); !bus.IsPermanent(err) {
			t.Errorf("bad payload: %v, want permanent", err)
		}
	}, Migrations...)
}

// fakeBus keeps the handlers subscribed to it, by group, for a test to
// deliver to.
type fakeBus struct {
	subs    map[string]bus.Subscription
	h       map[string]bus.Handler
	stopped int
}

func (b *fakeBus) Subscribe(_ context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	if err := sub.Validate(); err != nil {
		return nil, err
	}
	b.subs[sub.Group], b.h[sub.Group] = sub, h
	return stopFunc(func() { b.stopped++ }), nil
}
func (b *fakeBus) Publish(context.Context, ...bus.Message) error { return nil }
func (b *fakeBus) DeadLetters(context.Context, string, int) ([]bus.DeadLetter, error) {
	return nil, nil
}
func (b *fakeBus) Replay(context.Context, string, ...string) (int, error) { return 0, nil }
func (b *fakeBus) Close() error                                           { return nil }

type stopFunc func()

func (f stopFunc) Stop() { f() }

// TestConsumerThroughBus runs Start's subscription end to end: the
// subjects, envelope decoding, the inbox, and Run stopping it.
func TestConsumerThroughBus(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newFixture(t, db, Config{})
	b := &fakeBus{subs: map[string]bus.Subscription{}, h: map[string]bus.Handler{}}
	f.svc.bus = b
	if err := f.svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(b.subs[DefaultOrdersGroup].Subjects) != 3 || len(b.subs[DefaultCustomersGroup].Subjects) != 1 {
		t.Fatalf("subscriptions = %+v", b.subs)
	}
	deliverTo := func(group, subject string, data any) {
		t.Helper()
		e, err := outbox.NewEvent(tenantCtx(t, "default"), "test", subject, t0, data)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(e)
		if err := b.h[group](t.Context(), bus.Message{ID: e.ID, Subject: subject, Data: raw, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
	}
	deliver := func(subject string, o orderapi.OrderEvent) { t.Helper(); deliverTo(DefaultOrdersGroup, subject, o) }
	o := order("o1", "", t0, "MUG-1")
	deliver(orderapi.SubjectConfirmed, o)
	_, err := f.svc.Create(tenantCtx(t, "default"), Buyer{OrderToken: "tok-o1"}, reviewapi.ReviewCreate{OrderID: "o1", SKU: "MUG-1", Rating: 5, Title: "ok"})
	if !errors.Is(err, ErrNotDelivered) {
		t.Errorf("before delivery: %v", err)
	}
	o.UpdatedAt = t0.Add(time.Hour)
	deliver(orderapi.SubjectDelivered, o)
	if _, err := f.svc.Create(tenantCtx(t, "default"), Buyer{OrderToken: "tok-o1"}, reviewapi.ReviewCreate{OrderID: "o1", SKU: "MUG-1", Rating: 5, Title: "ok"}); err != nil {
		t.Errorf("after delivery: %v", err)
	}
	deliverTo(DefaultCustomersGroup, identityapi.SubjectCustomerEmailVerified, identityapi.CustomerEmailVerified{CustomerID: "c-7", Email: "ada@example.com"})
	if l, err := f.svc.OrderReviews(tenantCtx(t, "default"), Buyer{CustomerID: "c-7"}, "o1"); err != nil || len(l.Items) != 1 {
		t.Errorf("the registered customer's view of the claimed order: %+v, %v", l, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := f.svc.Run(ctx); err != nil || b.stopped != 2 {
		t.Errorf("run: %v, %d consumers stopped", err, b.stopped)
	}
}

// TestVerificationClaimsGuestOrders: a customer who registers with a
// guest order's email is not given it; once they verify the address they
// are (once per event), review it signed in, and keep it when an order
// event published before the claim arrives after it; an order with a
// customer keeps theirs.
func TestVerificationClaimsGuestOrders(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		ctx := tenantCtx(t, "default")
		f.delivered("default", order("g1", "", t0, "MUG-1"))
		f.delivered("default", order("o2", "c-1", t0, "MUG-1")) // same email, a customer's already
		in := reviewapi.ReviewCreate{OrderID: "g1", SKU: "MUG-1", Rating: 5, Title: "ok"}
		if _, err := f.svc.Create(ctx, Buyer{CustomerID: "c-9"}, in); !errors.Is(err, ErrNotBuyer) {
			t.Fatalf("before registering: %v, want ErrNotBuyer", err)
		}
		registered, err := outbox.NewEvent(ctx, identityapi.Source, identityapi.SubjectCustomerRegistered, t0,
			identityapi.CustomerRegistered{CustomerID: "c-9", Email: "ADA@example.com "})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.HandleCustomerEvent(t.Context(), registered); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Create(ctx, Buyer{CustomerID: "c-9"}, in); !errors.Is(err, ErrNotBuyer) {
			t.Fatalf("registered, not verified: %v, want ErrNotBuyer", err)
		}
		reg, err := outbox.NewEvent(ctx, identityapi.Source, identityapi.SubjectCustomerEmailVerified, t0,
			identityapi.CustomerEmailVerified{CustomerID: "c-9", Email: "ADA@example.com ", VerifiedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if applied, err := f.svc.HandleCustomerEvent(t.Context(), reg); err != nil || !applied {
			t.Fatalf("verification: applied %v, %v", applied, err)
		}
		if applied, err := f.svc.HandleCustomerEvent(t.Context(), reg); err != nil || applied {
			t.Errorf("verification again: applied %v, %v", applied, err)
		}
		// An event of the order from before the claim, arriving after it.
		late := order("g1", "", t0.Add(2*time.Hour), "MUG-1")
		f.feed("default", orderapi.SubjectDelivered, late)
		if _, err := f.svc.Create(ctx, Buyer{CustomerID: "c-9"}, in); err != nil {
			t.Fatalf("after verifying: %v", err)
		}
		if _, err := f.svc.Create(ctx, Buyer{CustomerID: "c-9"}, reviewapi.ReviewCreate{OrderID: "o2", SKU: "MUG-1", Rating: 5, Title: "ok"}); !errors.Is(err, ErrNotBuyer) {
			t.Errorf("another customer's order of the same email: %v, want ErrNotBuyer", err)
		}
		bad, _ := outbox.NewEvent(ctx, identityapi.Source, identityapi.SubjectCustomerEmailVerified, t0, map[string]string{"customer_id": "c-1"})
		if _, err := f.svc.HandleCustomerEvent(t.Context(), bad); !bus.IsPermanent(err) {
			t.Errorf("verification without email: %v, want permanent", err)
		}
	}, Migrations...)
}

package cart

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// fakeBus keeps the handlers subscribed to it, for a test to deliver to.
type fakeBus struct {
	mu       sync.Mutex
	handlers map[string]bus.Handler // by group
	subs     map[string][]string
	stopped  int
}

func (b *fakeBus) Subscribe(_ context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	if err := sub.Validate(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[sub.Group], b.subs[sub.Group] = h, sub.Subjects
	return stopFunc(func() { b.mu.Lock(); b.stopped++; b.mu.Unlock() }), nil
}

func (b *fakeBus) Publish(context.Context, ...bus.Message) error { return nil }
func (b *fakeBus) DeadLetters(context.Context, string, int) ([]bus.DeadLetter, error) {
	return nil, nil
}
func (b *fakeBus) Replay(context.Context, string, ...string) (int, error) { return 0, nil }
func (b *fakeBus) Close() error                                           { return nil }

type stopFunc func()

func (f stopFunc) Stop() { f() }

// TestConsumersThroughBus runs Start's subscriptions end to end: envelope
// decoding, the inbox, the handlers, and Run stopping them.
func TestConsumersThroughBus(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newFixture(t, db)
	b := &fakeBus{handlers: map[string]bus.Handler{}, subs: map[string][]string{}}
	f.svc.bus = b
	if err := f.svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(b.subs[groupCatalog]) != 3 || len(b.subs[groupOrders]) != 1 || b.subs[groupOrders][0] != "order.confirmed.v1" {
		t.Fatalf("subscriptions = %v", b.subs)
	}
	deliver := func(group, subject string, data any) error {
		t.Helper()
		e, err := outbox.NewEvent(tenantCtx(t, "default"), "test", subject, t0, data)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return b.handlers[group](t.Context(), bus.Message{ID: e.ID, Subject: subject, Data: raw, Attempt: 1})
	}
	if err := deliver(groupCatalog, catalogapi.SubjectProductCreated, catalogapi.ProductCreated{Product: product("p1", t0, 700, "MUG-1")}); err != nil {
		t.Fatal(err)
	}
	c := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}})
	if err := deliver(groupOrders, "order.confirmed.v1", map[string]string{"id": "o1", "cart_id": c.ID}); err != nil {
		t.Fatal(err)
	}
	if got := f.get("default", c.ID); got.Status != cartapi.StatusCheckedOut || got.OrderID != "o1" {
		t.Errorf("cart = %+v", got)
	}
	// Undecodable data can never succeed: dead-lettered at once.
	if err := deliver(groupOrders, "order.confirmed.v1", "not an order"); !bus.IsPermanent(err) {
		t.Errorf("bad payload: err = %v, want permanent", err)
	}
	if err := deliver(groupCatalog, catalogapi.SubjectProductUpdated, map[string]any{"product": map[string]any{"id": ""}}); !bus.IsPermanent(err) {
		t.Errorf("product without id: err = %v, want permanent", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := f.svc.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if b.stopped != 2 {
		t.Errorf("%d consumers stopped, want 2", b.stopped)
	}
}

package cart

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
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
	inboxed := func() int {
		t.Helper()
		var n int
		ctx := sqldb.AllTenants(t.Context())
		err := db.ReadTx(ctx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM inbox WHERE consumer = $1`, groupOrders).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// An order without a cart has no effect here: no inbox record either.
	if err := deliver(groupOrders, "order.confirmed.v1", map[string]string{"id": "o0"}); err != nil {
		t.Fatal(err)
	}
	if n := inboxed(); n != 0 {
		t.Errorf("inbox records of %s after an order without a cart = %d, want 0", groupOrders, n)
	}
	c := f.create("default", cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}})
	if err := deliver(groupOrders, "order.confirmed.v1", map[string]string{"id": "o1", "cart_id": c.ID}); err != nil {
		t.Fatal(err)
	}
	if got := f.get("default", c.ID); got.Status != cartapi.StatusCheckedOut || got.OrderID != "o1" {
		t.Errorf("cart = %+v", got)
	}
	if n := inboxed(); n != 1 {
		t.Errorf("inbox records of %s after an order of a cart = %d, want 1", groupOrders, n)
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

// TestNotifyingWakesOnlyForEvents checks that the order consumer's bus wakes
// the relay after a handler that wrote an event and succeeded, and only then.
func TestNotifyingWakesOnlyForEvents(t *testing.T) {
	fb := &fakeBus{handlers: map[string]bus.Handler{}, subs: map[string][]string{}}
	db := sqldbtest.Open(t, "", outbox.Migrations)
	wakes := 0
	b := notifying{fb, func() { wakes++ }}
	_, err := b.Subscribe(t.Context(), bus.Subscription{Group: "g", Subjects: []string{"order.confirmed.v1"}}, func(ctx context.Context, m bus.Message) error {
		return db.WriteTx(tenancy.WithID(ctx, "default"), func(ctx context.Context, tx *sql.Tx) error {
			if m.Subject == "order.confirmed.v1" && string(m.Data) != "none" {
				if err := outbox.AddEvent(ctx, tx, "cart", cartapi.SubjectCheckedOut, time.Now(), map[string]string{"cart_id": "c"}); err != nil {
					return err
				}
			}
			if string(m.Data) == "fail" {
				return errors.New("rolled back")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		data  string
		wakes int
	}{
		{"none", 0},  // nothing written
		{"wrote", 1}, // an event committed
		{"fail", 1},  // written, then rolled back
	} {
		_ = fb.handlers["g"](t.Context(), bus.Message{ID: tc.data, Subject: "order.confirmed.v1", Data: []byte(tc.data)})
		if wakes != tc.wakes {
			t.Errorf("after %q: %d wakes, want %d", tc.data, wakes, tc.wakes)
		}
	}
}

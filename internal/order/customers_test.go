package order

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// as is ctx of tenant with principal p.
func as(t *testing.T, tenant string, p auth.Principal) context.Context {
	return auth.WithPrincipal(ctxFor(t, tenant), p)
}

func customer(t *testing.T, tenant, id string) context.Context {
	return as(t, tenant, auth.Principal{Tenant: tenant, Subject: id, Kind: auth.KindCustomer})
}

// oneMug is a checkout of one MUG-1 by email.
func oneMug(email string) orderapi.CheckoutRequest {
	r := checkoutReq(orderapi.Item{SKU: "MUG-1", Quantity: 1})
	r.Email = email
	return r
}

// fakeBus keeps the handlers subscribed to it, for a test to deliver to.
type fakeBus struct {
	mu       sync.Mutex
	handlers map[string]bus.Handler // by group
	subs     map[string][]string
	stopped  int
}

func newFakeBus() *fakeBus {
	return &fakeBus{handlers: map[string]bus.Handler{}, subs: map[string][]string{}}
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

// identityEvent is a message of identity's event subject of tenant.
func identityEvent(t *testing.T, tenant, subject string, data any) bus.Message {
	t.Helper()
	e, err := outbox.NewEvent(ctxFor(t, tenant), identityapi.Source, subject, time.Now(), data)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return bus.Message{ID: e.ID, Subject: subject, Data: raw, Attempt: 1}
}

func ids(l orderapi.OrderList) []string {
	var out []string
	for _, o := range l.Items {
		out = append(out, o.ID)
	}
	return out
}

// TestCustomerOrders: a checkout with a customer's token is the customer's;
// they read, cancel and return it without the order token, list it under
// their orders, and nobody else can.
func TestCustomerOrders(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ada, bob := customer(t, "default", "cus-ada"), customer(t, "default", "cus-bob")
		guest := ctxFor(t, "default")

		var mine []orderapi.Order
		for _, key := range []string{"a1", "a2", "a3"} {
			o, err := w.svc.Checkout(ada, key, oneMug("ada@example.com"))
			if err != nil {
				t.Fatal(err)
			}
			if o.CustomerID != "cus-ada" || o.Token == "" {
				t.Fatalf("customer checkout: customer %q token %q", o.CustomerID, o.Token)
			}
			mine = append(mine, o)
		}
		g, err := w.svc.Checkout(guest, "g1", oneMug("ada@example.com"))
		if err != nil || g.CustomerID != "" {
			t.Fatalf("guest checkout: %+v, %v", g.CustomerID, err)
		}
		// The same key and request from another caller is not a replay:
		// it would hand over the order token.
		if _, err := w.svc.Checkout(guest, "a1", oneMug("ada@example.com")); !errors.Is(err, ErrIdempotencyKeyReused) {
			t.Errorf("ada's key replayed by a guest: %v", err)
		}
		if _, err := w.svc.Checkout(bob, "a1", oneMug("ada@example.com")); !errors.Is(err, ErrIdempotencyKeyReused) {
			t.Errorf("ada's key replayed by bob: %v", err)
		}
		if again, err := w.svc.Checkout(ada, "a1", oneMug("ada@example.com")); err != nil || again.ID != mine[0].ID || again.Token != mine[0].Token {
			t.Errorf("ada's replay: %+v, %v", again.ID, err)
		}

		// Reading: the token, or the owning customer.
		o := mine[0]
		for _, tc := range []struct {
			name  string
			ctx   context.Context
			token string
			ok    bool
		}{
			{"owner without token", ada, "", true},
			{"owner with a wrong token", ada, "nope", true},
			{"token holder", guest, o.Token, true},
			{"another customer", bob, "", false},
			{"another customer, wrong token", bob, "nope", false},
			{"anonymous", guest, "", false},
			{"staff", as(t, "default", auth.Principal{Tenant: "default", Subject: "cus-ada", Kind: auth.KindStaff, Role: auth.RoleOwner}), "", false},
			{"owner in another store", customer(t, "acme", "cus-ada"), "", false},
		} {
			got, err := w.svc.GuestOrder(tc.ctx, o.ID, tc.token)
			switch {
			case tc.ok && (err != nil || got.ID != o.ID || got.Token != ""):
				t.Errorf("%s: %+v, %v", tc.name, got.ID, err)
			case !tc.ok && !errors.Is(err, ErrNotFound):
				t.Errorf("%s: err = %v, want ErrNotFound", tc.name, err)
			}
		}

		// Cancelling and returning as the customer.
		if _, err := w.svc.GuestCancel(bob, mine[1].ID, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob cancels ada's order: %v", err)
		}
		if c, err := w.svc.GuestCancel(ada, mine[1].ID, ""); err != nil || c.Status != orderapi.StatusCancelled || c.CancelReason != orderapi.ReasonCustomer {
			t.Errorf("ada cancels: %+v, %v", c.Status, err)
		}
		if _, err := w.svc.Ship(guest, mine[2].ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}); err != nil {
			t.Fatal(err)
		}
		ret := orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}}
		if _, err := w.svc.RequestReturn(bob, mine[2].ID, "", ret); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob returns ada's order: %v", err)
		}
		if r, err := w.svc.RequestReturn(ada, mine[2].ID, "", ret); err != nil || len(r.Returns) != 1 {
			t.Errorf("ada returns: %v", err)
		}

		// Listing: newest first, a page at a time, only ada's.
		l1, err := w.svc.CustomerOrders(ada, "", 2)
		if err != nil {
			t.Fatal(err)
		}
		l2, err := w.svc.CustomerOrders(ada, l1.NextCursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{mine[2].ID, mine[1].ID, mine[0].ID}
		if got := append(ids(l1), ids(l2)...); !slices.Equal(got, want) || l1.NextCursor == "" || l2.NextCursor != "" {
			t.Errorf("ada's orders %v (cursors %q, %q), want %v", got, l1.NextCursor, l2.NextCursor, want)
		}
		if l, err := w.svc.CustomerOrders(bob, "", 0); err != nil || len(l.Items) != 0 || l.Items == nil {
			t.Errorf("bob's orders: %+v, %v", l, err)
		}
		if _, err := w.svc.CustomerOrders(ada, "bogus", 0); !errors.Is(err, kit.ErrInvalidCursor) {
			t.Errorf("bad cursor: %v", err)
		}
		if _, err := w.svc.CustomerOrders(guest, "", 0); !errors.Is(err, ErrSignInRequired) {
			t.Errorf("anonymous: %v, want ErrSignInRequired", err)
		}
		staff := as(t, "default", auth.Principal{Tenant: "default", Subject: "s1", Kind: auth.KindStaff, Role: auth.RoleOwner})
		if _, err := w.svc.CustomerOrders(staff, "", 0); !errors.Is(err, ErrNotCustomer) {
			t.Errorf("staff: %v, want ErrNotCustomer", err)
		}
	}, Migrations...)
}

// TestClaimGuestOrders: a registration alone claims nothing; the
// verification of the customer's email gives them the store's guest
// orders with the same email (case aside) through the bus consumer Start
// subscribes; other stores', other emails' and other customers' orders
// stay as they are.
func TestClaimGuestOrders(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		b := newFakeBus()
		w.svc.deps.Bus = b
		if err := w.svc.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := b.subs[groupCustomers]; !slices.Equal(got, []string{identityapi.SubjectCustomerEmailVerified}) {
			t.Fatalf("subscriptions: %v", b.subs)
		}
		deliver := func(m bus.Message) error { return b.handlers[groupCustomers](t.Context(), m) }
		place := func(ctx context.Context, key, email string) orderapi.Order {
			t.Helper()
			o, err := w.svc.Checkout(ctx, key, oneMug(email))
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		guest := ctxFor(t, "default")
		g1 := place(guest, "g1", "Ada.Lovelace@Example.com")
		g2 := place(guest, "g2", "ada.lovelace@example.com")
		other := place(guest, "g3", "grace@example.com")
		acme := place(ctxFor(t, "acme"), "g4", "ada.lovelace@example.com")
		hers := place(customer(t, "default", "cus-first"), "c1", "ada.lovelace@example.com")

		before, err := w.svc.store.get(ctxFor(t, "default"), "default", g1.ID)
		if err != nil {
			t.Fatal(err)
		}
		ada := customer(t, "default", "cus-ada")
		// Registered, not verified: anyone may register any address.
		reg := identityEvent(t, "default", identityapi.SubjectCustomerRegistered,
			identityapi.CustomerRegistered{CustomerID: "cus-ada", Email: "ada.lovelace@example.com", Name: "Ada"})
		if err := deliver(reg); err != nil {
			t.Fatal(err)
		}
		if l, err := w.svc.CustomerOrders(ada, "", 0); err != nil || len(l.Items) != 0 {
			t.Fatalf("ada's orders after registering without verifying: %v, %v", ids(l), err)
		}
		m := identityEvent(t, "default", identityapi.SubjectCustomerEmailVerified,
			identityapi.CustomerEmailVerified{CustomerID: "cus-ada", Email: "ada.lovelace@example.com", VerifiedAt: time.Now()})
		if err := deliver(m); err != nil {
			t.Fatal(err)
		}
		if err := deliver(m); err != nil { // redelivered: the inbox drops it
			t.Fatal(err)
		}
		l, err := w.svc.CustomerOrders(ada, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(l), []string{g2.ID, g1.ID}; !slices.Equal(got, want) {
			t.Errorf("ada's orders after verifying: %v, want %v", got, want)
		}
		if got, err := w.svc.GuestOrder(ada, g1.ID, ""); err != nil || got.CustomerID != "cus-ada" {
			t.Errorf("claimed order as ada: %+v, %v", got.CustomerID, err)
		}
		// A claimed order still opens with its token.
		if _, err := w.svc.GuestOrder(guest, g1.ID, g1.Token); err != nil {
			t.Errorf("claimed order with its token: %v", err)
		}
		for _, tc := range []struct {
			name, tenant, id, customer string
		}{
			{"other email", "default", other.ID, ""},
			{"other store", "acme", acme.ID, ""},
			{"another customer's", "default", hers.ID, "cus-first"},
		} {
			got, err := w.svc.Order(ctxFor(t, tc.tenant), tc.id)
			if err != nil || got.CustomerID != tc.customer {
				t.Errorf("%s order: customer %q, %v; want %q", tc.name, got.CustomerID, err, tc.customer)
			}
		}
		// A claim touches neither version nor updated_at: sagas in flight are undisturbed.
		after, err := w.svc.store.get(ctxFor(t, "default"), "default", g1.ID)
		if err != nil || after.version != before.version || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("claimed order: version %d updated %v (was %d, %v), %v", after.version, after.UpdatedAt, before.version, before.UpdatedAt, err)
		}

		// Undecodable or incomplete verifications can never succeed.
		for name, data := range map[string]any{
			"not an object": "nope",
			"no customer":   identityapi.CustomerEmailVerified{Email: "x@example.com"},
			"no email":      identityapi.CustomerEmailVerified{CustomerID: "cus-x"},
		} {
			if err := deliver(identityEvent(t, "default", identityapi.SubjectCustomerEmailVerified, data)); !bus.IsPermanent(err) {
				t.Errorf("%s: err = %v, want permanent", name, err)
			}
		}

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := w.svc.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if b.stopped != 2 {
			t.Errorf("%d consumers stopped, want 2 (customers and payments)", b.stopped)
		}
	}, Migrations...)
}

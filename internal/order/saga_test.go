package order

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

func TestCheckoutGoldenPath(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		req := checkoutReq(orderapi.Item{SKU: "MUG-1", Quantity: 2}, orderapi.Item{SKU: "TEE-M", Quantity: 1})
		req.Coupon = "SAVE5"
		o, err := w.svc.Checkout(ctx, "key-1", req)
		if err != nil {
			t.Fatalf("checkout: %v", err)
		}
		if o.Status != orderapi.StatusConfirmed || o.Token == "" {
			t.Fatalf("got status %s token %q, want confirmed with a token", o.Status, o.Token)
		}
		// 2×1200 + 2500 − 500 + 500 shipping
		if o.Total.Amount != 4900 || o.TotalDue.Amount != 4900 || o.Captured.Amount != 0 || len(o.Lines) != 2 {
			t.Fatalf("totals: total %v due %v captured %v lines %d", o.Total, o.TotalDue, o.Captured, len(o.Lines))
		}
		var steps []string
		for _, e := range o.Timeline {
			steps = append(steps, e.Status)
		}
		if want := []string{"pending", "stock_reserved", "payment_authorized", "confirmed"}; !slices.Equal(steps, want) {
			t.Errorf("timeline %v, want %v", steps, want)
		}
		if got := w.inv.status(o.ID); got != "committed" {
			t.Errorf("reservation %q, want committed", got)
		}
		if p, _ := w.pay.payment(o.ID); p.Status != "authorized" || p.Amount.Amount != 4900 {
			t.Errorf("payment %s %v, want authorized 4900", p.Status, p.Amount)
		}
		if w.price.active() != 1 {
			t.Errorf("coupon redemptions %d, want 1", w.price.active())
		}
		if got := outboxSubjects(t, db); !slices.Equal(got, []string{orderapi.SubjectConfirmed}) {
			t.Errorf("events %v", got)
		}
		g, err := w.svc.GuestOrder(ctx, o.ID, o.Token)
		if err != nil || g.Token != "" || g.ID != o.ID || g.Total != o.Total {
			t.Fatalf("guest read: %+v, %v", g, err)
		}
		for _, tok := range []string{"", "wrong", o.Token + "x"} {
			if _, err := w.svc.GuestOrder(ctx, o.ID, tok); !errors.Is(err, ErrNotFound) {
				t.Errorf("token %q: %v, want not found", tok, err)
			}
		}
		if _, err := w.svc.GuestOrder(ctxFor(t, "acme"), o.ID, o.Token); !errors.Is(err, ErrNotFound) {
			t.Errorf("other tenant: %v, want not found", err)
		}
		if _, err := w.svc.Order(ctxFor(t, "acme"), o.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("other tenant admin read: %v, want not found", err)
		}
	}, Migrations...)
}

func TestCheckoutFailuresCompensate(t *testing.T) {
	tests := []struct {
		name    string
		req     func(r *orderapi.CheckoutRequest)
		invFail error
		check   func(t *testing.T, err error)
		reason  string
	}{
		{name: "out of stock", req: func(r *orderapi.CheckoutRequest) {
			r.Items = []orderapi.Item{{SKU: "MUG-1", Quantity: 1}, {SKU: "CAP-1", Quantity: 2}}
		}, reason: orderapi.ReasonOutOfStock, check: func(t *testing.T, err error) {
			var oos *OutOfStockError
			if !errors.As(err, &oos) || oos.SKU != "CAP-1" {
				t.Fatalf("got %v, want out of stock naming CAP-1", err)
			}
		}},
		{name: "declined", req: func(r *orderapi.CheckoutRequest) { r.Payment.Token = "tok_declined" },
			reason: orderapi.ReasonPaymentDeclined, check: func(t *testing.T, err error) {
				var de *DeclinedError
				if !errors.As(err, &de) || de.Reason != "declined" {
					t.Fatalf("got %v, want declined", err)
				}
			}},
		{name: "timeout", req: func(r *orderapi.CheckoutRequest) { r.Payment.Token = "tok_timeout" },
			reason: orderapi.ReasonPaymentTimeout, check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrPaymentTimeout) {
					t.Fatalf("got %v, want payment timeout", err)
				}
			}},
		{name: "coupon exhausted", req: func(r *orderapi.CheckoutRequest) { r.Coupon = "SCARCE" },
			reason: orderapi.ReasonCouponExhausted, check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrCouponExhausted) {
					t.Fatalf("got %v, want coupon exhausted", err)
				}
			}},
		// The payment service answering 429 or 409 (busy, or its write
		// lost a race too often) has not refused the card: the checkout is
		// interrupted, not declined.
		{name: "payment busy", req: func(r *orderapi.CheckoutRequest) { r.Payment.Token = "tok_busy" },
			reason: orderapi.ReasonInterrupted, check: func(t *testing.T, err error) {
				var de *DeclinedError
				if !errors.Is(err, ErrInterrupted) || errors.As(err, &de) {
					t.Fatalf("got %v, want interrupted", err)
				}
			}},
		{name: "payment conflict", req: func(r *orderapi.CheckoutRequest) { r.Payment.Token = "tok_conflict" },
			reason: orderapi.ReasonInterrupted, check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrInterrupted) {
					t.Fatalf("got %v, want interrupted", err)
				}
			}},
		{name: "inventory down", invFail: errors.New("connection refused"),
			reason: orderapi.ReasonInterrupted, check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrInterrupted) {
					t.Fatalf("got %v, want interrupted", err)
				}
			}},
	}
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := newWorld(t, db, Config{})
				w.inv.fail = tt.invFail
				before := w.inv.stock()
				ctx := ctxFor(t, "default")
				req := checkoutReq()
				if tt.req != nil {
					tt.req(&req)
				}
				key := "fail-" + tt.name
				_, err := w.svc.Checkout(ctx, key, req)
				tt.check(t, err)
				rec, lerr := w.svc.store.byKey(ctx, "default", key)
				if lerr != nil {
					t.Fatal(lerr)
				}
				if rec.Status != orderapi.StatusCancelled || rec.CancelReason != tt.reason {
					t.Errorf("order %s (%s), want cancelled (%s)", rec.Status, rec.CancelReason, tt.reason)
				}
				if got := w.inv.stock(); !maps_equal(got, before) || w.inv.held() != 0 {
					t.Errorf("stock %v (held %d), want %v and none held", got, w.inv.held(), before)
				}
				if a := w.pay.authorized(); len(a) != 0 {
					t.Errorf("authorizations left: %v", a)
				}
				if w.price.active() != 0 {
					t.Errorf("coupon redemptions left: %d", w.price.active())
				}
				// A retry with the same key answers the same, calling nothing.
				reserves, auths := w.inv.reserves, w.pay.authorizes
				_, err2 := w.svc.Checkout(ctx, key, req)
				tt.check(t, err2)
				if w.inv.reserves != reserves || w.pay.authorizes != auths {
					t.Errorf("retry reached the other services")
				}
			})
		}
	}, Migrations...)
}

func maps_equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestCheckoutIdempotentUnderConcurrency(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		req := checkoutReq()
		const n = 20
		var wg sync.WaitGroup
		ids := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				o, err := w.svc.Checkout(ctx, "same-key", req)
				ids[i], errs[i] = o.ID, err
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("checkout %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("checkout %d made order %s, first %s", i, ids[i], ids[0])
			}
		}
		if w.inv.reserves != 1 || w.pay.authorizes != 1 {
			t.Errorf("reserves %d authorizes %d, want 1 and 1", w.inv.reserves, w.pay.authorizes)
		}
		if n := count(t, db, "orders"); n != 1 {
			t.Errorf("orders %d, want 1", n)
		}
		other := req
		other.Items = []orderapi.Item{{SKU: "MUG-1", Quantity: 3}}
		if _, err := w.svc.Checkout(ctx, "same-key", other); !errors.Is(err, ErrIdempotencyKeyReused) {
			t.Errorf("same key other body: %v, want key reused", err)
		}
		if _, err := w.svc.Checkout(ctx, "", req); !errors.Is(err, ErrIdempotencyKeyRequired) {
			t.Errorf("no key: %v", err)
		}
		// The same key in another tenant is another order.
		if _, err := w.svc.Checkout(ctxFor(t, "acme"), "same-key", req); err != nil {
			t.Errorf("same key other tenant: %v", err)
		}
	}, Migrations...)
}

// TestCheckoutRetryAnswersWhateverChangedSince: a retried checkout answers
// with its order even when the order could not be placed again now (the
// product is no longer priced, the cart is checked out), while a new key
// in the same situation gets the error.
func TestCheckoutRetryAnswersWhateverChangedSince(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		retry := func(key string, req orderapi.CheckoutRequest, want orderapi.Order) {
			t.Helper()
			got, err := w.svc.Checkout(ctx, key, req)
			if err != nil || got.ID != want.ID || got.Token != want.Token || got.Status != orderapi.StatusConfirmed {
				t.Fatalf("retry of %s: order %s %s, %v; want %s confirmed with its token", key, got.ID, got.Status, err, want.ID)
			}
		}

		req := checkoutReq(orderapi.Item{SKU: "MUG-1", Quantity: 1})
		first, err := w.svc.Checkout(ctx, "priced-then-not", req)
		if err != nil {
			t.Fatal(err)
		}
		w.price.mu.Lock()
		price := w.price.prices["MUG-1"]
		delete(w.price.prices, "MUG-1")
		w.price.mu.Unlock()
		retry("priced-then-not", req, first)
		var apiErr *apiclient.Error
		if _, err := w.svc.Checkout(ctx, "new-unpriced", req); !errors.As(err, &apiErr) || apiErr.Code != "unknown_sku" {
			t.Fatalf("a new key for an unpriced SKU: %v, want the quote's unknown_sku", err)
		}
		w.price.mu.Lock()
		w.price.prices["MUG-1"] = price
		w.price.mu.Unlock()

		w.cart.carts["c-retry"] = cartapi.Cart{ID: "c-retry", Status: cartapi.StatusOpen,
			Lines: []cartapi.CartLine{{SKU: "MUG-1", Quantity: 1, Available: true}}}
		byCart := checkoutReq()
		byCart.Items, byCart.CartID = nil, "c-retry"
		second, err := w.svc.Checkout(ctx, "cart-then-checked-out", byCart)
		if err != nil {
			t.Fatal(err)
		}
		// The cart service learns of the order and closes the cart.
		c := w.cart.carts["c-retry"]
		c.Status, c.OrderID = cartapi.StatusCheckedOut, second.ID
		w.cart.carts["c-retry"] = c
		retry("cart-then-checked-out", byCart, second)
		if _, err := w.svc.Checkout(ctx, "new-on-closed-cart", byCart); !errors.Is(err, ErrCartCheckedOut) {
			t.Fatalf("a new key on a checked-out cart: %v, want ErrCartCheckedOut", err)
		}
		if n := count(t, db, "orders"); n != 2 {
			t.Errorf("%d orders, want 2", n)
		}
		if w.inv.reserves != 2 || w.pay.authorizes != 2 {
			t.Errorf("reserves %d authorizes %d, want 2 and 2", w.inv.reserves, w.pay.authorizes)
		}
	}, Migrations...)
}

func TestCheckoutBadInputCallsNothing(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *orderapi.CheckoutRequest)
		code string
	}{
		{"unknown sku", func(r *orderapi.CheckoutRequest) { r.Items = []orderapi.Item{{SKU: "NOPE", Quantity: 1}} }, "unknown_sku"},
		// The request's own SKUs are held to the platform's rule (text.SKU)
		// before anything is called; a cart's lines come from the catalog,
		// where a SKU made before the rule may still be priced.
		{"malformed sku", func(r *orderapi.CheckoutRequest) {
			r.Items = append(r.Items, orderapi.Item{SKU: "../../etc/passwd", Quantity: 1})
		}, "validation_failed"},
		{"priced sku inventory refuses", func(r *orderapi.CheckoutRequest) { r.Items, r.CartID = nil, "c-legacy" }, "sku_not_stockable"},
		{"zero quantity", func(r *orderapi.CheckoutRequest) { r.Items[0].Quantity = 0 }, "validation_failed"},
		{"absurd quantity", func(r *orderapi.CheckoutRequest) { r.Items[0].Quantity = 10001 }, "validation_failed"},
		{"merged quantity absurd", func(r *orderapi.CheckoutRequest) {
			r.Items = []orderapi.Item{{SKU: "MUG-1", Quantity: 6000}, {SKU: "MUG-1", Quantity: 6000}}
		}, "validation_failed"},
		{"unknown coupon", func(r *orderapi.CheckoutRequest) { r.Coupon = "NOPE" }, "unknown_coupon"},
		{"expired coupon", func(r *orderapi.CheckoutRequest) { r.Coupon = "EXPIRED" }, "coupon_expired"},
		{"currency mismatch", func(r *orderapi.CheckoutRequest) { r.Currency = "USD" }, "currency_mismatch"},
		{"unknown currency", func(r *orderapi.CheckoutRequest) { r.Currency = "ABC" }, "validation_failed"},
		{"no city", func(r *orderapi.CheckoutRequest) { r.ShippingAddress.City = " " }, "validation_failed"},
		{"no name", func(r *orderapi.CheckoutRequest) { r.ShippingAddress.Name = "" }, "validation_failed"},
		{"bad country", func(r *orderapi.CheckoutRequest) { r.ShippingAddress.Country = "XX" }, "validation_failed"},
		{"bad email", func(r *orderapi.CheckoutRequest) { r.Email = "Ada <ada@example.com>" }, "validation_failed"},
		{"no items", func(r *orderapi.CheckoutRequest) { r.Items = nil }, "validation_failed"},
		{"cart and items", func(r *orderapi.CheckoutRequest) { r.CartID = "c1" }, "validation_failed"},
		{"unknown cart", func(r *orderapi.CheckoutRequest) { r.Items, r.CartID = nil, "nope" }, "cart_not_found"},
		{"unknown provider", func(r *orderapi.CheckoutRequest) { r.Payment.Provider = "cash" }, "unknown_provider"},
		{"provider not configured", func(r *orderapi.CheckoutRequest) { r.Payment.Provider = "stripe" }, "unknown_provider"},
		{"no provider", func(r *orderapi.CheckoutRequest) { r.Payment.Provider = " " }, "validation_failed"},
		{"unknown shipping", func(r *orderapi.CheckoutRequest) { r.ShippingMethod = "teleport" }, "unknown_shipping_method"},
	}
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		w.cart.carts["c-legacy"] = cartapi.Cart{ID: "c-legacy", Status: cartapi.StatusOpen, Lines: []cartapi.CartLine{
			{SKU: "MUG-1", Quantity: 1, Available: true}, {SKU: "../../etc/passwd", Quantity: 1, Available: true}}}
		ctx := ctxFor(t, "default")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := checkoutReq()
				tt.edit(&req)
				_, err := w.svc.Checkout(ctx, "bad-"+tt.name, req)
				var ve *kit.ValidationError
				var ue *kit.UpstreamError
				switch {
				case errors.As(err, &ve):
					if ve.Code != tt.code || len(ve.Fields) == 0 {
						t.Errorf("got %s %+v, want %s with fields", ve.Code, ve.Fields, tt.code)
					}
				case errors.As(err, &ue):
					if ue.Err.Code != tt.code || ue.Err.Status != 422 {
						t.Errorf("got %d %s, want 422 %s", ue.Err.Status, ue.Err.Code, tt.code)
					}
				default:
					t.Fatalf("got %v, want a 4xx error", err)
				}
			})
		}
		if n := count(t, db, "orders"); n != 0 {
			t.Errorf("orders written: %d", n)
		}
		if w.inv.reserves != 0 || w.pay.authorizes != 0 || len(w.pay.pays) != 0 {
			t.Errorf("reserves %d authorizes %d: bad input reached the saga", w.inv.reserves, w.pay.authorizes)
		}
	}, Migrations...)
}

// TestCheckoutProviderOnOffer: the payment service says which providers it
// has; a checkout naming another is refused with nothing written, one just
// configured is taken at once, and without the payment service's answer
// (nothing known yet) the checkout is unavailable, again with nothing
// written. A retry of a placed order still answers with it.
func TestCheckoutProviderOnOffer(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		stripe := checkoutReq()
		stripe.Payment = orderapi.PaymentInput{Provider: "stripe", Token: "pm_card_visa"}

		w.pay.mu.Lock()
		w.pay.providersErr = &apiclient.Error{Status: 503, Code: "unavailable", Service: "payment"}
		w.pay.mu.Unlock()
		if _, err := w.svc.Checkout(ctx, "p-down", checkoutReq()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("payment service down: %v, want unavailable", err)
		}
		w.pay.mu.Lock()
		w.pay.providersErr = nil
		w.pay.mu.Unlock()

		var ve *kit.ValidationError
		if _, err := w.svc.Checkout(ctx, "p-stripe", stripe); !errors.As(err, &ve) || ve.Code != "unknown_provider" {
			t.Fatalf("stripe not configured: %v, want 422 unknown_provider", err)
		}
		if p := problemOf(t, w.svc, ve); p.Status != 422 || !strings.Contains(p.Detail, "available: fake") {
			t.Errorf("answer %d %q", p.Status, p.Detail)
		}
		if n := count(t, db, "orders"); n != 0 {
			t.Fatalf("%d orders written for checkouts that could not be valid", n)
		}

		placedFake, err := w.svc.Checkout(ctx, "p-fake", checkoutReq())
		if err != nil {
			t.Fatal(err)
		}
		w.pay.mu.Lock()
		w.pay.offered = []string{"fake", "stripe"}
		w.pay.mu.Unlock()
		w.svc.providers.mu.Lock()
		w.svc.providers.at = time.Now().Add(-providersRecheck - time.Second) // the list is a few seconds old
		w.svc.providers.mu.Unlock()
		if o, err := w.svc.Checkout(ctx, "p-stripe-now", stripe); err != nil || o.Status != orderapi.StatusConfirmed {
			t.Fatalf("stripe once configured: %v", err)
		}
		// Stripe goes away again: a retry of the placed order still gets it.
		w.pay.mu.Lock()
		w.pay.offered = []string{"stripe"}
		w.pay.mu.Unlock()
		w.svc.providers.mu.Lock()
		w.svc.providers.at = time.Time{}
		w.svc.providers.mu.Unlock()
		if o, err := w.svc.Checkout(ctx, "p-fake", checkoutReq()); err != nil || o.ID != placedFake.ID {
			t.Fatalf("retry of a placed order: %v", err)
		}
	}, Migrations...)
}

// errCrash stands for the process dying at a crash point.
var errCrash = errors.New("crashed")

func TestCrashRecovery(t *testing.T) {
	tests := []struct {
		at, token string
		want      orderapi.Status
	}{
		{crashAfterReserve, "tok_visa", orderapi.StatusCancelled},
		{crashAfterAuthorize, "tok_visa", orderapi.StatusConfirmed},
	}
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.at, func(t *testing.T) {
				w := newWorld(t, db, Config{})
				w.svc.crash = func(step string) {
					if step == tt.at {
						panic(errCrash)
					}
				}
				ctx := ctxFor(t, "default")
				before := w.inv.stock()
				key := "crash-" + tt.at
				func() {
					defer func() {
						if r := recover(); r != errCrash {
							t.Fatalf("recovered %v, want the crash", r)
						}
					}()
					_, _ = w.svc.Checkout(ctx, key, checkoutReq())
				}()
				// The restarted process: nothing is taken over within the lease.
				restarted := w.service(t, Config{})
				if n, err := restarted.Recover(t.Context()); err != nil || n != 0 {
					t.Fatalf("recover within the lease: %d, %v", n, err)
				}
				w.clock.advance(DefaultSagaLease + time.Second)
				if n, err := restarted.Recover(t.Context()); err != nil || n != 1 {
					t.Fatalf("recover: %d, %v", n, err)
				}
				rec, err := restarted.store.byKey(ctx, "default", key)
				if err != nil {
					t.Fatal(err)
				}
				if rec.Status != tt.want {
					t.Fatalf("after recovery %s (%s), want %s", rec.Status, rec.CancelReason, tt.want)
				}
				if w.inv.held() != 0 {
					t.Errorf("reservations still held")
				}
				if a := w.pay.authorized(); tt.want == orderapi.StatusCancelled && len(a) != 0 {
					t.Errorf("authorized without an order: %v", a)
				}
				if tt.want == orderapi.StatusCancelled && !maps_equal(w.inv.stock(), before) {
					t.Errorf("stock %v, want %v", w.inv.stock(), before)
				}
				if tt.want == orderapi.StatusConfirmed && w.inv.status(rec.ID) != "committed" {
					t.Errorf("reservation %s, want committed", w.inv.status(rec.ID))
				}
				if tt.want == orderapi.StatusConfirmed {
					// Recovery found the authorization (the saga writes no
					// state between pending and confirmed) and says so.
					var steps []string
					for _, e := range rec.Timeline {
						steps = append(steps, e.Status)
					}
					if want := []string{"pending", "payment_authorized", "confirmed"}; !slices.Equal(steps, want) {
						t.Errorf("timeline %v, want %v", steps, want)
					}
				}
				// The client's retry gets the outcome.
				_, err = restarted.Checkout(ctx, key, checkoutReq())
				if tt.want == orderapi.StatusCancelled && !errors.Is(err, ErrInterrupted) || tt.want == orderapi.StatusConfirmed && err != nil {
					t.Errorf("retry: %v", err)
				}
			})
		}
	}, Migrations...)
}

func TestReservationExpiredBeforeCommit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		var id string
		w.svc.crash = func(step string) {
			if step != crashAfterAuthorize {
				return
			}
			w.inv.mu.Lock()
			for k := range w.inv.res {
				id = k
			}
			w.inv.mu.Unlock()
			w.inv.expire(id)
		}
		_, err := w.svc.Checkout(ctx, "expiring", checkoutReq())
		if !errors.Is(err, ErrReservationExpired) {
			t.Fatalf("got %v, want reservation expired", err)
		}
		if p, _ := w.pay.payment(id); p.Status != "voided" {
			t.Errorf("payment %s, want voided", p.Status)
		}
	}, Migrations...)
}

// Upstream 4xx answers keep their field list for the client.
func TestUpstreamErrorKeepsFields(t *testing.T) {
	err := upstream("quote", fmt.Errorf("wrapped: %w", apiErr(422, "unknown_sku", "x", "body.items[0].sku", "NOPE")))
	var ue *kit.UpstreamError
	if !errors.As(err, &ue) || len(ue.Err.Errors) != 1 {
		t.Fatalf("got %v", err)
	}
	if err := upstream("quote", &apiclient.Error{Status: 503, Code: "unavailable"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("503: %v", err)
	}
}

// TestRefused: which answers of another service refuse the request itself
// (the order fails for it) and which leave the outcome unknown (the order
// is interrupted, or the step is retried).
func TestRefused(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&apiclient.Error{Status: 422, Code: "unknown_coupon"}, true},
		{&apiclient.Error{Status: 409, Code: "coupon_exhausted"}, true},
		{&apiclient.Error{Status: 404, Code: "not_found"}, true},
		{&apiclient.Error{Status: 409, Code: "conflict"}, false},
		{&apiclient.Error{Status: 429, Code: "rate_limited"}, false},
		{&apiclient.Error{Status: 408}, false},
		{&apiclient.Error{Status: 503}, false},
		{fmt.Errorf("wrapped: %w", &apiclient.Error{Status: 422, Code: "invalid"}), true},
		{errors.New("connection refused"), false},
	} {
		if _, got := apiclient.Refused(tt.err); got != tt.want {
			t.Errorf("apiclient.Refused(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestConcurrentRetriesGetTheSameOrder: bursts of requests with a few
// Idempotency-Keys, let go at once, answer with one order per key, round
// after round: never a second order, and never a false cart_checked_out.
// (On SQLite a key's winner and losers share a group commit when another
// key's insert holds the writer first; the losers' inserts failed inside
// the winner's batch and used to look the key up before it was committed.)
func TestConcurrentRetriesGetTheSameOrder(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		w.inv.available["MUG-1"] = 1000
		ctx := ctxFor(t, "default")
		const rounds, keys, per = 6, 4, 8
		for r := range rounds {
			req := checkoutReq(orderapi.Item{SKU: "MUG-1", Quantity: 1})
			start := make(chan struct{})
			var wg sync.WaitGroup
			ids := make([]string, keys*per)
			errs := make([]error, keys*per)
			for i := range keys * per {
				key := fmt.Sprintf("burst-%d-%d", r, i%keys)
				wg.Go(func() {
					<-start
					o, err := w.svc.Checkout(ctx, key, req)
					ids[i], errs[i] = o.ID, err
				})
			}
			close(start)
			wg.Wait()
			for i := range keys * per {
				if errs[i] != nil {
					t.Fatalf("round %d, key %d: %v", r, i%keys, errs[i])
				}
				if ids[i] != ids[i%keys] {
					t.Fatalf("round %d, key %d: orders %s and %s", r, i%keys, ids[i], ids[i%keys])
				}
			}
		}
		if got := count(t, db, "orders"); got != rounds*keys {
			t.Errorf("%d orders, want %d", got, rounds*keys)
		}
	}, Migrations...)
}

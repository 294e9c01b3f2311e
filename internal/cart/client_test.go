package cart

import (
	"errors"
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestClientStorefront walks the storefront's and admin's cart calls
// through the typed client against the real handlers: a wrong path, query
// or body fails here.
func TestClientStorefront(t *testing.T) {
	f := newHTTPFixture(t, sqldbtest.Open(t, "", Migrations...))
	f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1250, "MUG-1"))
	f.feed("default", catalogapi.SubjectProductCreated, product("p2", t0, 300, "TEA-1"))
	// One client, as the storefront has: a call carries the caller's token
	// in its context, or none for a c. The platform keeps
	// Idempotency-Key outcomes only for a known caller: a signed-in customer.
	c := cartapi.NewClient(f.url, nil)
	ctx := tenantCtx(t, "default")
	customer := apiclient.WithToken(ctx, webtest.Token(t, auth.Principal{Tenant: "default", Subject: "cus-1", Kind: auth.KindCustomer}))
	admin := apiclient.WithToken(ctx, webtest.AdminToken)

	cc := cartapi.CartCreate{Email: "ann@example.com", Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}}
	cart, err := c.Create(customer, cc, "cart-1")
	if err != nil || cart.Email != "ann@example.com" {
		t.Fatalf("create = %+v, %v", cart, err)
	}
	checkLines(t, cart, lineWant{"MUG-1", 1, 1250, true})
	if again, err := c.Create(customer, cc, "cart-1"); err != nil || again.ID != cart.ID {
		t.Fatalf("repeat create = %+v, %v; want cart %s", again, err, cart.ID)
	}
	if cart, err = c.AddItem(ctx, cart.ID, cartapi.Item{SKU: "TEA-1", Quantity: 2}); err != nil {
		t.Fatal(err)
	}
	checkLines(t, cart, lineWant{"MUG-1", 1, 1250, true}, lineWant{"TEA-1", 2, 300, true})
	if cart, err = c.SetQuantity(ctx, cart.ID, cart.Lines[1].ID, 5); err != nil {
		t.Fatal(err)
	}
	checkLines(t, cart, lineWant{"MUG-1", 1, 1250, true}, lineWant{"TEA-1", 5, 300, true})
	if cart, err = c.RemoveItem(ctx, cart.ID, cart.Lines[0].ID); err != nil {
		t.Fatal(err)
	}
	checkLines(t, cart, lineWant{"TEA-1", 5, 300, true})
	coupon, country, email := "save10", "DE", ""
	cart, err = c.Update(ctx, cart.ID, cartapi.CartUpdate{Coupon: &coupon, Country: &country, Email: &email})
	if err != nil || cart.Coupon != "SAVE10" || cart.Country != "DE" || cart.Email != "" || cart.Totals == nil || cart.Totals.Discount.Amount != 150 {
		t.Fatalf("update = %+v, %v", cart, err)
	}

	// Refusals keep the answer; only an unknown cart is ErrNotFound.
	bad := "BOGUS"
	if _, err := c.Update(ctx, cart.ID, cartapi.CartUpdate{Coupon: &bad}); !apiclient.IsCode(err, "unknown_coupon") {
		t.Errorf("unknown coupon: %v", err)
	}
	if _, err := c.RemoveItem(ctx, cart.ID, "nope"); !apiclient.IsCode(err, "line_not_found") || errors.Is(err, cartapi.ErrNotFound) {
		t.Errorf("unknown line: %v, want line_not_found and not ErrNotFound", err)
	}
	if _, err := c.AddItem(tenantCtx(t, "acme"), cart.ID, cartapi.Item{SKU: "TEA-1", Quantity: 1}); !errors.Is(err, cartapi.ErrNotFound) ||
		!apiclient.IsCode(err, "cart_not_found") {
		t.Errorf("another tenant's cart: %v, want ErrNotFound", err)
	}

	// The admin list, filtered and paged.
	done, err := c.Create(ctx, cartapi.CartCreate{Items: []cartapi.Item{{SKU: "MUG-1", Quantity: 1}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	f.confirm("default", "order-1", done.ID)
	l, err := c.AdminCarts(admin, cartapi.ListParams{Status: cartapi.StatusCheckedOut})
	if err != nil || len(l.Items) != 1 || l.Items[0].ID != done.ID || l.Items[0].OrderID != "order-1" {
		t.Fatalf("checked-out carts = %+v, %v", l, err)
	}
	first, err := c.AdminCarts(admin, cartapi.ListParams{Limit: 1})
	if err != nil || len(first.Items) != 1 || first.Items[0].ID != done.ID || first.NextCursor == "" {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	next, err := c.AdminCarts(admin, cartapi.ListParams{Limit: 1, Cursor: first.NextCursor})
	if err != nil || len(next.Items) != 1 || next.Items[0].ID != cart.ID || next.NextCursor != "" {
		t.Fatalf("second page = %+v, %v", next, err)
	}
	if _, err := c.AdminCarts(ctx, cartapi.ListParams{}); !apiclient.IsStatus(err, http.StatusUnauthorized) {
		t.Errorf("admin list as a guest: %v, want 401", err)
	}
}

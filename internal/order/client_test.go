package order

import (
	"errors"
	"testing"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestClientWalksAnOrder takes orders through their life with the typed
// client against the service's routes: a guest's checkout, reads and
// cancellation with the order token, staff shipping, delivery, returns and
// refunds, and a customer's own orders.
func TestClientWalksAnOrder(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		srv := webtest.New(t, func(api *web.API) { w.svc.Routes(api) })
		// One client, as the UI has: each call carries its caller's
		// token, or none for a guest.
		c := orderapi.NewClient(srv.URL, nil)
		ctx := ctxFor(t, "default")
		staff := apiclient.WithToken(ctx, webtest.AdminToken)
		ada := apiclient.WithToken(ctx, webtest.Token(t, auth.Principal{Tenant: "default", Subject: "cust-1", Kind: auth.KindCustomer}))

		o, err := c.Checkout(ctx, checkoutReq(), "c1")
		if err != nil || o.Status != orderapi.StatusConfirmed || o.Token == "" {
			t.Fatalf("checkout: %+v, %v", o, err)
		}
		token := o.Token // in the checkout answer only
		if again, err := c.Checkout(ctx, checkoutReq(), "c1"); err != nil || again.ID != o.ID {
			t.Fatalf("checkout retried: %s, %v; want %s", again.ID, err, o.ID)
		}
		if got, err := c.GuestOrder(ctx, o.ID, token); err != nil || got.ID != o.ID || got.Token != "" {
			t.Fatalf("guest order: %+v, %v", got, err)
		}
		for _, token := range []string{"", "nope"} {
			if _, err := c.GuestOrder(ctx, o.ID, token); !errors.Is(err, orderapi.ErrNotFound) {
				t.Errorf("guest order with token %q: %v, want ErrNotFound", token, err)
			}
		}

		o, err = c.Ship(staff, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}, "s1")
		if err != nil || o.Status != orderapi.StatusShipped || len(o.Shipments) != 1 {
			t.Fatalf("ship: %+v, %v", o, err)
		}
		if again, err := c.Ship(staff, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}, "s1"); err != nil || len(again.Shipments) != 1 {
			t.Fatalf("ship retried with its key: %+v, %v", again.Shipments, err)
		}
		if _, err := c.Track(staff, o.ID, "nope", orderapi.TrackingUpdate{Status: orderapi.ShipmentInTransit}); !errors.Is(err, orderapi.ErrShipmentNotFound) {
			t.Errorf("track an unknown shipment: %v, want ErrShipmentNotFound", err)
		}
		o, err = c.Track(staff, o.ID, o.Shipments[0].ID, orderapi.TrackingUpdate{Status: orderapi.ShipmentDelivered, Location: "London"})
		if err != nil || o.Status != orderapi.StatusDelivered {
			t.Fatalf("deliver: %+v, %v", o, err)
		}
		if _, err := c.Cancel(staff, o.ID); !apiclient.IsCode(err, "invalid_transition") {
			t.Errorf("cancel a delivered order: %v, want 409 invalid_transition", err)
		}

		one := orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}, Reason: "chipped"}
		o, err = c.RequestReturn(ctx, o.ID, token, one, "")
		if err != nil || len(o.Returns) != 1 || o.Returns[0].Status != orderapi.ReturnRequested {
			t.Fatalf("request return: %+v, %v", o.Returns, err)
		}
		if _, err := c.ReceiveReturn(staff, o.ID, "nope", orderapi.ReturnReceive{}); !errors.Is(err, orderapi.ErrReturnNotFound) {
			t.Errorf("receive an unknown return: %v, want ErrReturnNotFound", err)
		}
		o, err = c.ReceiveReturn(staff, o.ID, o.Returns[0].ID, orderapi.ReturnReceive{})
		if err != nil || o.Returns[0].Status != orderapi.ReturnReceived || o.Refunded.Amount != 1200 {
			t.Fatalf("receive return: %+v refunded %v, %v", o.Returns, o.Refunded, err)
		}
		o, err = c.RequestReturn(ctx, o.ID, token, one, "")
		if err != nil || len(o.Returns) != 2 {
			t.Fatalf("second return: %+v, %v", o.Returns, err)
		}
		rid := o.Returns[1].ID
		if o.Returns[0].Status == orderapi.ReturnRequested {
			rid = o.Returns[0].ID
		}
		if o, err = c.RejectReturn(staff, o.ID, rid); err != nil {
			t.Fatalf("reject return: %v", err)
		}
		o, err = c.Refund(staff, o.ID, orderapi.RefundCreate{Amount: money.Money{Amount: 100, Currency: "EUR"}, Key: "r1"})
		if err != nil || o.Refunded.Amount != 1300 {
			t.Fatalf("refund: refunded %v, %v", o.Refunded, err)
		}

		o2, err := c.Checkout(ctx, checkoutReq(), "c2")
		if err != nil {
			t.Fatal(err)
		}
		if o2, err = c.GuestCancel(ctx, o2.ID, o2.Token); err != nil || o2.Status != orderapi.StatusCancelled {
			t.Fatalf("guest cancel: %+v, %v", o2, err)
		}
		l, err := c.List(staff, orderapi.ListParams{Status: orderapi.StatusCancelled, Limit: 1})
		if err != nil || len(l.Items) != 1 || l.Items[0].ID != o2.ID {
			t.Fatalf("list cancelled: %+v, %v", l, err)
		}
		if got, err := c.Get(staff, o.ID); err != nil || got.Status != orderapi.StatusDelivered {
			t.Fatalf("get: %+v, %v", got, err)
		}

		mine, err := c.Checkout(ada, checkoutReq(), "c3")
		if err != nil || mine.CustomerID != "cust-1" {
			t.Fatalf("customer's checkout: %+v, %v", mine, err)
		}
		if got, err := c.GuestOrder(ada, mine.ID, ""); err != nil || got.ID != mine.ID {
			t.Errorf("customer's order without a token: %+v, %v", got, err)
		}
		if _, err := c.GuestOrder(ada, o.ID, ""); !errors.Is(err, orderapi.ErrNotFound) {
			t.Errorf("another's order: %v, want ErrNotFound", err)
		}
		ml, err := c.MyOrders(ada, "", 10)
		if err != nil || len(ml.Items) != 1 || ml.Items[0].ID != mine.ID {
			t.Errorf("my orders: %+v, %v", ml, err)
		}
	}, Migrations...)
}

package order

import (
	"net/http"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestReturnRequestOnce: a guest's return request sent again with its
// Idempotency-Key (a form resent, a retry after a lost answer) makes one
// return, also when the sends overlap; the key with other lines is
// refused; another key is another return. The platform keeps no outcomes
// of anonymous callers, so this is the order service's own doing.
func TestReturnRequestOnce(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		srv := webtest.New(t, func(api *web.API) { w.svc.Routes(api) })
		guest := orderapi.NewClient(srv.URL, nil)
		staff := orderapi.NewClient(srv.URL, &http.Client{Transport: bearer(webtest.AdminToken)})
		ctx := ctxFor(t, "default")

		o, err := guest.Checkout(ctx, checkoutReq(orderapi.Item{SKU: "MUG-1", Quantity: 3}), "c1")
		if err != nil {
			t.Fatal(err)
		}
		token := o.Token
		if _, err := staff.Ship(ctx, o.ID, orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "T1"}, "s1"); err != nil {
			t.Fatal(err)
		}
		one := orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}, Reason: "chipped"}

		first, err := guest.RequestReturn(ctx, o.ID, token, one, "r1")
		if err != nil || len(first.Returns) != 1 {
			t.Fatalf("return: %+v, %v", first.Returns, err)
		}
		again, err := guest.RequestReturn(ctx, o.ID, token, one, "r1")
		if err != nil || len(again.Returns) != 1 || again.Returns[0].ID != first.Returns[0].ID {
			t.Fatalf("the same request again: %+v, %v", again.Returns, err)
		}
		two := orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 2}}, Reason: "chipped"}
		if _, err := guest.RequestReturn(ctx, o.ID, token, two, "r1"); !apiclient.IsCode(err, "idempotency_key_reused") {
			t.Errorf("the key with other lines: %v, want 422 idempotency_key_reused", err)
		}
		// Without the order's token the key tells nothing.
		if _, err := guest.RequestReturn(ctx, o.ID, "nope", one, "r1"); !apiclient.IsStatus(err, http.StatusNotFound) {
			t.Errorf("the key without the token: %v, want 404", err)
		}

		// Overlapping sends of one key: one return.
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				_, err := guest.RequestReturn(ctx, o.ID, token, one, "r2")
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("overlapping send: %v", err)
			}
		}
		got, err := staff.Get(ctx, o.ID)
		if err != nil || len(got.Returns) != 2 {
			t.Fatalf("after r1 twice and r2 four times: %d returns, %v; want 2", len(got.Returns), err)
		}
		// Without a key each request is a request of its own.
		if got, err = guest.RequestReturn(ctx, o.ID, token, one, ""); err != nil || len(got.Returns) != 3 {
			t.Fatalf("a request without a key: %d returns, %v", len(got.Returns), err)
		}
	}, Migrations...)
}

// bearer is a transport that sends its token as the caller's bearer token.
type bearer string

func (t bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(t))
	return http.DefaultTransport.RoundTrip(r)
}

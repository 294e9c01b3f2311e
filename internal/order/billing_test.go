package order

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestBillingAddress: a checkout may name a billing address, checked by the
// shipping address's rules and kept with the order (and its events); an
// order without one has none, and bills its shipping address.
func TestBillingAddress(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		srv := webtest.New(t, func(api *web.API) { w.svc.Routes(api) })
		visa := strings.Replace(body, "%s", "tok_visa", 1)
		billed := strings.Replace(visa, `"payment"`, `"billing_address":{"name":" Acme Trading Ltd ","line1":"5 Quay Street","city":"Bristol","postal_code":"BS1 4DJ","country":"gb"},
 "payment"`, 1)
		st, b := do(t, srv.URL, call{method: "POST", path: "/api/v1/checkout", body: billed, key: "bill-1"})
		var o orderapi.Order
		if err := json.Unmarshal(b, &o); st != 201 || err != nil {
			t.Fatalf("checkout with a billing address: %d %s", st, b)
		}
		want := orderapi.Address{Name: "Acme Trading Ltd", Line1: "5 Quay Street", City: "Bristol", PostalCode: "BS1 4DJ", Country: "GB"}
		if o.BillingAddress == nil || *o.BillingAddress != want {
			t.Errorf("billing address answered: %+v", o.BillingAddress)
		}
		var read orderapi.Order
		st, b = do(t, srv.URL, call{method: "GET", path: "/api/v1/orders/" + o.ID, token: o.Token})
		if err := json.Unmarshal(b, &read); st != 200 || err != nil || read.BillingAddress == nil || *read.BillingAddress != want {
			t.Errorf("billing address read back: %d %s", st, b)
		}
		st, b = do(t, srv.URL, call{method: "POST", path: "/api/v1/checkout", body: visa, key: "bill-2"})
		if st != 201 || strings.Contains(string(b), "billing_address") {
			t.Errorf("an order without a billing address: %d %s", st, b)
		}
		bad := strings.Replace(billed, `"BS1 4DJ"`, `"BS1 <4DJ>"`, 1)
		st, b = do(t, srv.URL, call{method: "POST", path: "/api/v1/checkout", body: bad, key: "bill-3"})
		var p problem
		_ = json.Unmarshal(b, &p)
		if st != 422 || p.Code != "validation_failed" || len(p.Errors) == 0 || p.Errors[0].Location != "body.billing_address.postal_code" {
			t.Errorf("a bad billing postal code: %d %s", st, b)
		}
	}, Migrations...)
}

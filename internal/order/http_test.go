package order

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

type call struct {
	method, path, body string
	key, tenant, token string
	admin              bool
}

func do(t *testing.T, base string, c call) (int, []byte) {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(t.Context(), c.method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Idempotency-Key", c.key)
	}
	if c.tenant != "" {
		req.Header.Set(tenancy.Header, c.tenant)
	}
	if c.token != "" {
		req.Header.Set("X-Order-Token", c.token)
	}
	if c.admin {
		req.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

const body = `{"items":[{"sku":"MUG-1","quantity":2}],"email":"ada@example.com",
 "shipping_address":{"name":"Ada","line1":"1 Row","city":"London","postal_code":"N1","country":"GB"},
 "payment":{"provider":"fake","token":"%s"}}`

func TestHTTP(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		srv := webtest.New(t, func(api *web.API) { w.svc.Routes(api) })
		visa := strings.Replace(body, "%s", "tok_visa", 1)

		if st, b := do(t, srv.URL, call{method: "POST", path: "/api/v1/checkout", body: visa}); st != 428 || !strings.Contains(string(b), "idempotency_key_required") {
			t.Fatalf("no key: %d %s", st, b)
		}
		st, b := do(t, srv.URL, call{method: "POST", path: "/api/v1/checkout", body: visa, key: "h1"})
		if st != http.StatusCreated {
			t.Fatalf("checkout: %d %s", st, b)
		}
		var o orderapi.Order
		if err := json.Unmarshal(b, &o); err != nil || o.Status != "confirmed" || o.Token == "" || o.TotalDue.Amount != 2900 {
			t.Fatalf("checkout answer %s (%v)", b, err)
		}
		if st, b2 := do(t, srv.URL, call{method: "POST", path: "/api/v1/checkout", body: visa, key: "h1"}); st != 201 || string(b2) != string(b) {
			t.Errorf("replay: %d %s", st, b2)
		}
		if st, _ := do(t, srv.URL, call{method: "GET", path: "/api/v1/orders/" + o.ID, token: o.Token}); st != 200 {
			t.Errorf("guest get with header token: %d", st)
		}
		if st, b := do(t, srv.URL, call{method: "GET", path: "/api/v1/orders/" + o.ID + "?token=" + o.Token}); st != 200 || strings.Contains(string(b), `"token"`) {
			t.Errorf("guest get with query token: %d %s", st, b)
		}
		for _, c := range []call{
			{method: "GET", path: "/api/v1/orders/" + o.ID},
			{method: "GET", path: "/api/v1/orders/" + o.ID, token: "nope"},
			{method: "GET", path: "/api/v1/orders/" + o.ID, token: o.Token, tenant: "acme"},
			{method: "GET", path: "/api/v1/admin/orders/" + o.ID, admin: true, tenant: "acme"},
		} {
			if st, _ := do(t, srv.URL, c); st != 404 {
				t.Errorf("%+v: %d, want 404", c, st)
			}
		}
		if st, _ := do(t, srv.URL, call{method: "GET", path: "/api/v1/admin/orders/" + o.ID}); st != 401 {
			t.Errorf("admin get without token: %d", st)
		}

		cases := []struct {
			name, body, code string
			status           int
			value            any
		}{
			// The reason is in the detail: a value at payment.token is never echoed.
			{"declined", strings.Replace(body, "%s", "tok_declined", 1), "payment_declined", 402, nil},
			{"timeout", strings.Replace(body, "%s", "tok_timeout", 1), "payment_timeout", 504, nil},
			{"out of stock", strings.Replace(visa, `"quantity":2`, `"quantity":500`, 1), "out_of_stock", 409, "MUG-1"},
			{"unknown sku", strings.Replace(visa, "MUG-1", "NOPE", 1), "unknown_sku", 422, "NOPE"},
			{"bad country", strings.Replace(visa, `"GB"`, `"QQ"`, 1), "validation_failed", 422, "QQ"},
			{"zero quantity", strings.Replace(visa, `"quantity":2`, `"quantity":0`, 1), "validation_failed", 422, nil},
			{"missing city", strings.Replace(visa, `"city":"London",`, ``, 1), "validation_failed", 422, nil},
		}
		for _, c := range cases {
			st, b := do(t, srv.URL, call{method: "POST", path: "/api/v1/checkout", body: c.body, key: "k-" + c.name})
			var p problem
			_ = json.Unmarshal(b, &p)
			if st != c.status || p.Code != c.code {
				t.Errorf("%s: %d %s, want %d %s", c.name, st, b, c.status, c.code)
				continue
			}
			if c.value != nil && (len(p.Errors) == 0 || p.Errors[0].Value != c.value) {
				t.Errorf("%s: errors %+v, want value %v", c.name, p.Errors, c.value)
			}
			if c.name == "declined" && (!strings.Contains(p.Detail, "declined") || len(p.Errors) == 0 || p.Errors[0].Value != nil) {
				t.Errorf("%s: %s, want the reason in the detail and no value at body.payment.token", c.name, b)
			}
		}
		if st, b := do(t, srv.URL, call{method: "POST", path: "/api/v1/checkout", body: strings.Replace(visa, `"quantity":2`, `"quantity":3`, 1), key: "h1"}); st != 422 || !strings.Contains(string(b), "idempotency_key_reused") {
			t.Errorf("key reused: %d %s", st, b)
		}

		st, b = do(t, srv.URL, call{method: "POST", path: "/api/v1/admin/orders/" + o.ID + "/shipments", admin: true,
			body: `{"carrier":"DHL","tracking_number":"T1"}`})
		if st != 201 || !strings.Contains(string(b), `"status":"shipped"`) {
			t.Fatalf("ship: %d %s", st, b)
		}
		if st, b := do(t, srv.URL, call{method: "POST", path: "/api/v1/admin/orders/" + o.ID + "/refunds", admin: true,
			body: `{"amount":{"amount":99999,"currency":"EUR"},"key":"r1"}`}); st != 409 || !strings.Contains(string(b), "refund_exceeds_captured") {
			t.Errorf("refund too much: %d %s", st, b)
		}
		if st, b := do(t, srv.URL, call{method: "POST", path: "/api/v1/admin/orders/" + o.ID + "/cancel", admin: true}); st != 409 || !strings.Contains(string(b), "invalid_transition") {
			t.Errorf("cancel shipped: %d %s", st, b)
		}
		st, b = do(t, srv.URL, call{method: "GET", path: "/api/v1/admin/orders?status=cancelled&limit=2", admin: true})
		var l orderapi.OrderList
		if err := json.Unmarshal(b, &l); st != 200 || err != nil || len(l.Items) != 2 || l.NextCursor == "" {
			t.Fatalf("list: %d %s", st, b)
		}
		st, b = do(t, srv.URL, call{method: "GET", path: "/api/v1/admin/orders?status=cancelled&limit=2&cursor=" + l.NextCursor, admin: true})
		var l2 orderapi.OrderList
		if err := json.Unmarshal(b, &l2); st != 200 || err != nil || len(l2.Items) != 1 || l2.NextCursor != "" || l2.Items[0].ID == l.Items[1].ID {
			t.Fatalf("list page 2: %d %s", st, b)
		}
		if st, _ := do(t, srv.URL, call{method: "GET", path: "/api/v1/admin/orders?cursor=bogus", admin: true}); st != 422 {
			t.Errorf("bad cursor: %d", st)
		}
	}, Migrations...)
}

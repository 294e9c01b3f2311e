package order

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// send makes one request with an Authorization header (none if empty)
// and extra header pairs, and returns the status, the problem code if any
// and the body.
func send(t *testing.T, base, method, path, body, authz string, headers ...string) (int, string, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var p problem
	_ = json.Unmarshal(b, &p)
	return res.StatusCode, p.Code, b
}

// TestAccess is the order service's authorization matrix: every admin
// operation × every staff role and the other kinds of caller, with real
// credentials through the platform. Allowed callers get past
// authorization (the answer may still be 404 or 422 for made-up input);
// the others 401 or 403 forbidden.
func TestAccess(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		srv := webtest.New(t, func(api *web.API) { w.svc.Routes(api) })
		ops := []struct{ id, method, path, body string }{
			{"admin-list-orders", "GET", "/api/v1/admin/orders", ""},
			{"admin-get-order", "GET", "/api/v1/admin/orders/nope", ""},
			{"admin-ship-order", "POST", "/api/v1/admin/orders/nope/shipments", `{}`},
			{"admin-track-shipment", "POST", "/api/v1/admin/orders/nope/shipments/nope/events", `{}`},
			{"admin-cancel-order", "POST", "/api/v1/admin/orders/nope/cancel", ""},
			{"admin-refund-order", "POST", "/api/v1/admin/orders/nope/refunds", `{}`},
			{"admin-receive-return", "POST", "/api/v1/admin/orders/nope/returns/nope/receive", `{}`},
			{"admin-reject-return", "POST", "/api/v1/admin/orders/nope/returns/nope/reject", ""},
		}
		if len(ops) != len(access) {
			t.Fatalf("the matrix covers %d operations, access has %d", len(ops), len(access))
		}
		type caller struct {
			name, authz string
			role        auth.Role
		}
		callers := []caller{
			{"admin", "Bearer " + webtest.AdminToken, ""},
			{"customer", webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer}), ""},
			{"anonymous", "", ""},
		}
		for _, r := range auth.StaffRoles {
			callers = append(callers, caller{string(r), webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s-" + string(r), Kind: auth.KindStaff, Role: r}), r})
		}
		for _, op := range ops {
			for _, c := range callers {
				allowed := c.name == "admin" || (c.role != "" && slices.Contains(access[op.id], c.role))
				st, code, b := send(t, srv.URL, op.method, op.path, op.body, c.authz)
				refused := st == http.StatusUnauthorized || (st == http.StatusForbidden && code == "forbidden")
				if allowed == refused {
					t.Errorf("%s as %s: %d %s, allowed %v", op.id, c.name, st, b, allowed)
				}
			}
		}
		// Support reads orders and does nothing else; staff do not refund.
		if !slices.Contains(access["admin-get-order"], auth.RoleSupport) || slices.Contains(access["admin-cancel-order"], auth.RoleSupport) ||
			slices.Contains(access["admin-refund-order"], auth.RoleStaff) || !slices.Contains(access["admin-ship-order"], auth.RoleStaff) {
			t.Errorf("access table: %v", access)
		}
		webtest.CheckDocumentedRoles(t, srv.URL, access)
		webtest.CheckDocument(t, srv.URL)
	}, Migrations...)
}

// TestHTTPCustomer: over HTTP, a checkout with a customer's token is
// theirs: they list it in /api/v1/me/orders and read it without the order
// token; another customer and anonymous callers cannot.
func TestHTTPCustomer(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		srv := webtest.New(t, func(api *web.API) { w.svc.Routes(api) })
		ada := webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "cus-ada", Kind: auth.KindCustomer})
		bob := webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "cus-bob", Kind: auth.KindCustomer})
		staff := webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s1", Kind: auth.KindStaff, Role: auth.RoleOwner})
		acmeAda := webtest.Bearer(t, auth.Principal{Tenant: "acme", Subject: "cus-ada", Kind: auth.KindCustomer})

		visa := strings.Replace(body, "%s", "tok_visa", 1)
		st, _, b := send(t, srv.URL, "POST", "/api/v1/checkout", visa, ada, "Idempotency-Key", "me-1")
		var o orderapi.Order
		if err := json.Unmarshal(b, &o); st != http.StatusCreated || err != nil || o.CustomerID != "cus-ada" {
			t.Fatalf("checkout as ada: %d %s", st, b)
		}
		if st, _, b := send(t, srv.URL, "POST", "/api/v1/checkout", visa, "", "Idempotency-Key", "guest-1"); st != http.StatusCreated || strings.Contains(string(b), "customer_id") {
			t.Fatalf("guest checkout: %d %s", st, b)
		}

		st, _, b = send(t, srv.URL, "GET", "/api/v1/me/orders", "", ada)
		var l orderapi.OrderList
		if err := json.Unmarshal(b, &l); st != 200 || err != nil || len(l.Items) != 1 || l.Items[0].ID != o.ID || l.Items[0].Token != "" {
			t.Errorf("ada's orders: %d %s", st, b)
		}
		for _, tc := range []struct {
			name, method, path, authz string
			status                    int
			code                      string
		}{
			{"ada reads her order", "GET", "/api/v1/orders/" + o.ID, ada, 200, ""},
			{"bob reads ada's order", "GET", "/api/v1/orders/" + o.ID, bob, 404, "order_not_found"},
			{"anonymous reads ada's order", "GET", "/api/v1/orders/" + o.ID, "", 404, "order_not_found"},
			{"bob cancels ada's order", "POST", "/api/v1/orders/" + o.ID + "/cancel", bob, 404, "order_not_found"},
			{"ada in another store", "GET", "/api/v1/me/orders", acmeAda, 401, "unauthorized"},
			{"bob's orders", "GET", "/api/v1/me/orders", bob, 200, ""},
			{"anonymous orders", "GET", "/api/v1/me/orders", "", 401, "unauthorized"},
			{"staff orders", "GET", "/api/v1/me/orders", staff, 403, "forbidden"},
			{"bad cursor", "GET", "/api/v1/me/orders?cursor=bogus", ada, 422, "invalid_cursor"},
			{"ada cancels her order", "POST", "/api/v1/orders/" + o.ID + "/cancel", ada, 200, ""},
		} {
			st, code, b := send(t, srv.URL, tc.method, tc.path, "", tc.authz)
			if st != tc.status || code != tc.code {
				t.Errorf("%s: %d %s, want %d %s", tc.name, st, b, tc.status, tc.code)
			}
		}
	}, Migrations...)
}

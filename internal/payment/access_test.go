package payment

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestAccess: every staff role reads payments, only owners and managers
// act on one by hand (capture, void, refund), and authorizing is the
// checkout's (the admin and service tokens); no customer or anonymous
// caller reaches any of them. The OpenAPI document says exactly what the
// table says.
func TestAccess(t *testing.T) {
	svc, _, _ := newTestService(t, sqldbtest.Open(t, "", Migrations...))
	url := webtest.New(t, func(api *web.API) { svc.Routes(api) }).URL
	staff := func(r auth.Role) string {
		return webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s-" + string(r), Kind: auth.KindStaff, Role: r})
	}
	customer := webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer})
	const authorize = `{"order_id":"o-access","amount":{"amount":500,"currency":"EUR"},"token":"` + TokenVisa + `"}`
	const capture = `{"amount":{"amount":500,"currency":"EUR"}}`
	for _, c := range []struct {
		name, method, path, body, authz string
		want                            int
	}{
		{"support reads payments", "GET", "/api/v1/admin/payments", "", staff(auth.RoleSupport), 200},
		{"an owner may not authorize", "POST", "/api/v1/admin/payments", authorize, staff(auth.RoleOwner), 403},
		{"the admin token authorizes", "POST", "/api/v1/admin/payments", authorize, "Bearer " + webtest.AdminToken, 200},
		{"staff may not capture", "POST", "/api/v1/admin/payments/o-access/capture", capture, staff(auth.RoleStaff), 403},
		{"a manager captures", "POST", "/api/v1/admin/payments/o-access/capture", capture, staff(auth.RoleManager), 200},
		{"a customer reads no payments", "GET", "/api/v1/admin/payments", "", customer, 403},
		{"anonymous reads no payments", "GET", "/api/v1/admin/payments", "", "", 401},
	} {
		req, err := http.NewRequestWithContext(t.Context(), c.method, url+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.authz != "" {
			req.Header.Set("Authorization", c.authz)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s: %s %s = %d, want %d", c.name, c.method, c.path, res.StatusCode, c.want)
		}
	}
	webtest.CheckDocumentedRoles(t, url, access)
	webtest.CheckDocument(t, url)
}

package inventory

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestAccess: reading stock is open to every staff role, changing it to
// owners, managers and staff but not support, and the saga's operations
// (reserve, commit, release, restock) to the admin and service tokens
// only; no customer or anonymous caller reaches any of them. The OpenAPI
// document says exactly what the table says.
func TestAccess(t *testing.T) {
	f := newHTTPFixture(t, sqldbtest.Open(t, "", Migrations...))
	staff := func(r auth.Role) string {
		return webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s-" + string(r), Kind: auth.KindStaff, Role: r})
	}
	customer := webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer})
	for _, c := range []struct {
		name, method, path, body, authz string
		want                            int
	}{
		{"support reads stock", "GET", "/api/v1/admin/inventory", "", staff(auth.RoleSupport), 200},
		{"staff adjusts stock", "POST", "/api/v1/admin/inventory/MUG-1/adjustments", `{"delta":2,"reason":"delivery"}`, staff(auth.RoleStaff), 200},
		{"support may not adjust", "POST", "/api/v1/admin/inventory/MUG-1/adjustments", `{"delta":2,"reason":"delivery"}`, staff(auth.RoleSupport), 403},
		{"an owner may not reserve", "POST", "/api/v1/admin/inventory/reservations", `{"order_id":"o1","lines":[{"sku":"MUG-1","quantity":1}]}`, staff(auth.RoleOwner), 403},
		{"a customer reads no stock", "GET", "/api/v1/admin/inventory", "", customer, 403},
		{"anonymous reads no stock", "GET", "/api/v1/admin/inventory", "", "", 401},
	} {
		req, err := http.NewRequestWithContext(t.Context(), c.method, f.url+c.path, strings.NewReader(c.body))
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
	webtest.CheckDocumentedRoles(t, f.url, access)
	webtest.CheckDocument(t, f.url)
}

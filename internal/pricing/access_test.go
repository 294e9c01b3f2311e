package pricing

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestAccess: owners, managers and staff read the pricing rules, only
// owners and managers change them, support sees none of them, and
// redeeming a coupon for an order is the checkout's (the admin and
// service tokens); no customer or anonymous caller reaches any of them.
// The OpenAPI document says exactly what the table says.
func TestAccess(t *testing.T) {
	f := newFixture(t, sqldbtest.Open(t, "", Migrations...))
	staff := func(r auth.Role) string {
		return webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s-" + string(r), Kind: auth.KindStaff, Role: r})
	}
	customer := webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer})
	const discount = `{"name":"Spring","kind":"percentage","percent_bp":1000,"scope":"order"}`
	for _, c := range []struct {
		name, method, path, body, authz string
		want                            int
	}{
		{"staff reads discounts", "GET", "/api/v1/admin/pricing/discounts", "", staff(auth.RoleStaff), 200},
		{"support reads no discounts", "GET", "/api/v1/admin/pricing/discounts", "", staff(auth.RoleSupport), 403},
		{"a manager creates a discount", "POST", "/api/v1/admin/pricing/discounts", discount, staff(auth.RoleManager), 201},
		{"staff may not create one", "POST", "/api/v1/admin/pricing/discounts", discount, staff(auth.RoleStaff), 403},
		{"an owner may not redeem for an order", "POST", "/api/v1/admin/pricing/redemptions", `{"order_id":"o1","coupon":"X"}`, staff(auth.RoleOwner), 403},
		{"a customer reads no discounts", "GET", "/api/v1/admin/pricing/discounts", "", customer, 403},
		{"anonymous reads no discounts", "GET", "/api/v1/admin/pricing/discounts", "", "", 401},
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

package pricing

import (
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
	const discount = `{"name":"Spring","kind":"percentage","percent_bp":1000,"scope":"order"}`
	webtest.CheckCalls(t, f.url, []webtest.Call{
		{Name: "staff reads discounts", Method: "GET", Path: "/api/v1/admin/pricing/discounts", Authz: webtest.Staff(t, auth.RoleStaff), Want: 200},
		{Name: "support reads no discounts", Method: "GET", Path: "/api/v1/admin/pricing/discounts", Authz: webtest.Staff(t, auth.RoleSupport), Want: 403},
		{Name: "a manager creates a discount", Method: "POST", Path: "/api/v1/admin/pricing/discounts", Body: discount, Authz: webtest.Staff(t, auth.RoleManager), Want: 201},
		{Name: "staff may not create one", Method: "POST", Path: "/api/v1/admin/pricing/discounts", Body: discount, Authz: webtest.Staff(t, auth.RoleStaff), Want: 403},
		{Name: "an owner may not redeem for an order", Method: "POST", Path: "/api/v1/admin/pricing/redemptions", Body: `{"order_id":"o1","coupon":"X"}`, Authz: webtest.Staff(t, auth.RoleOwner), Want: 403},
		{Name: "a customer reads no discounts", Method: "GET", Path: "/api/v1/admin/pricing/discounts", Authz: webtest.Customer(t), Want: 403},
		{Name: "anonymous reads no discounts", Method: "GET", Path: "/api/v1/admin/pricing/discounts", Want: 401},
	})
	webtest.CheckDocumentedRoles(t, f.url, access)
	webtest.CheckDocument(t, f.url)
}

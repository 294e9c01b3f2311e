package inventory

import (
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
	webtest.CheckCalls(t, f.url, []webtest.Call{
		{Name: "support reads stock", Method: "GET", Path: "/api/v1/admin/inventory", Authz: webtest.Staff(t, auth.RoleSupport), Want: 200},
		{Name: "staff adjusts stock", Method: "POST", Path: "/api/v1/admin/inventory/MUG-1/adjustments", Body: `{"delta":2,"reason":"delivery"}`, Authz: webtest.Staff(t, auth.RoleStaff), Want: 200},
		{Name: "support may not adjust", Method: "POST", Path: "/api/v1/admin/inventory/MUG-1/adjustments", Body: `{"delta":2,"reason":"delivery"}`, Authz: webtest.Staff(t, auth.RoleSupport), Want: 403},
		{Name: "an owner may not reserve", Method: "POST", Path: "/api/v1/admin/inventory/reservations", Body: `{"order_id":"o1","lines":[{"sku":"MUG-1","quantity":1}]}`, Authz: webtest.Staff(t, auth.RoleOwner), Want: 403},
		{Name: "a customer reads no stock", Method: "GET", Path: "/api/v1/admin/inventory", Authz: webtest.Customer(t), Want: 403},
		{Name: "anonymous reads no stock", Method: "GET", Path: "/api/v1/admin/inventory", Want: 401},
	})
	webtest.CheckDocumentedRoles(t, f.url, access)
	webtest.CheckDocument(t, f.url)
}

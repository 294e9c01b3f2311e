package payment

import (
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
	const authorize = `{"order_id":"o-access","amount":{"amount":500,"currency":"EUR"},"token":"` + TokenVisa + `"}`
	const capture = `{"amount":{"amount":500,"currency":"EUR"}}`
	webtest.CheckCalls(t, url, []webtest.Call{
		{Name: "support reads payments", Method: "GET", Path: "/api/v1/admin/payments", Authz: webtest.Staff(t, auth.RoleSupport), Want: 200},
		{Name: "an owner may not authorize", Method: "POST", Path: "/api/v1/admin/payments", Body: authorize, Authz: webtest.Staff(t, auth.RoleOwner), Want: 403},
		{Name: "the admin token authorizes", Method: "POST", Path: "/api/v1/admin/payments", Body: authorize, Authz: "Bearer " + webtest.AdminToken, Want: 200},
		{Name: "staff may not capture", Method: "POST", Path: "/api/v1/admin/payments/o-access/capture", Body: capture, Authz: webtest.Staff(t, auth.RoleStaff), Want: 403},
		{Name: "a manager captures", Method: "POST", Path: "/api/v1/admin/payments/o-access/capture", Body: capture, Authz: webtest.Staff(t, auth.RoleManager), Want: 200},
		{Name: "a customer reads no payments", Method: "GET", Path: "/api/v1/admin/payments", Authz: webtest.Customer(t), Want: 403},
		{Name: "anonymous reads no payments", Method: "GET", Path: "/api/v1/admin/payments", Want: 401},
	})
	webtest.CheckDocumentedRoles(t, url, access)
	webtest.CheckDocument(t, url)
}

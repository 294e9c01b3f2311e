package catalog

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// TestAccess is the catalog's authorization matrix: every admin operation
// × every staff role and the other kinds of caller, with real credentials
// through the platform. Allowed callers get past authorization (the answer
// may still be 404 or 422 for made-up input); the others 403 forbidden.
func TestAccess(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)
	ops := []struct{ id, method, path, body string }{
		{"admin-create-product", "POST", "/api/v1/admin/products", `{}`},
		{"admin-list-products", "GET", "/api/v1/admin/products", ""},
		{"admin-get-product", "GET", "/api/v1/admin/products/nope", ""},
		{"admin-update-product", "PATCH", "/api/v1/admin/products/nope", `{}`},
		{"admin-archive-product", "DELETE", "/api/v1/admin/products/nope", ""},
		{"admin-create-category", "POST", "/api/v1/admin/categories", `{}`},
		{"admin-list-categories", "GET", "/api/v1/admin/categories", ""},
		{"admin-get-category", "GET", "/api/v1/admin/categories/nope", ""},
		{"admin-update-category", "PATCH", "/api/v1/admin/categories/nope", `{}`},
		{"admin-delete-category", "DELETE", "/api/v1/admin/categories/nope", ""},
	}
	if len(ops) != len(access) {
		t.Fatalf("the matrix covers %d operations, access has %d", len(ops), len(access))
	}
	type caller struct {
		name, token string
		role        auth.Role // "": no staff role
	}
	callers := []caller{
		{"admin", "Bearer " + webtest.AdminToken, ""},
		{"customer", webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer}), ""},
	}
	for _, r := range auth.StaffRoles {
		callers = append(callers, caller{string(r), webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s-" + string(r), Kind: auth.KindStaff, Role: r}), r})
	}
	for _, op := range ops {
		for _, c := range callers {
			allowed := c.name == "admin" || (c.role != "" && slices.Contains(access[op.id], c.role))
			res := f.do(req{method: op.method, path: op.path, body: op.body, token: c.token})
			var p problem
			_ = json.Unmarshal(res.body, &p)
			refused := res.status == http.StatusUnauthorized || (res.status == http.StatusForbidden && p.Code == "forbidden")
			if allowed == refused {
				t.Errorf("%s as %s: %d %s, allowed %v", op.id, c.name, res.status, res.body, allowed)
			}
		}
	}
	// Support reads, and only reads; staff edit, but never at large.
	if !slices.Contains(access["admin-get-product"], auth.RoleSupport) || slices.Contains(access["admin-create-product"], auth.RoleSupport) ||
		!slices.Contains(access["admin-update-product"], auth.RoleStaff) {
		t.Errorf("access table: %v", access)
	}
	webtest.CheckDocumentedRoles(t, f.url, access)
	webtest.CheckDocument(t, f.url)
}

// TestHTTPPlanLimits: a product beyond the plan is 403 plan_limit_reached,
// and 503 plan_limits_unavailable when the plan cannot be read; neither
// writes anything.
func TestHTTPPlanLimits(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)
	limits := &fakeLimits{plans: map[string]tenantapi.Limits{"default": {Plan: tenantapi.PlanFree, Products: 1, Staff: 2}}}
	f.svc.limits = limits
	staff := webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s1", Kind: auth.KindStaff, Role: auth.RoleStaff})
	f.json(req{method: "POST", path: "/api/v1/admin/products", body: mugBody, token: staff}, 201, nil)
	cup := `{"title": "Cup", "variants": [{"sku": "CUP-1", "price": {"amount": 900, "currency": "EUR"}}]}`
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"limit reached", nil, 403, tenantapi.LimitCode},
		{"tenant service down", errors.New("connection refused"), 503, "plan_limits_unavailable"},
	} {
		limits.err = tc.err
		before := rowCounts(t, f.db)
		res := f.do(req{method: "POST", path: "/api/v1/admin/products", body: cup, token: staff})
		var p problem
		_ = json.Unmarshal(res.body, &p)
		if res.status != tc.status || p.Code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, res.status, res.body, tc.status, tc.code)
		}
		if after := rowCounts(t, f.db); after["products"] != before["products"] || after["outbox"] != before["outbox"] {
			t.Errorf("%s wrote rows: %v, then %v", tc.name, before, after)
		}
	}
}

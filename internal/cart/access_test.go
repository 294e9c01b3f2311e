package cart

import (
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestAccess: the cart's one admin operation is open to every staff role
// (support included: it only reads) and the admin token, and to no
// customer or anonymous caller; the OpenAPI document says so.
func TestAccess(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newHTTPFixture(t, db)
	callers := map[string]struct {
		authz string
		want  int
	}{
		"admin":     {"Bearer " + webtest.AdminToken, 200},
		"customer":  {webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer}), 403},
		"anonymous": {"", 401},
	}
	for _, r := range auth.StaffRoles {
		callers[string(r)] = struct {
			authz string
			want  int
		}{webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s-" + string(r), Kind: auth.KindStaff, Role: r}), 200}
	}
	for name, c := range callers {
		req, err := http.NewRequestWithContext(t.Context(), "GET", f.url+"/api/v1/admin/carts", nil)
		if err != nil {
			t.Fatal(err)
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
			t.Errorf("admin-list-carts as %s: %d, want %d", name, res.StatusCode, c.want)
		}
	}

	webtest.CheckDocumentedRoles(t, f.url, access)
	webtest.CheckDocument(t, f.url)
}

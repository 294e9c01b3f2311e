package tenant_test

import (
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/tenant"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// TestClientWalksTheStoreAdmin runs what the admin UI and the signup page
// do through the typed client against the service's routes: settings,
// domains and API keys, and a signup retried with its key.
func TestClientWalksTheStoreAdmin(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		// One client, as the UI has: the owner's calls carry a token, the
		// signup none.
		c := tenantapi.NewClient(e.srv.URL, nil)
		anon := tenancy.WithID(t.Context(), tenancy.DefaultID)
		ctx := apiclient.WithToken(anon, webtest.AdminToken)

		name, locale := "Acme Coffee", "en-GB"
		st, err := c.UpdateStore(ctx, tenantapi.StoreUpdate{Name: &name, Locale: &locale})
		if err != nil || st.Name != name || st.Locale != locale {
			t.Fatalf("update store: %+v, %v", st, err)
		}
		if st, err = c.Store(ctx); err != nil || st.Name != name {
			t.Fatalf("store: %+v, %v", st, err)
		}

		d, err := c.AddDomain(ctx, "Shop.Acme.Example")
		if err != nil || d.Host != "shop.acme.example" || d.Kind != tenantapi.DomainCustom {
			t.Fatalf("add domain: %+v, %v", d, err)
		}
		if _, err := c.AddDomain(ctx, "shop.acme.example"); !apiclient.IsCode(err, "domain_taken") {
			t.Errorf("add it again: %v, want 409 domain_taken", err)
		}
		if l, err := c.Domains(ctx); err != nil || !hasHost(l, d.Host) {
			t.Fatalf("domains: %+v, %v", l, err)
		}
		if err := c.RemoveDomain(ctx, d.Host); err != nil {
			t.Fatalf("remove domain: %v", err)
		}
		if l, err := c.Domains(ctx); err != nil || hasHost(l, d.Host) {
			t.Fatalf("domains after removal: %+v, %v", l, err)
		}
		if err := c.RemoveDomain(ctx, d.Host); !apiclient.IsStatus(err, http.StatusNotFound) {
			t.Errorf("remove it again: %v, want 404", err)
		}

		k, err := c.CreateAPIKey(ctx, tenantapi.APIKeyCreate{Name: "till", Kind: tenantapi.KeySecret})
		if err != nil || k.ID == "" || !tenantapi.LooksLikeAPIKey(k.Key) {
			t.Fatalf("create API key: %+v, %v", k.APIKey, err)
		}
		if err := c.RevokeAPIKey(ctx, k.ID); err != nil {
			t.Fatalf("revoke API key: %v", err)
		}
		if l, err := c.APIKeys(ctx); err != nil || len(l.Items) != 1 || l.Items[0].ID != k.ID || l.Items[0].RevokedAt == nil {
			t.Fatalf("API keys: %+v, %v", l, err)
		}

		signup := tenantapi.Signup{StoreName: "Globex", Subdomain: "globex", Email: "owner@globex.example", Password: "correct horse battery"}
		r, err := c.Signup(anon, signup, "su-1")
		if err != nil || r.Store.Subdomain != "globex" || r.AccessToken == "" {
			t.Fatalf("signup: %+v, %v", r, err)
		}
		again, err := c.Signup(anon, signup, "su-1")
		if err != nil || again.Store.ID != r.Store.ID {
			t.Fatalf("signup retried with its key: %+v, %v", again, err)
		}
	}, tenant.Migrations...)
}

func hasHost(l tenantapi.DomainList, host string) bool {
	for _, d := range l.Items {
		if d.Host == host {
			return true
		}
	}
	return false
}

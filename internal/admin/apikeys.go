package admin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// API keys are listed to owners and managers and made and revoked by
// owners (the tenant service's access table; no API key may manage keys).
// A key is shown once, in the answer that made it: the page is not cached
// (the kit sends no-store) and is never stored in the session.
func (s *Service) apiKeyRoutes(route routeFunc) {
	route("GET /admin/api-keys", s.apiKeysPage)
	route("POST /admin/api-keys", s.createAPIKey)
	route("POST /admin/api-keys/{id}/revoke", s.revokeAPIKey)
}

// kindOptions are the kinds of API key.
var kindOptions = []page.Option{
	{Value: tenantapi.KeySecret, Label: "Secret: for your servers, never in a browser or app"},
	{Value: tenantapi.KeyPublishable, Label: "Publishable: for storefront clients, what a visitor may do"},
}

// apiKeysData is the store's API keys, and the key just made.
type apiKeysData struct {
	Owner   bool
	Keys    []tenantapi.APIKey
	Created *tenantapi.APIKeyCreated
	Create  *page.Form
	Kinds   []page.Option
}

func (s *Service) apiKeysPage(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d := &apiKeysData{Create: page.EmptyForm(url.Values{"kind": {tenantapi.KeySecret}})}
	s.renderAPIKeys(ctx, w, r, p, http.StatusOK, d)
}

func (s *Service) renderAPIKeys(ctx context.Context, w http.ResponseWriter, r *http.Request, p *page.Principal, status int, d *apiKeysData) {
	l, err := s.deps.Store.APIKeys(ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d.Owner, d.Keys, d.Kinds = hasRole(p, ownerRoles), l.Items, kindOptions
	v, err := s.view(r, "API keys")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = d
	v.Form = d.Create
	s.kit.Render(w, r, status, "api-keys", v)
}

// createAPIKey makes a key and shows it, once. The same form sent again
// (a reload) makes no second key: the session remembers the last form.
func (s *Service) createAPIKey(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	key := f.Key()
	if s.kit.Recall(r, apiKeyFormSlot) == key {
		s.kit.Redirect(w, r, "/admin/api-keys", "This key was made already; it was shown once, when it was made. Revoke it and make another if it was not copied.")
		return
	}
	in := tenantapi.APIKeyCreate{Name: f.Get("name"), Kind: f.Get("kind")}
	if in.Name == "" {
		f.Fail("name", "Say what the key is for, like the integration that uses it.")
	}
	if in.Kind != tenantapi.KeySecret && in.Kind != tenantapi.KeyPublishable {
		f.Fail("kind", "Choose the kind of key.")
	}
	d := &apiKeysData{Create: f}
	status := http.StatusUnprocessableEntity
	if !f.Invalid() {
		k, err := s.deps.Store.CreateAPIKey(ctx, in)
		switch {
		case err == nil:
			s.kit.Remember(r, apiKeyFormSlot, key)
			d.Created = &k
			d.Create = page.EmptyForm(url.Values{"kind": {tenantapi.KeySecret}})
			status = http.StatusOK
		case !f.Refused(err, nil):
			s.kit.Fail(w, r, err)
			return
		}
	}
	s.renderAPIKeys(ctx, w, r, p, status, d)
}

func (s *Service) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	err = s.deps.Store.RevokeAPIKey(ctx, r.PathValue("id"))
	switch {
	case apiclient.IsStatus(err, http.StatusNotFound):
		s.kit.NotFound(w, r)
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/api-keys", "The key is revoked: requests with it are refused within a minute.")
	}
}

package identity

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// newHTTPServer serves s on a test server that takes s's own access
// tokens, as the platform does with the keys s publishes, besides the admin
// token.
func newHTTPServer(t *testing.T, s *Service) *webtest.Server {
	t.Helper()
	return webtest.New(t, s.Routes, func(d *web.Deps) {
		d.Auth = web.NewAuthenticator(web.AuthConfig{AdminToken: webtest.AdminToken, Verifier: s.Verifier()})
	})
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, srv *webtest.Server, method, path, tenant string, hdr map[string]string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.TenantHeader, tenant)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, body: map[string]any{}}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestHTTP(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		srv := newHTTPServer(t, s)
		reg := call(t, srv, "POST", "/api/v1/auth/register", "default", nil,
			map[string]any{"email": "Eve@Example.com", "password": goodPW, "name": "<script>alert(1)</script>"})
		if reg.status != 202 || reg.header.Get("Cache-Control") != "no-store" || reg.body["status"] != "accepted" {
			t.Fatalf("register = %d %v", reg.status, reg.body)
		}
		// The new customer signs in next.
		login := call(t, srv, "POST", "/api/v1/auth/login", "default", nil, map[string]any{"email": "eve@example.com", "password": goodPW})
		if login.status != 200 {
			t.Fatalf("login after register = %d %v", login.status, login.body)
		}
		access := login.body["access_token"].(string)

		// Bad input: 4xx with a clear code, nothing written.
		bad := []struct {
			name string
			body map[string]any
			code string
		}{
			{"invalid email", map[string]any{"email": "eve at example", "password": goodPW, "name": "Eve"}, "invalid_email"},
			{"weak password", map[string]any{"email": "w@example.com", "password": "password123", "name": "W"}, "weak_password"},
			{"short password", map[string]any{"email": "w@example.com", "password": "short", "name": "W"}, "weak_password"},
			{"password is email", map[string]any{"email": "walter.white@example.com", "password": "walter.white@example.com", "name": "W"}, "weak_password"},
			{"long name", map[string]any{"email": "w@example.com", "password": goodPW, "name": strings.Repeat("n", 101)}, "validation_failed"},
			{"control chars", map[string]any{"email": "w@example.com", "password": goodPW, "name": "a\x00b"}, "validation_failed"},
			{"blank name", map[string]any{"email": "w@example.com", "password": goodPW, "name": "   "}, "validation_failed"},
			{"long email", map[string]any{"email": strings.Repeat("e", 300) + "@example.com", "password": goodPW, "name": "W"}, "validation_failed"},
			{"missing password", map[string]any{"email": "w@example.com", "name": "W"}, "validation_failed"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				a := call(t, srv, "POST", "/api/v1/auth/register", "default", nil, tt.body)
				if a.status/100 != 4 || a.body["code"] != tt.code {
					t.Fatalf("= %d %v, want code %s", a.status, a.body, tt.code)
				}
			})
		}
		var n int
		if err := queryRow(sqldb.AllTenants(t.Context()), db, "SELECT COUNT(*) FROM customers", &n); err != nil || n != 1 {
			t.Fatalf("customers after bad input = %d, %v", n, err)
		}

		// /me: the name comes back as given (JSON escapes it for HTML).
		me := call(t, srv, "GET", "/api/v1/me", "default", bearer(access), nil)
		if me.status != 200 || me.body["name"] != "<script>alert(1)</script>" {
			t.Fatalf("me = %d %v", me.status, me.body)
		}
		if a := call(t, srv, "GET", "/api/v1/me", "default", nil, nil); a.status != 401 || a.body["code"] != "unauthorized" {
			t.Fatalf("anonymous me = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "GET", "/api/v1/me", "acme", bearer(access), nil); a.status != 401 || a.body["code"] != "unauthorized" {
			t.Fatalf("default token under acme = %d %v", a.status, a.body)
		}
		forged := access[:len(access)-4] + "AAAA"
		if a := call(t, srv, "GET", "/api/v1/me", "default", bearer(forged), nil); a.status != 401 || a.body["code"] != "unauthorized" {
			t.Fatalf("forged token = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "PATCH", "/api/v1/me", "default", bearer(access), map[string]any{"phone": "+44 20 7946 0000"}); a.status != 200 || a.body["phone"] != "+44 20 7946 0000" {
			t.Fatalf("patch me = %d %v", a.status, a.body)
		}
		addr := call(t, srv, "POST", "/api/v1/me/addresses", "default", bearer(access),
			map[string]any{"name": "Eve", "line1": "1 Main St", "city": "London", "country": "GB"})
		if addr.status != 201 || addr.body["is_default"] != true {
			t.Fatalf("add address = %d %v", addr.status, addr.body)
		}
		id := addr.body["id"].(string)
		if a := call(t, srv, "PATCH", "/api/v1/me/addresses/"+id, "default", bearer(access), map[string]any{"city": "Leeds"}); a.status != 200 || a.body["city"] != "Leeds" {
			t.Fatalf("patch address = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "DELETE", "/api/v1/me/addresses/"+id, "default", bearer(access), nil); a.status != 204 {
			t.Fatalf("delete address = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "DELETE", "/api/v1/me/addresses/"+id, "default", bearer(access), nil); a.status != 404 || a.body["code"] != "address_not_found" {
			t.Fatalf("delete again = %d %v", a.status, a.body)
		}

		// Refresh reuse → 401 refresh_token_reused.
		rt := login.body["refresh_token"].(string)
		if a := call(t, srv, "POST", "/api/v1/auth/refresh", "default", nil, map[string]any{"refresh_token": rt}); a.status != 200 {
			t.Fatalf("refresh = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "POST", "/api/v1/auth/refresh", "default", nil, map[string]any{"refresh_token": rt}); a.status != 401 || a.body["code"] != "refresh_token_reused" {
			t.Fatalf("reuse = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "POST", "/api/v1/auth/password-reset", "default", nil, map[string]any{"email": "nobody@example.com"}); a.status != 202 {
			t.Fatalf("reset of unknown = %d %v", a.status, a.body)
		}

		// Login throttling → 429 with Retry-After.
		var last answer
		for range s.cfg.AccountFailures + 1 {
			last = call(t, srv, "POST", "/api/v1/auth/login", "default", nil, map[string]any{"email": "eve@example.com", "password": "wrong password"})
		}
		if last.status != 429 || last.body["code"] != "too_many_attempts" || last.header.Get("Retry-After") == "" {
			t.Fatalf("throttled = %d %v %v", last.status, last.header, last.body)
		}

		// JWKS: public, outside /api, no tenant needed.
		res, err := http.Get(srv.URL + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		var set auth.JWKSet
		_ = json.NewDecoder(res.Body).Decode(&set)
		res.Body.Close()
		if res.StatusCode != 200 || len(set.Keys) != 1 || set.Keys[0].Alg != "EdDSA" {
			t.Fatalf("jwks = %d %+v", res.StatusCode, set)
		}

		// Owner bootstrap and staff access rules.
		admin := map[string]string{"Authorization": "Bearer " + webtest.AdminToken}
		if a := call(t, srv, "GET", "/api/v1/admin/identity/owner-exists", "default", admin, nil); a.body["exists"] != false {
			t.Fatalf("owner-exists = %d %v", a.status, a.body)
		}
		own := call(t, srv, "POST", "/api/v1/admin/identity/owners", "default", admin, map[string]any{"email": "o@example.com", "password": goodPW, "name": "O"})
		if own.status != 201 {
			t.Fatalf("create owner = %d %v", own.status, own.body)
		}
		if a := call(t, srv, "POST", "/api/v1/admin/identity/owners", "default", admin, map[string]any{"email": "p@example.com", "password": goodPW, "name": "P"}); a.status != 409 || a.body["code"] != "owner_exists" {
			t.Fatalf("second owner = %d %v", a.status, a.body)
		}
		asOwner := bearer(own.body["access_token"].(string))
		if a := call(t, srv, "POST", "/api/v1/admin/identity/owners", "default", asOwner, map[string]any{"email": "q@example.com", "password": goodPW, "name": "Q"}); a.status != 403 || a.body["code"] != "forbidden" {
			t.Fatalf("owner creating an owner (admin only) = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "GET", "/api/v1/me", "default", asOwner, nil); a.status != 403 || a.body["code"] != "forbidden" {
			t.Fatalf("staff on /me = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "GET", "/api/v1/admin/staff", "default", bearer(access), nil); a.status != 403 || a.body["code"] != "forbidden" {
			t.Fatalf("customer listing staff = %d %v", a.status, a.body)
		}
		inv := call(t, srv, "POST", "/api/v1/admin/staff/invitations", "default", asOwner, map[string]any{"email": "s@example.com", "role": "support"})
		if inv.status != 201 || inv.body["token"] == "" {
			t.Fatalf("invite = %d %v", inv.status, inv.body)
		}
		acc := call(t, srv, "POST", "/api/v1/staff/invitations/accept", "default", nil, map[string]any{"token": inv.body["token"], "password": goodPW, "name": "Sam"})
		if acc.status != 201 {
			t.Fatalf("accept = %d %v", acc.status, acc.body)
		}
		support := acc.body["staff"].(map[string]any)["id"].(string)
		asSupport := bearer(acc.body["access_token"].(string))
		if a := call(t, srv, "GET", "/api/v1/admin/staff", "default", asSupport, nil); a.status != 403 || a.body["code"] != "forbidden" {
			t.Fatalf("support listing staff = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "GET", "/api/v1/admin/customers/"+me.body["id"].(string), "default", asSupport, nil); a.status != 200 {
			t.Fatalf("support reading a customer = %d %v", a.status, a.body)
		}

		// A manager invites, but neither an owner nor changes roles.
		inv = call(t, srv, "POST", "/api/v1/admin/staff/invitations", "default", asOwner, map[string]any{"email": "m@example.com", "role": "manager"})
		acc = call(t, srv, "POST", "/api/v1/staff/invitations/accept", "default", nil, map[string]any{"token": inv.body["token"], "password": goodPW, "name": "Manny"})
		if acc.status != 201 {
			t.Fatalf("accept manager = %d %v", acc.status, acc.body)
		}
		asManager := bearer(acc.body["access_token"].(string))
		if a := call(t, srv, "POST", "/api/v1/admin/staff/invitations", "default", asManager, map[string]any{"email": "c@example.com", "role": "staff"}); a.status != 201 {
			t.Fatalf("manager inviting staff = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "POST", "/api/v1/admin/staff/invitations", "default", asManager, map[string]any{"email": "o2@example.com", "role": "owner"}); a.status != 403 || a.body["code"] != "forbidden" {
			t.Fatalf("manager inviting an owner = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "PATCH", "/api/v1/admin/staff/accounts/"+support, "default", asManager, map[string]any{"role": "staff"}); a.status != 403 || a.body["code"] != "forbidden" {
			t.Fatalf("manager changing a role = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "PATCH", "/api/v1/admin/staff/accounts/"+support, "default", asOwner, map[string]any{"role": "staff"}); a.status != 200 || a.body["role"] != "staff" {
			t.Fatalf("owner changing a role = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "PATCH", "/api/v1/admin/staff/accounts/"+own.body["staff"].(map[string]any)["id"].(string), "default", asOwner, map[string]any{"role": "manager"}); a.status != 409 || a.body["code"] != "last_owner" {
			t.Fatalf("demoting the last owner = %d %v", a.status, a.body)
		}
		// The path before /admin/staff/accounts/{id} still answers, with the same roles.
		if a := call(t, srv, "PATCH", "/api/v1/admin/staff/"+support, "default", asManager, map[string]any{"role": "staff"}); a.status != 403 || a.body["code"] != "forbidden" {
			t.Fatalf("manager changing a role by the old path = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "PATCH", "/api/v1/admin/staff/"+support, "default", asOwner, map[string]any{"role": "support"}); a.status != 200 || a.body["role"] != "support" {
			t.Fatalf("owner changing a role by the old path = %d %v", a.status, a.body)
		}

		if a := call(t, srv, "POST", "/api/v1/admin/identity/keys/rotate", "default", asOwner, nil); a.status != 200 || a.body["kid"] == "" {
			t.Fatalf("rotate = %d %v", a.status, a.body)
		}
		// Tokens signed with the previous key stay valid.
		if a := call(t, srv, "GET", "/api/v1/admin/staff", "default", asOwner, nil); a.status != 200 {
			t.Fatalf("owner token after rotation = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "POST", "/api/v1/staff/auth/login", "default", nil, map[string]any{"email": "s@example.com", "password": goodPW}); a.status != 200 {
			t.Fatalf("staff login = %d %v", a.status, a.body)
		}
	}, Migrations...)
}

// TestAccess is the authorization matrix: every admin operation and a
// customer one × every kind of caller, with the platform's credentials
// (test tokens, API keys, the admin token). Allowed callers get past
// authorization (the answer may still be 404 for a made-up ID); the others
// get 401 unauthorized (no or foreign credentials) or 403 forbidden.
func TestAccess(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		keys := map[string]auth.Role{"sk_test_identity": auth.RoleSecret, "pk_test_identity": auth.RolePublishable}
		srv := webtest.New(t, s.Routes, webtest.WithAPIKeys(webtest.Keys(keys)))
		staff := func(r auth.Role) map[string]string {
			return map[string]string{"Authorization": webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "staff-" + string(r), Kind: auth.KindStaff, Role: r})}
		}
		callers := map[string]map[string]string{
			"admin":       {"Authorization": "Bearer " + webtest.AdminToken},
			"owner":       staff(auth.RoleOwner),
			"manager":     staff(auth.RoleManager),
			"staff":       staff(auth.RoleStaff),
			"support":     staff(auth.RoleSupport),
			"secret":      {web.APIKeyHeader: "sk_test_identity"},
			"publishable": {"Authorization": "Bearer pk_test_identity"},
			"customer":    {"Authorization": webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "cust-1", Kind: auth.KindCustomer})},
			"anonymous":   nil,
			"other store": {"Authorization": webtest.Bearer(t, auth.Principal{Tenant: "acme", Subject: "staff-owner", Kind: auth.KindStaff, Role: auth.RoleOwner})},
		}
		ops := []struct {
			id, method, path string
			body             func(who string) any
			allowed          []string
		}{
			{opInviteStaff, "POST", "/api/v1/admin/staff/invitations",
				func(who string) any {
					return map[string]any{"email": strings.ReplaceAll(who, " ", "-") + "@example.com", "role": "support"}
				},
				[]string{"admin", "owner", "manager", "secret"}},
			{opListStaff, "GET", "/api/v1/admin/staff", nil, []string{"admin", "owner", "manager", "secret"}},
			{opChangeRole, "PATCH", "/api/v1/admin/staff/accounts/nobody", func(string) any { return map[string]any{"role": "staff"} }, []string{"admin", "owner"}},
			{opDeactivateStaff, "POST", "/api/v1/admin/staff/accounts/nobody/deactivate", nil, []string{"admin", "owner", "manager", "secret"}},
			{opRotateKeys, "POST", "/api/v1/admin/identity/keys/rotate", nil, []string{"admin", "owner"}},
			{opCreateOwner, "POST", "/api/v1/admin/identity/owners",
				func(string) any { return map[string]any{"email": "owner@example.com", "password": goodPW, "name": "O"} },
				[]string{"admin"}},
			{opOwnerExists, "GET", "/api/v1/admin/identity/owner-exists", nil, []string{"admin"}},
			{opGetCustomer, "GET", "/api/v1/admin/customers/nobody", nil, []string{"admin", "owner", "manager", "staff", "support", "secret"}},
			{opGetStaff, "GET", "/api/v1/admin/staff/nobody", nil, []string{"admin", "owner", "manager", "secret"}},
			{opGetMe, "GET", "/api/v1/me", nil, []string{"customer"}},
		}
		for _, op := range ops {
			for who, hdr := range callers {
				var body any
				if op.body != nil {
					body = op.body(who)
				}
				a := call(t, srv, op.method, op.path, "default", hdr, body)
				switch {
				case slices.Contains(op.allowed, who):
					if a.status == 401 || a.status == 403 {
						t.Errorf("%s → %s = %d %v, want allowed", who, op.id, a.status, a.body)
					}
				case who == "anonymous" || who == "other store":
					if a.status != 401 || a.body["code"] != "unauthorized" {
						t.Errorf("%s → %s = %d %v, want 401 unauthorized", who, op.id, a.status, a.body)
					}
				default:
					if a.status != 403 || a.body["code"] != "forbidden" {
						t.Errorf("%s → %s = %d %v, want 403 forbidden", who, op.id, a.status, a.body)
					}
				}
			}
		}
		webtest.CheckDocumentedRoles(t, srv.URL, access)
		webtest.CheckDocument(t, srv.URL)
	}, Migrations...)
}

// TestRegisterTellsNothing checks that a registration answers the same
// whether or not the address already has an account, so that it is no way
// to learn who the store's customers are, and that it changes nothing of
// an existing account.
func TestRegisterTellsNothing(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		srv := newHTTPServer(t, s)
		register := func(email, password, name string) answer {
			return call(t, srv, "POST", "/api/v1/auth/register", "default", nil, map[string]any{"email": email, "password": password, "name": name})
		}
		first := register("known@example.com", goodPW, "Known")
		known := register("Known@Example.com", "another fine password", "Impostor")
		fresh := register("new@example.com", "another fine password", "New")
		for _, a := range []answer{first, known, fresh} {
			if a.status != 202 {
				t.Fatalf("register = %d %v, want 202", a.status, a.body)
			}
		}
		if !reflect.DeepEqual(known.body, fresh.body) {
			t.Errorf("known address answered %v, a new one %v", known.body, fresh.body)
		}
		for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control", "Location", "WWW-Authenticate"} {
			if known.header.Get(h) != fresh.header.Get(h) {
				t.Errorf("%s: known address %q, new one %q", h, known.header.Get(h), fresh.header.Get(h))
			}
		}
		// Refused input is refused alike too.
		weakKnown, weakNew := register("known@example.com", "password123", "K"), register("other@example.com", "password123", "O")
		if weakKnown.status != 422 || !reflect.DeepEqual(weakKnown.body, weakNew.body) {
			t.Errorf("weak password: known address %d %v, new one %d %v", weakKnown.status, weakKnown.body, weakNew.status, weakNew.body)
		}

		// The existing account is as it was: its password, its name, one row,
		// one event.
		login := func(email, password string) answer {
			return call(t, srv, "POST", "/api/v1/auth/login", "default", nil, map[string]any{"email": email, "password": password})
		}
		if a := login("known@example.com", goodPW); a.status != 200 {
			t.Fatalf("owner's login = %d %v", a.status, a.body)
		} else if me := call(t, srv, "GET", "/api/v1/me", "default", bearer(a.body["access_token"].(string)), nil); me.body["name"] != "Known" {
			t.Errorf("me = %v, want the account unchanged", me.body)
		}
		if a := login("known@example.com", "another fine password"); a.status != 401 {
			t.Errorf("second registrant's login = %d %v, want 401", a.status, a.body)
		}
		if a := login("new@example.com", "another fine password"); a.status != 200 {
			t.Errorf("new customer's login = %d %v", a.status, a.body)
		}
		var n int
		if err := queryRow(sqldb.AllTenants(t.Context()), db, "SELECT COUNT(*) FROM customers", &n); err != nil || n != 2 {
			t.Errorf("customers = %d, %v; want 2", n, err)
		}
		if err := queryRow(sqldb.AllTenants(t.Context()), db, "SELECT COUNT(*) FROM outbox WHERE subject = '"+identityapi.SubjectCustomerRegistered+"'", &n); err != nil || n != 2 {
			t.Errorf("registration events = %d, %v; want 2", n, err)
		}
	}, Migrations...)
}

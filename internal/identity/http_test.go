package identity

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// testAuth stands in for the platform's token middleware: a bearer JWT
// (or, on admin operations where the admin token takes Authorization,
// X-Test-Access-Token) becomes the request's principal.
func testAuth(s *Service) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		tok := ctx.Header("X-Test-Access-Token")
		if tok == "" {
			tok, _ = strings.CutPrefix(ctx.Header("Authorization"), "Bearer ")
		}
		if tok != "" && tok != webtest.AdminToken {
			if p, err := s.Verifier().Verify(ctx.Context(), tok); err == nil {
				ctx = huma.WithContext(ctx, auth.WithPrincipal(ctx.Context(), p))
			}
		}
		next(ctx)
	}
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
		srv := webtest.New(t, func(api *web.API) {
			api.UseMiddleware(testAuth(s))
			s.Routes(api)
		})
		reg := call(t, srv, "POST", "/api/v1/auth/register", "default", nil,
			map[string]any{"email": "Eve@Example.com", "password": goodPW, "name": "<script>alert(1)</script>"})
		if reg.status != 201 || reg.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("register = %d %v", reg.status, reg.body)
		}
		access := reg.body["access_token"].(string)

		// Bad input: 4xx with a clear code, nothing written.
		bad := []struct {
			name string
			body map[string]any
			code string
		}{
			{"duplicate email", map[string]any{"email": "eve@example.com", "password": goodPW, "name": "Eve"}, "email_taken"},
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
		_ = db.Read().QueryRow("SELECT COUNT(*) FROM customers").Scan(&n)
		if n != 1 {
			t.Fatalf("customers after bad input = %d", n)
		}

		// /me: the name comes back as given (JSON escapes it for HTML).
		me := call(t, srv, "GET", "/api/v1/me", "default", bearer(access), nil)
		if me.status != 200 || me.body["name"] != "<script>alert(1)</script>" {
			t.Fatalf("me = %d %v", me.status, me.body)
		}
		if a := call(t, srv, "GET", "/api/v1/me", "default", nil, nil); a.status != 401 || a.body["code"] != "unauthenticated" {
			t.Fatalf("anonymous me = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "GET", "/api/v1/me", "acme", bearer(access), nil); a.status != 401 {
			t.Fatalf("default token under acme = %d %v", a.status, a.body)
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
		rt := reg.body["refresh_token"].(string)
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
		ownerTok := own.body["access_token"].(string)
		asOwner := map[string]string{"Authorization": "Bearer " + webtest.AdminToken, "X-Test-Access-Token": ownerTok}
		inv := call(t, srv, "POST", "/api/v1/admin/staff/invitations", "default", asOwner, map[string]any{"email": "s@example.com", "role": "support"})
		if inv.status != 201 || inv.body["token"] == "" {
			t.Fatalf("invite = %d %v", inv.status, inv.body)
		}
		acc := call(t, srv, "POST", "/api/v1/staff/invitations/accept", "default", nil, map[string]any{"token": inv.body["token"], "password": goodPW, "name": "Sam"})
		if acc.status != 201 {
			t.Fatalf("accept = %d %v", acc.status, acc.body)
		}
		asSupport := map[string]string{"Authorization": "Bearer " + webtest.AdminToken, "X-Test-Access-Token": acc.body["access_token"].(string)}
		if a := call(t, srv, "GET", "/api/v1/admin/staff", "default", asSupport, nil); a.status != 403 || a.body["code"] != "forbidden" {
			t.Fatalf("support listing staff = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "GET", "/api/v1/admin/customers/"+reg.body["customer"].(map[string]any)["id"].(string), "default", asSupport, nil); a.status != 200 {
			t.Fatalf("support reading a customer = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "POST", "/api/v1/admin/identity/keys/rotate", "default", asOwner, nil); a.status != 200 || a.body["kid"] == "" {
			t.Fatalf("rotate = %d %v", a.status, a.body)
		}
		if a := call(t, srv, "POST", "/api/v1/staff/auth/login", "default", nil, map[string]any{"email": "s@example.com", "password": goodPW}); a.status != 200 {
			t.Fatalf("staff login = %d %v", a.status, a.body)
		}
	}, outbox.Migrations, Migrations)
}

func TestAllowed(t *testing.T) {
	owner := auth.Principal{Tenant: "t", Subject: "1", Kind: auth.KindStaff, Role: auth.RoleOwner}
	mgr := auth.Principal{Tenant: "t", Subject: "2", Kind: auth.KindStaff, Role: auth.RoleManager}
	cust := auth.Principal{Tenant: "t", Subject: "3", Kind: auth.KindCustomer}
	admin := auth.Principal{Subject: "admin", Kind: auth.KindAdmin}
	tests := []struct {
		p    auth.Principal
		ok   bool
		op   string
		want bool
	}{
		{auth.Principal{}, false, opLogin, true},
		{auth.Principal{}, false, opGetMe, false},
		{cust, true, opGetMe, true},
		{owner, true, opGetMe, false},
		{cust, true, opListStaff, false},
		{mgr, true, opInviteStaff, true},
		{mgr, true, opChangeRole, false},
		{owner, true, opChangeRole, true},
		{owner, true, opCreateOwner, false},
		{admin, true, opCreateOwner, true},
		{admin, true, "no-such-op", false},
	}
	for _, tt := range tests {
		if got := allowed(tt.p, tt.ok, tt.op); got != tt.want {
			t.Errorf("allowed(%+v, %s) = %v, want %v", tt.p, tt.op, got, tt.want)
		}
	}
}

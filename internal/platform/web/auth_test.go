package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

type fakeKeys map[string]struct {
	tenant string
	role   auth.Role
}

func (f fakeKeys) ResolveAPIKey(_ *http.Request, key string) (string, string, auth.Role, error) {
	k, ok := f[key]
	if !ok {
		return "", "", "", fmt.Errorf("%w: unknown key", web.ErrUnauthenticated)
	}
	return k.tenant, "key-" + key[:6], k.role, nil
}

type fakeOwners map[string]bool

func (f fakeOwners) HasOwner(_ *http.Request, tenant string) (bool, error) { return f[tenant], nil }

func TestAuthenticator(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	verifier := auth.NewVerifier(auth.StaticKeys{"k1": pub}, nil)
	token := func(key ed25519.PrivateKey, tenant string, kind auth.Kind, role auth.Role, exp time.Duration) string {
		s, err := auth.Sign(key, "k1", auth.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: auth.Issuer, Audience: jwt.ClaimStrings{auth.Audience}, Subject: "acc-1",
				IssuedAt: jwt.NewNumericDate(time.Now().Add(-time.Hour)), ExpiresAt: jwt.NewNumericDate(time.Now().Add(exp))},
			Tenant: tenant, Kind: kind, Role: role,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	keys := fakeKeys{"sk_live_acme1": {"acme", auth.RoleSecret}, "pk_live_acme2": {"acme", auth.RolePublishable}}
	base := web.AuthConfig{AdminToken: "admin-token-0123456789", ServiceToken: "service-token-0123456789-0123456789", Verifier: verifier, APIKeys: keys}
	retiring := base
	retiring.AdminTokenRetires, retiring.Owners = true, fakeOwners{"acme": true}

	tests := []struct {
		name    string
		cfg     web.AuthConfig
		header  map[string]string
		tenant  string
		want    auth.Principal
		anon    bool
		refused bool
	}{
		{name: "no credentials", cfg: base, tenant: "acme", anon: true},
		{name: "admin token", cfg: base, header: map[string]string{"Authorization": "Bearer admin-token-0123456789"}, tenant: "acme", want: auth.Principal{Subject: "admin", Kind: auth.KindAdmin}},
		{name: "service token", cfg: base, header: map[string]string{"Authorization": "Bearer service-token-0123456789-0123456789"}, tenant: "acme", want: auth.Principal{Subject: "service", Kind: auth.KindAdmin}},
		{name: "wrong token", cfg: base, header: map[string]string{"Authorization": "Bearer admin-token-0123456780"}, tenant: "acme", refused: true},
		{name: "staff token", cfg: base, header: map[string]string{"Authorization": "Bearer " + token(priv, "acme", auth.KindStaff, auth.RoleManager, time.Hour)}, tenant: "acme",
			want: auth.Principal{Tenant: "acme", Subject: "acc-1", Kind: auth.KindStaff, Role: auth.RoleManager}},
		{name: "another store's token", cfg: base, header: map[string]string{"Authorization": "Bearer " + token(priv, "globex", auth.KindStaff, auth.RoleOwner, time.Hour)}, tenant: "acme", refused: true},
		{name: "expired token", cfg: base, header: map[string]string{"Authorization": "Bearer " + token(priv, "acme", auth.KindCustomer, "", -time.Minute)}, tenant: "acme", refused: true},
		{name: "token of another key", cfg: base, header: map[string]string{"Authorization": "Bearer " + token(otherPriv, "acme", auth.KindStaff, auth.RoleOwner, time.Hour)}, tenant: "acme", refused: true},
		{name: "alg none", cfg: base, header: map[string]string{"Authorization": "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoiazEifQ.eyJpc3MiOiJtZXJjYXRvIn0."}, tenant: "acme", refused: true},
		{name: "secret key", cfg: base, header: map[string]string{"Authorization": "Bearer sk_live_acme1"}, tenant: "acme",
			want: auth.Principal{Tenant: "acme", Subject: "key-sk_liv", Kind: auth.KindAPIKey, Role: auth.RoleSecret}},
		{name: "publishable key header", cfg: base, header: map[string]string{web.APIKeyHeader: "pk_live_acme2"}, tenant: "acme",
			want: auth.Principal{Tenant: "acme", Subject: "key-pk_liv", Kind: auth.KindAPIKey, Role: auth.RolePublishable}},
		{name: "key of another store", cfg: base, header: map[string]string{web.APIKeyHeader: "sk_live_acme1"}, tenant: "globex", refused: true},
		{name: "unknown key", cfg: base, header: map[string]string{web.APIKeyHeader: "sk_live_nope"}, tenant: "acme", refused: true},
		{name: "generated admin token, store with an owner", cfg: retiring, header: map[string]string{"Authorization": "Bearer admin-token-0123456789"}, tenant: "acme", refused: true},
		{name: "generated admin token, store without one", cfg: retiring, header: map[string]string{"Authorization": "Bearer admin-token-0123456789"}, tenant: "globex", want: auth.Principal{Subject: "admin", Kind: auth.KindAdmin}},
		{name: "service token never retires", cfg: retiring, header: map[string]string{"Authorization": "Bearer service-token-0123456789-0123456789"}, tenant: "acme", want: auth.Principal{Subject: "service", Kind: auth.KindAdmin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/x", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			p, ok, err := web.NewAuthenticator(tt.cfg).Authenticate(r, tt.tenant)
			switch {
			case tt.refused:
				if !errors.Is(err, web.ErrUnauthenticated) {
					t.Fatalf("got %+v, %v, %v; want ErrUnauthenticated", p, ok, err)
				}
			case tt.anon:
				if ok || err != nil {
					t.Fatalf("got %+v, %v, %v; want anonymous", p, ok, err)
				}
			default:
				if err != nil || !ok || p != tt.want {
					t.Fatalf("got %+v, %v, %v; want %+v", p, ok, err, tt.want)
				}
			}
		})
	}
}

// TestAuthorization checks the platform's enforcement of operation roles
// for every kind of caller, through a real test server.
func TestAuthorization(t *testing.T) {
	handler := func(ctx context.Context, _ *struct{}) (*struct{}, error) { return &struct{}{}, nil }
	srv := webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "public", Method: http.MethodGet, Path: "/api/v1/public"}), handler)
		huma.Register(api, web.Admin(huma.Operation{OperationID: "admin", Method: http.MethodGet, Path: "/api/v1/admin/default"}), handler)
		huma.Register(api, web.Roles(huma.Operation{OperationID: "owner-only", Method: http.MethodGet, Path: "/api/v1/admin/owner"}, auth.RoleOwner), handler)
		huma.Register(api, web.Roles(huma.Operation{OperationID: "support", Method: http.MethodGet, Path: "/api/v1/admin/support"}, auth.RoleOwner, auth.RoleManager, auth.RoleSupport), handler)
		huma.Register(api, web.Customers(huma.Operation{OperationID: "me", Method: http.MethodGet, Path: "/api/v1/me/thing"}), handler)
	})
	staff := func(r auth.Role) string {
		return webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "s-" + string(r), Kind: auth.KindStaff, Role: r})
	}
	callers := map[string]string{
		"anonymous":                    "",
		"customer":                     webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: "c1", Kind: auth.KindCustomer}),
		"support":                      staff(auth.RoleSupport),
		"staff":                        staff(auth.RoleStaff),
		"manager":                      staff(auth.RoleManager),
		"owner":                        staff(auth.RoleOwner),
		"admin":                        "Bearer " + webtest.AdminToken,
		"acme's owner (another store)": webtest.Bearer(t, auth.Principal{Tenant: "acme", Subject: "o", Kind: auth.KindStaff, Role: auth.RoleOwner}),
	}
	want := map[string]map[string]int{
		"/api/v1/public":        {"anonymous": 204, "customer": 204, "support": 204, "staff": 204, "manager": 204, "owner": 204, "admin": 204, "acme's owner (another store)": 401},
		"/api/v1/admin/default": {"anonymous": 401, "customer": 403, "support": 403, "staff": 204, "manager": 204, "owner": 204, "admin": 204, "acme's owner (another store)": 401},
		"/api/v1/admin/owner":   {"anonymous": 401, "customer": 403, "support": 403, "staff": 403, "manager": 403, "owner": 204, "admin": 204, "acme's owner (another store)": 401},
		"/api/v1/me/thing":      {"anonymous": 401, "customer": 204, "support": 403, "staff": 403, "manager": 403, "owner": 403, "admin": 403, "acme's owner (another store)": 401},
		"/api/v1/admin/support": {"anonymous": 401, "customer": 403, "support": 204, "staff": 403, "manager": 204, "owner": 204, "admin": 204, "acme's owner (another store)": 401},
	}
	for path, byCaller := range want {
		for caller, status := range byCaller {
			t.Run(path+" as "+caller, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				if h := callers[caller]; h != "" {
					req.Header.Set("Authorization", h)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != status {
					t.Errorf("status %d, want %d", res.StatusCode, status)
				}
			})
		}
	}
	// The roles are in the OpenAPI document for clients and the matrix test.
	op := srv.Web.API().OpenAPI().Paths["/api/v1/admin/support"].Get
	if roles, guarded := web.OperationRoles(op); !guarded || len(roles) != 3 {
		t.Errorf("roles of the support operation: %v, %v", roles, guarded)
	}
}

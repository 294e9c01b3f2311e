package identityapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// request is what the server saw of a call, or what a call must send.
type request struct {
	method, path, query, key, body string
}

// TestClientSendsTheOperations checks each call's method, path (escaped),
// query, Idempotency-Key and body against the service's routes
// (identity/http.go).
func TestClientSendsTheOperations(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = request{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Idempotency-Key"), string(b)}
		if r.Header.Get("Authorization") != "" {
			got.method = "with Authorization"
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	c := identityapi.NewClient(srv.URL, nil)
	name, def := "Ada", true

	tests := []struct {
		name string
		do   func(ctx context.Context) error
		want request
	}{
		{"register", func(ctx context.Context) error {
			_, err := c.Register(ctx, identityapi.Register{Email: "a@b.c", Password: "pw", Name: "Ada"})
			return err
		}, request{method: "POST", path: "/api/v1/auth/register", body: `{"email":"a@b.c","password":"pw","name":"Ada"}`}},
		{"login", func(ctx context.Context) error {
			_, err := c.Login(ctx, identityapi.Login{Email: "a@b.c", Password: "pw"})
			return err
		}, request{method: "POST", path: "/api/v1/auth/login", body: `{"email":"a@b.c","password":"pw"}`}},
		{"refresh", func(ctx context.Context) error { _, err := c.Refresh(ctx, "rt1"); return err },
			request{method: "POST", path: "/api/v1/auth/refresh", body: `{"refresh_token":"rt1"}`}},
		{"logout", func(ctx context.Context) error { return c.Logout(ctx, "rt1") },
			request{method: "POST", path: "/api/v1/auth/logout", body: `{"refresh_token":"rt1"}`}},
		{"me", func(ctx context.Context) error { _, err := c.Me(ctx); return err },
			request{method: "GET", path: "/api/v1/me"}},
		{"update me", func(ctx context.Context) error {
			_, err := c.UpdateMe(ctx, identityapi.ProfileUpdate{Name: &name})
			return err
		}, request{method: "PATCH", path: "/api/v1/me", body: `{"name":"Ada"}`}},
		{"change password", func(ctx context.Context) error {
			_, err := c.ChangePassword(ctx, identityapi.PasswordChange{CurrentPassword: "old", NewPassword: "new"})
			return err
		}, request{method: "POST", path: "/api/v1/me/password", body: `{"current_password":"old","new_password":"new"}`}},
		{"addresses", func(ctx context.Context) error { _, err := c.Addresses(ctx); return err },
			request{method: "GET", path: "/api/v1/me/addresses"}},
		{"add address", func(ctx context.Context) error {
			_, err := c.AddAddress(ctx, identityapi.AddressInput{Name: "Ada", Line1: "1 Row", City: "London", Country: "GB", IsDefault: true}, "k1")
			return err
		}, request{method: "POST", path: "/api/v1/me/addresses", key: "k1",
			body: `{"name":"Ada","line1":"1 Row","city":"London","country":"GB","is_default":true}`}},
		{"update address", func(ctx context.Context) error {
			_, err := c.UpdateAddress(ctx, "a/1", identityapi.AddressUpdate{IsDefault: &def})
			return err
		}, request{method: "PATCH", path: "/api/v1/me/addresses/a%2F1", body: `{"is_default":true}`}},
		{"delete address", func(ctx context.Context) error { return c.DeleteAddress(ctx, "a1") },
			request{method: "DELETE", path: "/api/v1/me/addresses/a1"}},
		{"staff login", func(ctx context.Context) error {
			_, err := c.StaffLogin(ctx, identityapi.Login{Email: "s@b.c", Password: "pw"})
			return err
		}, request{method: "POST", path: "/api/v1/staff/auth/login", body: `{"email":"s@b.c","password":"pw"}`}},
		{"accept invitation", func(ctx context.Context) error {
			_, err := c.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: "inv", Password: "pw", Name: "Bo"})
			return err
		}, request{method: "POST", path: "/api/v1/staff/invitations/accept", body: `{"token":"inv","password":"pw","name":"Bo"}`}},
		{"list staff", func(ctx context.Context) error { _, err := c.ListStaff(ctx); return err },
			request{method: "GET", path: "/api/v1/admin/staff"}},
		{"invite staff", func(ctx context.Context) error {
			_, err := c.InviteStaff(ctx, identityapi.InvitationCreate{Email: "s@b.c", Role: "staff"})
			return err
		}, request{method: "POST", path: "/api/v1/admin/staff/invitations", body: `{"email":"s@b.c","role":"staff"}`}},
		{"change staff role", func(ctx context.Context) error { _, err := c.ChangeStaffRole(ctx, "s1", "manager"); return err },
			request{method: "PATCH", path: "/api/v1/admin/staff/accounts/s1", body: `{"role":"manager"}`}},
		{"deactivate staff", func(ctx context.Context) error { _, err := c.DeactivateStaff(ctx, "s1"); return err },
			request{method: "POST", path: "/api/v1/admin/staff/accounts/s1/deactivate"}},
	}
	ctx := tenancy.WithID(t.Context(), "t1")
	for _, tt := range tests {
		if err := tt.do(ctx); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		mu.Lock()
		g := got
		mu.Unlock()
		if !sameJSON(g.body, tt.want.body) {
			t.Errorf("%s: body %s, want %s", tt.name, g.body, tt.want.body)
		}
		g.body, tt.want.body = "", ""
		if g != tt.want {
			t.Errorf("%s: sent %+v, want %+v", tt.name, g, tt.want)
		}
	}
}

// TestSignInFailuresMatchTheirSentinel checks the codes of a refused
// sign-in or refresh become the contract's sentinels, the answer staying
// in the chain.
func TestSignInFailuresMatchTheirSentinel(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]error{
		"invalid_credentials":   identityapi.ErrInvalidCredentials,
		"invalid_refresh_token": identityapi.ErrInvalidRefreshToken,
		"refresh_token_reused":  identityapi.ErrInvalidRefreshToken,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"status":401,"code":"`+code+`"}`)
		}))
		_, err := identityapi.NewClient(srv.URL, nil).Refresh(tenancy.WithID(t.Context(), "t1"), "rt")
		srv.Close()
		if !errors.Is(err, want) || !apiclient.IsCode(err, code) {
			t.Errorf("401 %s: %v, want %v with the answer", code, err, want)
		}
	}
}

// sameJSON reports whether two JSON texts (or two empty bodies) are equal
// as values.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

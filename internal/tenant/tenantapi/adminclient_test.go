package tenantapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// request is what the server saw of a call, or what a call must send.
type request struct {
	method, path, query, key, body string
}

// TestClientSendsTheAdminOperations checks each call's method, path
// (escaped), query, Idempotency-Key and body against the service's routes
// (tenant/http.go).
func TestClientSendsTheAdminOperations(t *testing.T) {
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
	c := tenantapi.NewClient(srv.URL, nil)
	name := "Acme"

	tests := []struct {
		name string
		do   func(ctx context.Context) error
		want request
	}{
		{"store", func(ctx context.Context) error { _, err := c.Store(ctx); return err },
			request{method: "GET", path: "/api/v1/admin/store"}},
		{"update store", func(ctx context.Context) error {
			_, err := c.UpdateStore(ctx, tenantapi.StoreUpdate{Name: &name, CORSOrigins: &[]string{}})
			return err
		}, request{method: "PATCH", path: "/api/v1/admin/store", body: `{"name":"Acme","cors_origins":[]}`}},
		{"domains", func(ctx context.Context) error { _, err := c.Domains(ctx); return err },
			request{method: "GET", path: "/api/v1/admin/store/domains"}},
		{"add domain", func(ctx context.Context) error { _, err := c.AddDomain(ctx, "shop.acme.example"); return err },
			request{method: "POST", path: "/api/v1/admin/store/domains", body: `{"host":"shop.acme.example"}`}},
		{"remove domain", func(ctx context.Context) error { return c.RemoveDomain(ctx, "shop.acme.example") },
			request{method: "DELETE", path: "/api/v1/admin/store/domains/shop.acme.example"}},
		{"api keys", func(ctx context.Context) error { _, err := c.APIKeys(ctx); return err },
			request{method: "GET", path: "/api/v1/admin/store/api-keys"}},
		{"create api key", func(ctx context.Context) error {
			_, err := c.CreateAPIKey(ctx, tenantapi.APIKeyCreate{Name: "pos", Kind: tenantapi.KeySecret})
			return err
		}, request{method: "POST", path: "/api/v1/admin/store/api-keys", body: `{"name":"pos","kind":"secret"}`}},
		{"revoke api key", func(ctx context.Context) error { return c.RevokeAPIKey(ctx, "k/1") },
			request{method: "DELETE", path: "/api/v1/admin/store/api-keys/k%2F1"}},
		{"signup", func(ctx context.Context) error {
			_, err := c.Signup(ctx, tenantapi.Signup{StoreName: "Acme", Subdomain: "acme", Email: "o@acme.example", Password: "pw"}, "k1")
			return err
		}, request{method: "POST", path: "/api/v1/tenants", key: "k1",
			body: `{"store_name":"Acme","subdomain":"acme","email":"o@acme.example","password":"pw"}`}},
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

// sameJSON reports whether two JSON texts (or two empty bodies) are equal
// as values.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

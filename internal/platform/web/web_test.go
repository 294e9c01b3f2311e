package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/internal/shopapi"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

type thingIn struct {
	Body struct {
		Name  string      `json:"name" minLength:"1"`
		Price money.Money `json:"price"`
	}
}

type thingOut struct {
	Body struct {
		Tenant string `json:"tenant"`
		Name   string `json:"name"`
		N      int64  `json:"n"`
	}
}

// server mounts a few operations that exercise the platform: a public read
// that can fail, an admin write counting its executions, a panic.
func server(t *testing.T) (*webtest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "get-thing", Method: http.MethodGet, Path: "/api/v1/things/{name}"}),
			func(ctx context.Context, in *struct {
				Name string `path:"name"`
			}) (*thingOut, error) {
				if in.Name == "missing" {
					return nil, web.Error(http.StatusNotFound, "thing_not_found", "no such thing")
				}
				if in.Name == "boom" {
					panic("boom")
				}
				if in.Name == "broken" {
					return nil, io.ErrUnexpectedEOF
				}
				tenant, _ := tenancy.ID(ctx)
				out := &thingOut{}
				out.Body.Tenant, out.Body.Name = tenant, in.Name
				return out, nil
			})
		huma.Register(api, web.Admin(huma.Operation{OperationID: "create-thing", Method: http.MethodPost, Path: "/api/v1/admin/things", DefaultStatus: http.StatusCreated}),
			func(ctx context.Context, in *thingIn) (*thingOut, error) {
				tenant, _ := tenancy.ID(ctx)
				out := &thingOut{}
				out.Body.Tenant, out.Body.Name, out.Body.N = tenant, in.Body.Name, n.Add(1)
				return out, nil
			})
	})
	return s, &n
}

type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Location string `json:"location"`
	} `json:"errors"`
}

func do(t *testing.T, method, url, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestProblems(t *testing.T) {
	t.Parallel()
	s, n := server(t)
	admin := map[string]string{"Authorization": "Bearer " + webtest.AdminToken}
	good := `{"name":"mug","price":{"amount":1200,"currency":"EUR"}}`
	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		hdr      map[string]string
		status   int
		code     string
		location string
	}{
		{"unknown endpoint", "GET", "/api/v1/nope", "", nil, 404, "not_found", ""},
		{"domain not found", "GET", "/api/v1/things/missing", "", nil, 404, "thing_not_found", ""},
		{"unknown tenant by header", "GET", "/api/v1/things/a", "", map[string]string{web.TenantHeader: "nobody"}, 404, "unknown_tenant", ""},
		{"unknown tenant by host", "GET", "/api/v1/things/a", "", map[string]string{"Host": "shop.example.com"}, 404, "unknown_tenant", ""},
		{"panic is a 500 without internals", "GET", "/api/v1/things/boom", "", nil, 500, "internal", ""},
		{"error is a 500 without internals", "GET", "/api/v1/things/broken", "", nil, 500, "internal", ""},
		{"no token", "POST", "/api/v1/admin/things", good, nil, 401, "unauthorized", ""},
		{"wrong token", "POST", "/api/v1/admin/things", good, map[string]string{"Authorization": "Bearer nope"}, 401, "unauthorized", ""},
		{"malformed json", "POST", "/api/v1/admin/things", `{"name":`, admin, 400, "malformed_request", ""},
		{"schema violation", "POST", "/api/v1/admin/things", `{"name":"","price":{"amount":1,"currency":"EUR"}}`, admin, 422, "validation_failed", "body.name"},
		{"unknown currency", "POST", "/api/v1/admin/things", `{"name":"a","price":{"amount":1,"currency":"ABC"}}`, admin, 422, "validation_failed", "body.price.currency"},
		{"oversized", "POST", "/api/v1/admin/things", `{"name":"` + strings.Repeat("a", webtest.MaxBodyBytes) + `"}`, admin, 413, "body_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, s.URL+tt.path, tt.body, tt.hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type = %q, want application/problem+json", ct)
			}
			var p problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("decode problem: %v: %s", err, body)
			}
			if p.Code != tt.code || p.Status != tt.status || p.Title == "" {
				t.Errorf("problem = %+v, want code %q status %d", p, tt.code, tt.status)
			}
			if tt.status == 500 && (strings.Contains(string(body), "boom") || strings.Contains(string(body), "EOF")) {
				t.Errorf("500 leaks internals: %s", body)
			}
			if tt.location != "" && (len(p.Errors) == 0 || p.Errors[0].Location != tt.location) {
				t.Errorf("errors = %+v, want location %q", p.Errors, tt.location)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
	if got := n.Load(); got != 0 {
		t.Errorf("handler ran %d times on bad input", got)
	}
}

func TestTenantFromHeader(t *testing.T) {
	t.Parallel()
	s, _ := server(t)
	resp, body := do(t, "GET", s.URL+"/api/v1/things/a", "", map[string]string{web.TenantHeader: "acme"})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"tenant":"acme"`) {
		t.Fatalf("got %d %s, want tenant acme", resp.StatusCode, body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	s, n := server(t)
	hdr := func(key, tenant string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + webtest.AdminToken, "Idempotency-Key": key, web.TenantHeader: tenant}
	}
	body := `{"name":"mug","price":{"amount":1200,"currency":"EUR"}}`

	// 20 concurrent sends of one key: one execution, the same answer for all.
	var wg sync.WaitGroup
	answers := make([]string, 20)
	for i := range answers {
		wg.Go(func() {
			resp, b := do(t, "POST", s.URL+"/api/v1/admin/things", body, hdr("k1", "default"))
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("send %d: status %d: %s", i, resp.StatusCode, b)
			}
			answers[i] = string(b)
		})
	}
	wg.Wait()
	if got := n.Load(); got != 1 {
		t.Fatalf("handler ran %d times for one key, want 1", got)
	}
	for _, a := range answers {
		if a != answers[0] {
			t.Fatalf("answers differ: %q vs %q", a, answers[0])
		}
	}

	resp, b := do(t, "POST", s.URL+"/api/v1/admin/things", `{"name":"other","price":{"amount":1,"currency":"EUR"}}`, hdr("k1", "default"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "idempotency_key_reused") {
		t.Errorf("reused key with another body: %d %s, want 422 idempotency_key_reused", resp.StatusCode, b)
	}
	resp, _ = do(t, "POST", s.URL+"/api/v1/admin/things", body, hdr("k1", "acme"))
	if resp.StatusCode != http.StatusCreated || n.Load() != 2 {
		t.Errorf("same key in another tenant: %d, runs %d; want a new execution", resp.StatusCode, n.Load())
	}
	resp, _ = do(t, "POST", s.URL+"/api/v1/admin/things", body, hdr("k1", "default"))
	if resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replayed response lacks Idempotent-Replayed")
	}
	// A 401 is not kept: once authorized, the same key runs.
	noAuth := map[string]string{"Idempotency-Key": "k2"}
	if resp, _ := do(t, "POST", s.URL+"/api/v1/admin/things", body, noAuth); resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "POST", s.URL+"/api/v1/admin/things", body, hdr("k2", "default")); resp.StatusCode != 201 {
		t.Errorf("after 401, authorized retry: %d, want 201", resp.StatusCode)
	}
}

func TestPlatformRoutes(t *testing.T) {
	t.Parallel()
	s, _ := server(t)
	do(t, "GET", s.URL+"/api/v1/things/a", "", nil)
	for _, tt := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/readyz", "ready"},
		{"/openapi.json", `"openapi":"3.1`},
		{"/docs/", "swagger-ui"},
	} {
		resp, body := do(t, "GET", s.URL+tt.path, "", nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), tt.want) {
			t.Errorf("GET %s: %d, body lacks %q", tt.path, resp.StatusCode, tt.want)
		}
		if tt.path == "/docs/" && (strings.Contains(string(body), "cdn.") || strings.Contains(string(body), "unpkg")) {
			t.Errorf("docs page loads from a CDN")
		}
	}
	// Metrics are served apart from the public listener, which has none.
	if resp, _ := do(t, "GET", s.URL+"/metrics", "", nil); resp.StatusCode == http.StatusOK {
		t.Errorf("GET /metrics on the public listener: %d, want no metrics there", resp.StatusCode)
	}
	ms := httptest.NewServer(s.Web.MetricsHandler())
	defer ms.Close()
	want := `mercato_http_requests_total{code="200",method="GET",route="GET /api/v1/things/{name}"} 1`
	if resp, body := do(t, "GET", ms.URL+"/metrics", "", nil); resp.StatusCode != 200 || !strings.Contains(string(body), want) {
		t.Errorf("GET /metrics on the metrics listener: %d, body lacks %q", resp.StatusCode, want)
	}
}

func TestSchemaName(t *testing.T) {
	type local struct{}
	tests := []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[shopapi.Product](), "ShopProduct"},
		{reflect.TypeFor[*shopapi.Product](), "ShopProduct"},
		{reflect.TypeFor[shopapi.ShopList](), "ShopList"},
		{reflect.TypeFor[web.Problem](), "Problem"},
		{reflect.TypeFor[local](), "Local"},
	}
	for _, tt := range tests {
		if got := web.SchemaName(tt.t, ""); got != tt.want {
			t.Errorf("SchemaName(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

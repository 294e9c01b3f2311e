package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// directory is a tenant resolver that counts its calls and knows the
// allowed origins of "acme".
type directory struct{ calls atomic.Int64 }

func (d *directory) ResolveTenant(_ context.Context, host, id string) (string, error) {
	d.calls.Add(1)
	switch {
	case id == "acme" || id == "acme-shop" || host == "acme.example.com":
		return "acme", nil
	case id == "default" || host == "localhost" || host == "127.0.0.1" || host == "::1":
		return "default", nil
	case id == "down" || host == "down.example.com":
		return "", errors.New("directory down")
	}
	return "", web.ErrUnknownTenant
}

func (d *directory) AllowedOrigins(_ context.Context, tenant string) ([]string, error) {
	if tenant == "acme" {
		return []string{"https://shop.acme.example"}, nil
	}
	return nil, nil
}

// keys knows one API key of acme.
type keys struct{}

func (keys) ResolveAPIKey(_ *http.Request, key string) (string, string, auth.Role, error) {
	if key == "pk_live_ACME" {
		return "acme", "k1", auth.RolePublishable, nil
	}
	return "", "", "", web.ErrUnauthenticated
}

// hintServer serves a public operation answering its tenant, on the
// directory d, with API keys selecting stores; logs go to logs.
func hintServer(t *testing.T, d *directory, logs *bytes.Buffer) *webtest.Server {
	s := webtest.New(t, func(api *web.API) {
		huma.Register(api, web.Public(huma.Operation{OperationID: "whoami", Method: http.MethodGet, Path: "/api/v1/whoami"}),
			func(ctx context.Context, _ *struct{}) (*struct{ Body struct{ Tenant string } }, error) {
				out := &struct{ Body struct{ Tenant string } }{}
				out.Body.Tenant, _ = tenancy.ID(ctx)
				return out, nil
			})
		huma.Register(api, web.Internal(huma.Operation{OperationID: "secret", Method: http.MethodGet, Path: "/internal/v1/secret"}),
			func(context.Context, *struct{}) (*struct{ Body string }, error) {
				return &struct{ Body string }{Body: "internal answer"}, nil
			})
	}, func(deps *web.Deps) {
		deps.Tenants = d
		deps.APIKeys = keys{}
		deps.Auth = web.NewAuthenticator(web.AuthConfig{AdminToken: webtest.AdminToken, ServiceToken: webtest.ServiceToken, APIKeys: keys{}})
		if logs != nil {
			deps.Log = slog.New(slog.NewJSONHandler(logs, nil))
		}
	})
	// A route on the mux itself, outside huma: the rule holds for it too.
	s.Web.Mux().HandleFunc("GET /internal/v1/raw", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("raw internal")) })
	return s
}

// TestTenantHints: hints that cannot name a store are 400 and never reach
// the directory; unknown stores are 404; neither is a 5xx nor logged as an
// error. The subdomain form of X-Mercato-Tenant and an API key name a store
// too.
func TestTenantHints(t *testing.T) {
	t.Parallel()
	d := &directory{}
	var logs bytes.Buffer
	s := hintServer(t, d, &logs)
	long := strings.Repeat("a", 63)
	for _, tt := range []struct {
		name       string
		host       string
		hdr        map[string]string
		status     int
		code       string
		tenant     string
		askedAtAll bool
	}{
		{name: "empty host", host: "", status: 400, code: "invalid_host"},
		{name: "host of 250 characters in one label", host: strings.Repeat("a", 250), status: 400, code: "invalid_host"},
		{name: "host over 253 characters", host: strings.Repeat(long+".", 4) + "com", status: 400, code: "invalid_host"},
		{name: "host with an underscore", host: "bad_host.example.com", status: 400, code: "invalid_host"},
		{name: "host with an empty label", host: "a..example.com", status: 400, code: "invalid_host"},
		{name: "label starting with a dash", host: "-a.example.com", status: 400, code: "invalid_host"},
		{name: "tenant ID of 300 characters", host: "localhost", hdr: map[string]string{"X-Mercato-Tenant": strings.Repeat("t", 300)}, status: 400, code: "invalid_tenant"},
		{name: "empty tenant ID", host: "localhost", hdr: map[string]string{"X-Mercato-Tenant": ""}, status: 400, code: "invalid_tenant"},
		{name: "tenant ID with a quote", host: "localhost", hdr: map[string]string{"X-Mercato-Tenant": "x'; --"}, status: 400, code: "invalid_tenant"},
		{name: "valid unknown host of 250 characters", host: strings.Repeat(long[:61]+".", 4) + "io", status: 404, code: "unknown_tenant", askedAtAll: true},
		{name: "unknown host", host: "nowhere.example.com", status: 404, code: "unknown_tenant", askedAtAll: true},
		{name: "unknown tenant ID", host: "localhost", hdr: map[string]string{"X-Mercato-Tenant": "nobody"}, status: 404, code: "unknown_tenant", askedAtAll: true},
		{name: "unknown API key", host: "localhost", hdr: map[string]string{"X-Mercato-Api-Key": "pk_live_NOPE"}, status: 401, code: "unauthorized"},
		{name: "host with port and final dot", host: "ACME.example.com.:8080", status: 200, tenant: "acme", askedAtAll: true},
		{name: "IPv6 literal", host: "[::1]:8080", status: 200, tenant: "default", askedAtAll: true},
		{name: "tenant by ID", host: "localhost", hdr: map[string]string{"X-Mercato-Tenant": "acme"}, status: 200, tenant: "acme", askedAtAll: true},
		{name: "tenant by subdomain", host: "localhost", hdr: map[string]string{"X-Mercato-Tenant": "Acme-Shop"}, status: 200, tenant: "acme", askedAtAll: true},
		{name: "API key on the default store's host", host: "localhost", hdr: map[string]string{"X-Mercato-Api-Key": "pk_live_ACME"}, status: 200, tenant: "acme"},
		{name: "API key as a bearer token on an unknown host", host: "api.example.com", hdr: map[string]string{"Authorization": "Bearer pk_live_ACME"}, status: 200, tenant: "acme"},
		{name: "API key with an empty host", host: "", hdr: map[string]string{"X-Mercato-Api-Key": "pk_live_ACME"}, status: 200, tenant: "acme"},
		{name: "API key of another store than the header names", host: "localhost", hdr: map[string]string{"X-Mercato-Tenant": "default", "X-Mercato-Api-Key": "pk_live_ACME"}, status: 401, code: "unauthorized", askedAtAll: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/whoami", nil)
			req.Host = tt.host
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			before := d.calls.Load()
			rec := httptest.NewRecorder()
			s.Web.Handler().ServeHTTP(rec, req)
			var body struct {
				Code   string `json:"code"`
				Tenant string `json:"Tenant"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != tt.status || body.Code != tt.code || body.Tenant != tt.tenant {
				t.Errorf("got %d %s, want %d %q tenant %q", rec.Code, rec.Body, tt.status, tt.code, tt.tenant)
			}
			if asked := d.calls.Load() != before; asked != tt.askedAtAll {
				t.Errorf("directory asked: %v, want %v", asked, tt.askedAtAll)
			}
		})
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("bad hints were logged as errors:\n%s", logs.String())
	}

	// A directory that fails is the one 503.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/whoami", nil)
	req.Host = "down.example.com"
	rec := httptest.NewRecorder()
	s.Web.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("directory down: %d %s, want 503", rec.Code, rec.Body)
	}
}

// TestTenantHintsOnTheWire sends requests no Go client writes: HTTP/1.0
// without a Host header, and an empty Host header.
func TestTenantHintsOnTheWire(t *testing.T) {
	t.Parallel()
	s := hintServer(t, &directory{}, nil)
	for name, raw := range map[string]string{
		"HTTP/1.0 without Host": "GET /api/v1/whoami HTTP/1.0\r\n\r\n",
		"empty Host header":     "GET /api/v1/whoami HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write([]byte(raw)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestInternalRoutes: every route under /internal/, registered through huma
// or on the mux directly, answers only the service token.
func TestInternalRoutes(t *testing.T) {
	t.Parallel()
	s := hintServer(t, &directory{}, nil)
	for _, path := range []string{"/internal/v1/secret", "/internal/v1/raw", "/internal/v1/nothing-here", "/internal"} {
		for name, hdr := range map[string]map[string]string{
			"anonymous":       nil,
			"the admin token": {"Authorization": "Bearer " + webtest.AdminToken},
			"a wrong token":   {"Authorization": "Bearer " + webtest.ServiceToken + "x"},
			"an API key":      {"X-Mercato-Api-Key": "pk_live_ACME"},
		} {
			resp, body := do(t, "GET", s.URL+path, "", hdr)
			if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "internal answer") {
				t.Errorf("%s as %s: %d %s, want 401", path, name, resp.StatusCode, body)
			}
		}
	}
	for path, want := range map[string]string{"/internal/v1/secret": "internal answer", "/internal/v1/raw": "raw internal"} {
		resp, body := do(t, "GET", s.URL+path, "", map[string]string{"Authorization": "Bearer " + webtest.ServiceToken})
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s with the service token: %d %s", path, resp.StatusCode, body)
		}
	}
	// Internal operations stay out of the OpenAPI document.
	if _, body := do(t, "GET", s.URL+"/openapi.json", "", nil); strings.Contains(string(body), "/internal/") {
		t.Error("the OpenAPI document lists an internal route")
	}
}

// TestInternalRegistration: an /internal/ path cannot be registered as
// public, nor an internal operation outside /internal/.
func TestInternalRegistration(t *testing.T) {
	for name, f := range map[string]func(){
		"public internal path":    func() { web.Public(huma.Operation{Path: "/internal/v1/x"}) },
		"internal outside prefix": func() { web.Internal(huma.Operation{Path: "/api/v1/x"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestCORS: preflights and answers carry Access-Control-* headers only for
// the origins the store allows; nothing is open by default.
func TestCORS(t *testing.T) {
	t.Parallel()
	s := hintServer(t, &directory{}, nil)
	const allowed = "https://shop.acme.example"
	for _, tt := range []struct {
		name, method, host, origin, reqMethod string
		status                                int
		wantACAO                              bool
	}{
		{"preflight from an allowed origin", "OPTIONS", "acme.example.com", allowed, "POST", 204, true},
		{"preflight from another origin", "OPTIONS", "acme.example.com", "https://evil.example", "POST", 403, false},
		{"preflight to a store allowing none", "OPTIONS", "localhost", allowed, "GET", 403, false},
		{"preflight asking for an odd method", "OPTIONS", "acme.example.com", allowed, "TRACE", 403, false},
		{"request from an allowed origin", "GET", "acme.example.com", allowed, "", 200, true},
		{"request from another origin", "GET", "acme.example.com", "https://evil.example", "", 200, false},
		{"request to a store allowing none", "GET", "localhost", allowed, "", 200, false},
		{"same-origin request", "GET", "acme.example.com", "", "", 200, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Host": tt.host}
			if tt.origin != "" {
				hdr["Origin"] = tt.origin
			}
			if tt.reqMethod != "" {
				hdr["Access-Control-Request-Method"] = tt.reqMethod
				hdr["Access-Control-Request-Headers"] = "content-type, x-mercato-api-key"
			}
			resp, body := do(t, tt.method, s.URL+"/api/v1/whoami", "", hdr)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			acao := resp.Header.Get("Access-Control-Allow-Origin")
			switch {
			case tt.wantACAO && acao != tt.origin:
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", acao, tt.origin)
			case !tt.wantACAO:
				for k := range resp.Header {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("CORS header %s: %q for a request that gets none", k, resp.Header.Get(k))
					}
				}
			}
			if tt.origin != "" && !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", resp.Header.Values("Vary"))
			}
			if tt.wantACAO && tt.method == "OPTIONS" {
				h := resp.Header
				if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
					!strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Mercato-Api-Key") ||
					!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
					h.Get("Access-Control-Max-Age") == "" || h.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("preflight headers: %v", h)
				}
			}
			if tt.wantACAO && tt.method == "GET" && !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
				t.Errorf("Access-Control-Expose-Headers = %q", resp.Header.Get("Access-Control-Expose-Headers"))
			}
		})
	}
}

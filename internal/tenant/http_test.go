package tenant_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/tenant"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fakeOwners stands in for the identity service: it records the tenant of
// each call and answers with err, or tokens naming the tenant.
type fakeOwners struct {
	mu      sync.Mutex
	err     error
	tenants []string
}

func (f *fakeOwners) CreateOwner(ctx context.Context, o identityapi.OwnerCreate) (identityapi.OwnerTokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, _ := tenancy.ID(ctx)
	f.tenants = append(f.tenants, t)
	if f.err != nil {
		return identityapi.OwnerTokens{}, f.err
	}
	return identityapi.OwnerTokens{
		Staff:  identityapi.Staff{ID: "owner-of-" + t, Email: o.Email, Name: o.Name, Role: "owner"},
		Tokens: identityapi.Tokens{AccessToken: "access-" + t, RefreshToken: "refresh-" + t, TokenType: "Bearer", ExpiresIn: 900},
	}, nil
}

func (f *fakeOwners) fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// directory resolves tenants with the service itself, so stores created
// by a test are served by the test server.
type directory struct{ s *tenant.Service }

func (d directory) ResolveTenant(ctx context.Context, host, id string) (string, error) {
	r, err := d.s.Resolve(ctx, host, id)
	if errors.Is(err, tenant.ErrNotFound) {
		return "", web.ErrUnknownTenant
	}
	return r.TenantID, err
}

// serviceKeys resolves store API keys with the service itself, as the
// platform does through the tenant API.
type serviceKeys struct{ s *tenant.Service }

func (k serviceKeys) ResolveAPIKey(r *http.Request, key string) (string, string, auth.Role, error) {
	res, err := k.s.ResolveAPIKey(r.Context(), key)
	if errors.Is(err, tenant.ErrNotFound) {
		return "", "", "", fmt.Errorf("%w: unknown or revoked API key", web.ErrUnauthenticated)
	}
	if err != nil {
		return "", "", "", err
	}
	return res.TenantID, res.KeyID, auth.Role(res.Role), nil
}

type env struct {
	t      *testing.T
	db     *sqldb.DB
	s      *tenant.Service
	owners *fakeOwners
	srv    *webtest.Server
}

func newEnv(t *testing.T, db *sqldb.DB) *env {
	t.Helper()
	return newEnvWith(t, db, tenant.Config{Default: true, DefaultHosts: []string{"localhost", "127.0.0.1"}, BaseDomain: "localhost", PublicPort: 8080})
}

func newEnvWith(t *testing.T, db *sqldb.DB, cfg tenant.Config) *env {
	t.Helper()
	owners := &fakeOwners{}
	s, err := tenant.New(t.Context(), cfg, tenant.Deps{Deps: kit.Deps{DB: db}, Owners: owners})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := webtest.New(t, s.Routes, func(d *web.Deps) {
		d.Tenants = directory{s}
		webtest.WithAPIKeys(serviceKeys{s})(d)
	})
	return &env{t: t, db: db, s: s, owners: owners, srv: srv}
}

type answer struct {
	status int
	raw    []byte
	hdr    http.Header
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.raw, v); err != nil {
		t.Fatalf("decode %s: %v", a.raw, err)
	}
}

func (a answer) code() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(a.raw, &p)
	return p.Code
}

// do sends a request; hdr "Host" sets the host name, the rest are headers.
func (e *env) do(method, path string, body any, hdr map[string]string) answer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, raw: raw, hdr: res.Header}
}

// admin returns headers of an admin call to store tenant.
func admin(tenant string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + webtest.AdminToken, tenancy.Header: tenant}
}

// as returns headers of a call with credentials creds (an Authorization
// or API key header, none if empty) to store tenant.
func as(creds map[string]string, tenant string) map[string]string {
	h := map[string]string{tenancy.Header: tenant}
	maps.Copy(h, creds)
	return h
}

func (e *env) signup(sub, key string) (answer, tenantapi.SignupResult) {
	e.t.Helper()
	hdr := map[string]string{}
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	a := e.do(http.MethodPost, "/api/v1/tenants", tenantapi.Signup{
		StoreName: "Shop " + sub, Subdomain: sub, Email: "owner@" + sub + ".example", Password: "correct horse battery",
	}, hdr)
	var r tenantapi.SignupResult
	if a.status < 300 {
		a.decode(e.t, &r)
	}
	return a, r
}

// events returns the outbox's events of subject, of every tenant (row-level
// security on PostgreSQL shows rows only to a transaction scoped to a
// tenant, or to all), oldest first.
func (e *env) events(subject string) []outbox.Envelope {
	e.t.Helper()
	var out []outbox.Envelope
	err := e.db.ReadTx(sqldb.AllTenants(e.t.Context()), func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(e.t.Context(), `SELECT envelope FROM outbox WHERE subject = $1 ORDER BY created_at, id`, subject)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw string
			var ev outbox.Envelope
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(raw), &ev); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return rows.Err()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestSignup(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		a, r := e.signup("acme-shop", "")
		if a.status != http.StatusCreated {
			t.Fatalf("signup = %d %s", a.status, a.raw)
		}
		id := r.Store.ID
		if !strings.HasPrefix(id, "acme-shop-") || !tenancy.Valid(id) {
			t.Errorf("tenant ID %q: want acme-shop-<suffix>, a valid tenant ID", id)
		}
		if r.AccessToken != "access-"+id || r.OwnerID != "owner-of-"+id || r.URL != "http://acme-shop.localhost:8080" {
			t.Errorf("signup answer = %+v", r)
		}
		if r.Store.Status != "active" || r.Store.Plan != "free" || r.Store.Name != "Shop acme-shop" || len(r.Store.Hosts) != 1 || r.Store.Hosts[0] != "acme-shop.localhost" {
			t.Errorf("store = %+v", r.Store)
		}
		if got := e.owners.tenants; len(got) != 1 || got[0] != id {
			t.Errorf("owner created in tenants %v, want [%s]: the new store, not the request's", got, id)
		}
		// The new store answers on its host at once.
		got := e.do(http.MethodGet, "/api/v1/admin/store", nil, map[string]string{"Host": "acme-shop.localhost:8080", "Authorization": "Bearer " + webtest.AdminToken})
		var st tenantapi.Store
		got.decode(t, &st)
		if got.status != http.StatusOK || st.ID != id {
			t.Errorf("GET store on acme-shop.localhost = %d %s", got.status, got.raw)
		}
		evs := e.events(tenantapi.SubjectTenantCreated)
		if len(evs) != 2 || evs[1].Tenant != id { // the default store's, then this one
			t.Fatalf("tenant.created.v1 events = %+v", evs)
		}
		var created tenantapi.TenantCreated
		if err := json.Unmarshal(evs[1].Data, &created); err != nil || created.TenantID != id || created.Plan != "free" || len(created.Hosts) != 1 {
			t.Errorf("tenant.created.v1 = %+v (%v)", created, err)
		}

		// Bad input: 4xx with a clear code, and nothing written.
		for _, tt := range []struct {
			name   string
			in     tenantapi.Signup
			status int
			code   string
		}{
			{"taken", tenantapi.Signup{StoreName: "Other", Subdomain: "acme-shop", Email: "b@b.example", Password: "correct horse battery"}, 409, "subdomain_taken"},
			{"taken uppercase", tenantapi.Signup{StoreName: "Other", Subdomain: "ACME-SHOP", Email: "b@b.example", Password: "correct horse battery"}, 409, "subdomain_taken"},
			{"reserved www", tenantapi.Signup{StoreName: "W", Subdomain: "www", Email: "b@b.example", Password: "correct horse battery"}, 422, "subdomain_reserved"},
			{"reserved admin", tenantapi.Signup{StoreName: "W", Subdomain: "admin", Email: "b@b.example", Password: "correct horse battery"}, 422, "subdomain_reserved"},
			{"leading dash", tenantapi.Signup{StoreName: "W", Subdomain: "-shop", Email: "b@b.example", Password: "correct horse battery"}, 422, "invalid_subdomain"},
			{"trailing dash", tenantapi.Signup{StoreName: "W", Subdomain: "shop-", Email: "b@b.example", Password: "correct horse battery"}, 422, "invalid_subdomain"},
			{"underscore", tenantapi.Signup{StoreName: "W", Subdomain: "my_shop", Email: "b@b.example", Password: "correct horse battery"}, 422, "invalid_subdomain"},
			{"dot", tenantapi.Signup{StoreName: "W", Subdomain: "a.shop", Email: "b@b.example", Password: "correct horse battery"}, 422, "invalid_subdomain"},
			{"sql", tenantapi.Signup{StoreName: "W", Subdomain: "x'; drop table tenants;--", Email: "b@b.example", Password: "correct horse battery"}, 422, "invalid_subdomain"},
			{"too short", tenantapi.Signup{StoreName: "W", Subdomain: "ab", Email: "b@b.example", Password: "correct horse battery"}, 422, "validation_failed"},
			{"bad email", tenantapi.Signup{StoreName: "W", Subdomain: "good-one", Email: "not an email", Password: "correct horse battery"}, 422, "invalid_email"},
			{"email with name", tenantapi.Signup{StoreName: "W", Subdomain: "good-one", Email: "Bob <b@b.example>", Password: "correct horse battery"}, 422, "invalid_email"},
			{"long name", tenantapi.Signup{StoreName: strings.Repeat("x", 101), Subdomain: "good-one", Email: "b@b.example", Password: "correct horse battery"}, 422, "validation_failed"},
			{"control char", tenantapi.Signup{StoreName: "a\x00b", Subdomain: "good-one", Email: "b@b.example", Password: "correct horse battery"}, 422, "validation_failed"},
			{"long password", tenantapi.Signup{StoreName: "W", Subdomain: "good-one", Email: "b@b.example", Password: strings.Repeat("p", 129)}, 422, "validation_failed"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				a := e.do(http.MethodPost, "/api/v1/tenants", tt.in, nil)
				if a.status != tt.status || a.code() != tt.code {
					t.Errorf("signup = %d %s, want %d %s", a.status, a.raw, tt.status, tt.code)
				}
			})
		}
		// The plan is not the signup's to choose: a body naming one, even
		// the plan it would get, is refused and creates nothing.
		for _, plan := range []string{"enterprise", "pro", "free", "gold"} {
			a := e.do(http.MethodPost, "/api/v1/tenants", map[string]any{
				"store_name": "Greedy", "subdomain": "greedy", "email": "g@greedy.example", "password": "correct horse battery", "plan": plan,
			}, nil)
			if a.status != http.StatusUnprocessableEntity || !strings.Contains(string(a.raw), "plan") {
				t.Errorf("signup naming plan %s = %d %s, want 422 about plan", plan, a.status, a.raw)
			}
		}
		if n := len(e.owners.tenants); n != 1 {
			t.Errorf("owner calls = %d, want 1: bad input reached the identity service", n)
		}
		if n := len(e.events(tenantapi.SubjectTenantCreated)); n != 2 {
			t.Errorf("tenant.created.v1 events = %d, want 2", n)
		}
	}, tenant.Migrations...)
}

func TestSignupOwnerFailure(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		e.owners.fail(&apiclient.Error{Status: 422, Code: "weak_password", Detail: "the password is too short",
			Errors: []apiclient.FieldError{{Location: "body.password", Message: "too_short"}}, Service: "identity"})
		a, _ := e.signup("weakling", "")
		if a.status != 422 || a.code() != "weak_password" || !strings.Contains(string(a.raw), "body.password") {
			t.Fatalf("signup with a weak password = %d %s, want 422 weak_password on body.password", a.status, a.raw)
		}
		if len(e.owners.tenants) != 1 {
			t.Fatal("identity not called")
		}
		failed := e.owners.tenants[0]
		if _, err := e.s.Resolve(t.Context(), "weakling.localhost", ""); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("host of a failed signup resolves: %v", err)
		}
		if _, err := e.s.Resolve(t.Context(), "", failed); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("ID of a failed signup resolves: %v", err)
		}
		e.owners.fail(errors.New("identity api: connection refused"))
		if a, _ := e.signup("weakling", ""); a.status != 503 || a.code() != "owner_service_unavailable" || strings.Contains(string(a.raw), "refused") {
			t.Errorf("signup with identity down = %d %s, want 503 owner_service_unavailable without internals", a.status, a.raw)
		}
		// The subdomain was given back: a good signup takes it.
		e.owners.fail(nil)
		a, r := e.signup("weakling", "")
		if a.status != http.StatusCreated || r.Store.ID == failed {
			t.Fatalf("signup after failures = %d %s (failed ID %s must not be reused)", a.status, a.raw, failed)
		}
		if n := len(e.events(tenantapi.SubjectTenantCreated)); n != 2 {
			t.Errorf("tenant.created.v1 events = %d, want 2 (default + the one good signup)", n)
		}
	}, tenant.Migrations...)
}

// TestSignupURLAndPlan: the store URL of a signup answer has the port the
// request was sent to (unless one is configured), and new stores get the
// deployment's signup plan, which only the operator changes.
func TestSignupURLAndPlan(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnvWith(t, db, tenant.Config{Default: true, DefaultHosts: []string{"localhost", "127.0.0.1"}, BaseDomain: "localhost", SignupPlan: "pro"})
		a, r := e.signup("porty", "")
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.srv.URL, "http://"))
		if a.status != 201 || r.URL != "http://porty.localhost:"+port {
			t.Errorf("signup = %d, url %q; want http://porty.localhost:%s", a.status, r.URL, port)
		}
		a = e.do(http.MethodPost, "/api/v1/tenants", tenantapi.Signup{StoreName: "Proxied", Subdomain: "proxied", Email: "o@proxied.example", Password: "correct horse battery"},
			map[string]string{"Host": "localhost"})
		var rp tenantapi.SignupResult
		a.decode(t, &rp)
		if rp.URL != "http://proxied.localhost" {
			t.Errorf("signup sent to a host without a port: url %q, want http://proxied.localhost", rp.URL)
		}
		limits := func() tenantapi.Limits {
			var l tenantapi.Limits
			e.do(http.MethodGet, "/api/v1/admin/store/limits", nil, admin(r.Store.ID)).decode(t, &l)
			return l
		}
		if r.Store.Plan != "pro" || limits().Plan != "pro" {
			t.Errorf("new store's plan = %s / %+v, want the deployment's pro", r.Store.Plan, limits())
		}
		if got := e.do(http.MethodPut, "/api/v1/admin/store/plan", tenantapi.PlanUpdate{Plan: "gold"}, admin(r.Store.ID)); got.status != 422 {
			t.Errorf("set plan gold = %d %s, want 422", got.status, got.raw)
		}
		owner := map[string]string{"Authorization": webtest.Bearer(t, auth.Principal{Tenant: r.Store.ID, Subject: "o", Kind: auth.KindStaff, Role: auth.RoleOwner})}
		if got := e.do(http.MethodPut, "/api/v1/admin/store/plan", tenantapi.PlanUpdate{Plan: "enterprise"}, as(owner, r.Store.ID)); got.status != 403 {
			t.Errorf("the owner sets the plan = %d %s, want 403", got.status, got.raw)
		}
		for _, creds := range []string{webtest.AdminToken, webtest.ServiceToken} {
			got := e.do(http.MethodPut, "/api/v1/admin/store/plan", tenantapi.PlanUpdate{Plan: "enterprise"}, as(map[string]string{"Authorization": "Bearer " + creds}, r.Store.ID))
			if got.status != 200 || limits() != (tenantapi.Limits{Plan: "enterprise", Products: tenantapi.Unlimited, Staff: tenantapi.Unlimited}) {
				t.Errorf("the operator sets the plan = %d %s; limits %+v", got.status, got.raw, limits())
			}
			e.do(http.MethodPut, "/api/v1/admin/store/plan", tenantapi.PlanUpdate{Plan: "free"}, admin(r.Store.ID))
		}
	}, tenant.Migrations...)
}

func TestSignupIdempotent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		// Signups are anonymous, so the platform keeps no answer for them
		// (it could not tell the caller from another with the same key):
		// the service finds the first attempt by its key and answers with
		// the store but without the owner's tokens, which only the first
		// answer carries.
		a1, r1 := e.signup("twice", "key-1")
		a2, r2 := e.signup("twice", "key-1")
		if a1.status != 201 || a2.status != 200 || r1.Store.ID != r2.Store.ID || strings.Contains(string(a2.raw), "access_token") {
			t.Fatalf("retry = %d %s / %d %s", a1.status, a1.raw, a2.status, a2.raw)
		}
		// When the platform's record is gone (a 5xx is not kept), the
		// service finds the first attempt by its key.
		in := tenantapi.Signup{StoreName: "Again", Subdomain: "again", Email: "o@again.example", Password: "correct horse battery"}
		first, created, err := e.s.Signup(t.Context(), in, "key-2")
		if err != nil || !created {
			t.Fatalf("first = %v %v", created, err)
		}
		second, created, err := e.s.Signup(t.Context(), in, "key-2")
		if err != nil || created || second.Store.ID != first.Store.ID || second.AccessToken != "" {
			t.Fatalf("retry = %+v created=%v err=%v; want the first store, not created, no tokens", second, created, err)
		}
		in.Subdomain = "other"
		if _, _, err := e.s.Signup(t.Context(), in, "key-2"); !errors.Is(err, tenant.ErrSignupKeyReused) {
			t.Errorf("same key, same owner, other signup: %v, want ErrSignupKeyReused", err)
		}
		// Keys are scoped by the owner's email: another person sending the
		// same key (the guide's literal one) signs up a store of their own.
		other := tenantapi.Signup{StoreName: "Mine", Subdomain: "mine", Email: "someone@else.example", Password: "correct horse battery"}
		mine, created, err := e.s.Signup(t.Context(), other, "key-2")
		if err != nil || !created || mine.Store.ID == first.Store.ID || mine.AccessToken == "" {
			t.Fatalf("another owner's signup with the same key = %+v created=%v err=%v; want a new store", mine, created, err)
		}
		if again, created, err := e.s.Signup(t.Context(), other, "key-2"); err != nil || created || again.Store.ID != mine.Store.ID {
			t.Errorf("its retry = %+v created=%v err=%v; want its store again", again, created, err)
		}
		if n := len(e.events(tenantapi.SubjectTenantCreated)); n != 4 {
			t.Errorf("tenant.created.v1 events = %d, want 4 (default, twice, again, mine)", n)
		}
		if n := len(e.owners.tenants); n != 3 {
			t.Errorf("owner calls = %d, want 3", n)
		}
	}, tenant.Migrations...)
}

func TestDomainsResolve(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		_, a := e.signup("alpha", "")
		_, b := e.signup("bravo", "")
		if a.Store.ID == "" || b.Store.ID == "" {
			t.Fatal("signups failed")
		}
		if got := e.do(http.MethodPost, "/api/v1/admin/store/domains", tenantapi.DomainCreate{Host: "Shop.Alpha.Example."}, admin(a.Store.ID)); got.status != 201 {
			t.Fatalf("add domain = %d %s", got.status, got.raw)
		}
		// X-Mercato-Tenant takes a store's ID or its subdomain.
		for _, tt := range []struct{ hint, want string }{
			{a.Store.ID, a.Store.ID}, {"alpha", a.Store.ID}, {"BRAVO", b.Store.ID}, {"default", "default"},
		} {
			r := e.do(http.MethodGet, "/api/v1/admin/store", nil, admin(tt.hint))
			var st tenantapi.Store
			r.decode(t, &st)
			if r.status != 200 || st.ID != tt.want {
				t.Errorf("X-Mercato-Tenant %s = %d %s, want store %s", tt.hint, r.status, r.raw, tt.want)
			}
		}
		if r := e.do(http.MethodGet, "/api/v1/admin/store", nil, admin("charlie")); r.status != 404 || r.code() != "unknown_tenant" {
			t.Errorf("X-Mercato-Tenant of no store = %d %s, want 404 unknown_tenant", r.status, r.raw)
		}
		for _, tt := range []struct{ host, want string }{
			{"alpha.localhost", a.Store.ID}, {"bravo.localhost", b.Store.ID}, {"shop.alpha.example", a.Store.ID}, {"localhost", "default"},
		} {
			if got, err := e.s.Resolve(t.Context(), tt.host, ""); err != nil || got.TenantID != tt.want {
				t.Errorf("Resolve(%s) = %q %v, want %s", tt.host, got.TenantID, err, tt.want)
			}
			// and through the platform: each host serves its own store.
			r := e.do(http.MethodGet, "/api/v1/admin/store", nil, map[string]string{"Host": tt.host, "Authorization": "Bearer " + webtest.AdminToken})
			var st tenantapi.Store
			r.decode(t, &st)
			if st.ID != tt.want {
				t.Errorf("GET store at %s = %s, want %s", tt.host, st.ID, tt.want)
			}
		}
		for _, tt := range []struct {
			host   string
			tenant string
			status int
			code   string
		}{
			{"shop.alpha.example", b.Store.ID, 409, "domain_taken"},
			{"bravo.localhost", a.Store.ID, 422, "invalid_domain"},
			{"evil.localhost", a.Store.ID, 422, "invalid_domain"},
			{"https://x.example/path", a.Store.ID, 422, "invalid_domain"},
			{"10.0.0.1", a.Store.ID, 422, "invalid_domain"},
			{"nodot", a.Store.ID, 422, "invalid_domain"},
			{"<b>.example", a.Store.ID, 422, "invalid_domain"},
		} {
			got := e.do(http.MethodPost, "/api/v1/admin/store/domains", tenantapi.DomainCreate{Host: tt.host}, admin(tt.tenant))
			if got.status != tt.status || got.code() != tt.code {
				t.Errorf("add %q = %d %s, want %d %s", tt.host, got.status, got.raw, tt.status, tt.code)
			}
		}
		if got := e.do(http.MethodDelete, "/api/v1/admin/store/domains/alpha.localhost", nil, admin(a.Store.ID)); got.status != 409 || got.code() != "domain_protected" {
			t.Errorf("remove the subdomain host = %d %s", got.status, got.raw)
		}
		if got := e.do(http.MethodDelete, "/api/v1/admin/store/domains/shop.alpha.example", nil, admin(b.Store.ID)); got.status != 404 {
			t.Errorf("remove another store's domain = %d %s, want 404", got.status, got.raw)
		}
		if got := e.do(http.MethodDelete, "/api/v1/admin/store/domains/shop.alpha.example", nil, admin(a.Store.ID)); got.status != 204 {
			t.Fatalf("remove domain = %d %s", got.status, got.raw)
		}
		if _, err := e.s.Resolve(t.Context(), "shop.alpha.example", ""); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("removed domain still resolves: %v", err)
		}
		var list tenantapi.DomainList
		e.do(http.MethodGet, "/api/v1/admin/store/domains", nil, admin(a.Store.ID)).decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].Host != "alpha.localhost" || list.Items[0].Kind != "subdomain" {
			t.Errorf("domains = %+v", list.Items)
		}
	}, tenant.Migrations...)
}

func TestSettings(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		_, r := e.signup("settings", "")
		id := r.Store.ID
		html := `<script>alert("x")</script> & Co`
		got := e.do(http.MethodPatch, "/api/v1/admin/store", map[string]any{
			"name": html, "logo": "/media/logo.png", "currency": "CHF", "tax_inclusive": false, "locale": "de-ch",
			"brand_color": "#0A1B2C", "accent_color": "#ffcc00",
			"legal_name": "Zürcher Tee & Söhne AG", "tax_id": " che-123.456.789 mwst ", "time_zone": "Europe/Zurich", "invoice_on": "shipped",
			"address": map[string]any{"line1": "Bahnhofstrasse 1", "city": "Zürich", "postal_code": "8001", "country": "ch"},
		}, admin(id))
		if got.status != 200 {
			t.Fatalf("patch = %d %s", got.status, got.raw)
		}
		if bytes.Contains(got.raw, []byte("<script>")) || !bytes.Contains(got.raw, []byte(`\u003cscript\u003e`)) {
			t.Errorf("name not JSON-escaped in %s", got.raw)
		}
		var st tenantapi.Store
		e.do(http.MethodGet, "/api/v1/admin/store", nil, admin(id)).decode(t, &st)
		want := tenantapi.Settings{Name: html, Logo: "/media/logo.png", Currency: "CHF", TaxInclusive: false, Locale: "de-CH", CORSOrigins: []string{},
			BrandColor: "#0a1b2c", AccentColor: "#ffcc00", LegalName: "Zürcher Tee & Söhne AG", TaxID: "CHE-123.456.789 MWST",
			Address:  tenantapi.Address{Line1: "Bahnhofstrasse 1", City: "Zürich", PostalCode: "8001", Country: "CH"},
			TimeZone: "Europe/Zurich", InvoiceOn: "shipped"}
		if !st.Settings.Equal(want) {
			t.Errorf("settings = %+v, want %+v (name stored as given)", st.Settings, want)
		}
		evs := e.events(tenantapi.SubjectTenantUpdated)
		if len(evs) != 1 || evs[0].Tenant != id {
			t.Fatalf("tenant.updated.v1 = %+v", evs)
		}
		var upd tenantapi.TenantUpdated
		if err := json.Unmarshal(evs[0].Data, &upd); err != nil || !upd.Settings.Equal(want) || upd.UpdatedAt.IsZero() {
			t.Errorf("tenant.updated.v1 data = %+v %v", upd, err)
		}
		// A patch that changes nothing announces nothing.
		if got := e.do(http.MethodPatch, "/api/v1/admin/store", map[string]any{"currency": "CHF"}, admin(id)); got.status != 200 || len(e.events(tenantapi.SubjectTenantUpdated)) != 1 {
			t.Errorf("no-op patch = %d, events %d", got.status, len(e.events(tenantapi.SubjectTenantUpdated)))
		}
		for _, tt := range []struct {
			body   map[string]any
			status int
			code   string
		}{
			{map[string]any{"name": ""}, 422, "validation_failed"},
			{map[string]any{"name": "   "}, 422, "validation_failed"},
			{map[string]any{"name": strings.Repeat("é", 101)}, 422, "validation_failed"},
			{map[string]any{"currency": "eur"}, 422, "invalid_currency"},
			{map[string]any{"currency": "XXX"}, 422, "invalid_currency"},
			{map[string]any{"locale": "not a locale"}, 422, "invalid_locale"},
			{map[string]any{"logo": "javascript:alert(1)"}, 422, "invalid_logo"},
			{map[string]any{"logo": "//evil.example/x.png"}, 422, "invalid_logo"},
			{map[string]any{"logo": `/x" onerror="alert(1)`}, 422, "invalid_logo"},
			{map[string]any{"tax_inclusive": "yes"}, 422, "validation_failed"},
			{map[string]any{"cors_origins": []string{"*"}}, 422, "invalid_origin"},
			{map[string]any{"cors_origins": []string{"https://shop.example/path"}}, 422, "invalid_origin"},
			{map[string]any{"brand_color": "#abc"}, 422, "validation_failed"},
			{map[string]any{"brand_color": "green"}, 422, "validation_failed"},
			{map[string]any{"accent_color": "#12345g"}, 422, "validation_failed"},
			{map[string]any{"accent_color": `#fff" onload="x`}, 422, "validation_failed"},
			{map[string]any{"accent_color": ""}, 422, "validation_failed"},
			{map[string]any{"time_zone": "Mars/Olympus"}, 422, "invalid_time_zone"},
			{map[string]any{"time_zone": "Local"}, 422, "invalid_time_zone"},
			{map[string]any{"invoice_on": "paid"}, 422, "validation_failed"},
			{map[string]any{"tax_id": "<b>1</b>"}, 422, "invalid_tax_id"},
			{map[string]any{"address": map[string]any{"line1": "1 Way", "city": "Oslo", "country": "XX"}}, 422, "invalid_country"},
			{map[string]any{"address": map[string]any{"line1": "1 Way", "country": "NO"}}, 422, "validation_failed"},
			{map[string]any{"legal_name": "A\u202eB"}, 422, "validation_failed"},
		} {
			got := e.do(http.MethodPatch, "/api/v1/admin/store", tt.body, admin(id))
			if got.status != tt.status || got.code() != tt.code {
				t.Errorf("patch %v = %d %s, want %d %s", tt.body, got.status, got.raw, tt.status, tt.code)
			}
			// A refused colour is marked at its field, for the form.
			for field := range tt.body {
				if strings.HasSuffix(field, "_color") && !bytes.Contains(got.raw, []byte(`"location":"body.`+field+`"`)) {
					t.Errorf("patch %v = %s, want the error at body.%s", tt.body, got.raw, field)
				}
			}
		}
		e.do(http.MethodGet, "/api/v1/admin/store", nil, admin(id)).decode(t, &st)
		if !st.Settings.Equal(want) || len(e.events(tenantapi.SubjectTenantUpdated)) != 1 {
			t.Errorf("bad patches changed the store: %+v", st.Settings)
		}
		if got := e.do(http.MethodPatch, "/api/v1/admin/store", map[string]any{"logo": "https://cdn.example/l.png"}, admin(id)); got.status != 200 {
			t.Errorf("https logo = %d %s", got.status, got.raw)
		}
		// Allowed CORS origins: none by default, set by the store, carried
		// by the resolution every process reads them from.
		if res, err := e.s.Resolve(t.Context(), "", id); err != nil || len(res.CORSOrigins) != 0 {
			t.Errorf("a new store allows origins: %+v %v", res, err)
		}
		got = e.do(http.MethodPatch, "/api/v1/admin/store", map[string]any{"cors_origins": []string{"https://Shop.example:443", "http://localhost:3000"}}, admin(id))
		e.do(http.MethodGet, "/api/v1/admin/store", nil, admin(id)).decode(t, &st)
		if wantO := []string{"https://shop.example", "http://localhost:3000"}; got.status != 200 || !slices.Equal(st.CORSOrigins, wantO) {
			t.Errorf("set origins = %d %s; stored %v, want %v", got.status, got.raw, st.CORSOrigins, wantO)
		}
		for _, q := range [][2]string{{"", id}, {"settings.localhost", ""}} {
			if res, err := e.s.Resolve(t.Context(), q[0], q[1]); err != nil || !slices.Equal(res.CORSOrigins, st.CORSOrigins) {
				t.Errorf("resolve %q = %+v %v, want the store's origins", q, res, err)
			}
		}
	}, tenant.Migrations...)
}

func TestAPIKeysAndLimits(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		_, r := e.signup("keys", "")
		id := r.Store.ID
		var pk, sk tenantapi.APIKeyCreated
		for _, c := range []struct {
			kind string
			out  *tenantapi.APIKeyCreated
		}{{"publishable", &pk}, {"secret", &sk}} {
			got := e.do(http.MethodPost, "/api/v1/admin/store/api-keys", tenantapi.APIKeyCreate{Name: "<b>storefront</b>", Kind: c.kind}, admin(id))
			if got.status != 201 {
				t.Fatalf("create %s key = %d %s", c.kind, got.status, got.raw)
			}
			got.decode(t, c.out)
		}
		if !strings.HasPrefix(pk.Key, "pk_live_") || !strings.HasPrefix(sk.Key, "sk_live_") || pk.Prefix != pk.Key[:12] {
			t.Errorf("keys %q %q prefix %q", pk.Key, sk.Key, pk.Prefix)
		}
		if got := e.do(http.MethodPost, "/api/v1/admin/store/api-keys", tenantapi.APIKeyCreate{Name: "x", Kind: "root"}, admin(id)); got.status != 422 {
			t.Errorf("bad kind = %d", got.status)
		}
		list := e.do(http.MethodGet, "/api/v1/admin/store/api-keys", nil, admin(id))
		if bytes.Contains(list.raw, []byte(pk.Key)) || bytes.Contains(list.raw, []byte(sk.Key)) {
			t.Errorf("list shows a key: %s", list.raw)
		}
		var keys tenantapi.APIKeyList
		list.decode(t, &keys)
		if len(keys.Items) != 2 {
			t.Errorf("keys = %+v", keys.Items)
		}
		// Another store sees none of them and cannot revoke them.
		var other tenantapi.APIKeyList
		e.do(http.MethodGet, "/api/v1/admin/store/api-keys", nil, admin("default")).decode(t, &other)
		if len(other.Items) != 0 {
			t.Errorf("default store lists %d keys of another store", len(other.Items))
		}
		if got := e.do(http.MethodDelete, "/api/v1/admin/store/api-keys/"+pk.ID, nil, admin("default")); got.status != 404 {
			t.Errorf("revoke from another store = %d", got.status)
		}

		c := tenantapi.NewClient(e.srv.URL, &http.Client{Transport: bearer{webtest.ServiceToken}})
		res, err := c.ResolveAPIKey(t.Context(), sk.Key)
		if err != nil || res.TenantID != id || res.KeyID != sk.ID || res.Role != "secret" {
			t.Errorf("resolve secret key = %+v %v", res, err)
		}
		if _, err := c.ResolveAPIKey(t.Context(), "pk_live_NOPE"); !errors.Is(err, tenantapi.ErrUnknownAPIKey) {
			t.Errorf("unknown key: %v", err)
		}
		// The keys are credentials: a secret key reads the store, a
		// publishable one may not; in another store neither proves anything.
		for _, tt := range []struct {
			name, header, key, store string
			status                   int
		}{
			{"secret key", web.APIKeyHeader, sk.Key, id, 200},
			{"secret key as bearer", "Authorization", "Bearer " + sk.Key, id, 200},
			{"publishable key", web.APIKeyHeader, pk.Key, id, 403},
			{"secret key in another store", web.APIKeyHeader, sk.Key, "default", 401},
			{"unknown key", web.APIKeyHeader, "sk_live_NOPE", id, 401},
		} {
			if got := e.do(http.MethodGet, "/api/v1/admin/store", nil, as(map[string]string{tt.header: tt.key}, tt.store)); got.status != tt.status {
				t.Errorf("%s: GET store = %d %s, want %d", tt.name, got.status, got.raw, tt.status)
			}
		}
		if got := e.do(http.MethodDelete, "/api/v1/admin/store/api-keys/"+pk.ID, nil, admin(id)); got.status != 204 {
			t.Fatalf("revoke = %d %s", got.status, got.raw)
		}
		if got := e.do(http.MethodGet, "/api/v1/admin/store/limits", nil, as(map[string]string{web.APIKeyHeader: pk.Key}, id)); got.status != 401 || got.code() != "unauthorized" {
			t.Errorf("revoked key as a credential = %d %s, want 401 unauthorized", got.status, got.raw)
		}
		if _, err := e.s.ResolveAPIKey(t.Context(), pk.Key); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("revoked key resolves: %v", err)
		}
		// A fresh client (no cache) is refused the revoked key at once.
		fresh := tenantapi.NewClient(e.srv.URL, &http.Client{Transport: bearer{webtest.ServiceToken}})
		if _, err := fresh.ResolveAPIKey(t.Context(), pk.Key); !errors.Is(err, tenantapi.ErrUnknownAPIKey) {
			t.Errorf("revoked key through the client: %v", err)
		}
		if got := e.do(http.MethodGet, tenantapi.ResolvePath, nil, map[string]string{tenantapi.APIKeyHeader: pk.Key, "Authorization": "Bearer " + webtest.ServiceToken}); got.status != 404 {
			t.Errorf("resolve endpoint with a revoked key = %d", got.status)
		}
		// The resolve endpoint is no oracle for anyone else: without the
		// service token it answers 401 whatever is asked.
		for _, creds := range []map[string]string{nil, {"Authorization": "Bearer " + webtest.AdminToken}, {"Authorization": "Bearer " + sk.Key}} {
			for _, q := range []string{"?host=localhost", "?id=default", ""} {
				hdr := map[string]string{tenantapi.APIKeyHeader: sk.Key}
				maps.Copy(hdr, creds)
				if got := e.do(http.MethodGet, tenantapi.ResolvePath+q, nil, hdr); got.status != 401 || strings.Contains(string(got.raw), id) {
					t.Errorf("resolve%s as %v = %d %s, want 401", q, creds, got.status, got.raw)
				}
			}
		}

		// Plan limits, through the client other services use.
		l, err := tenantapi.NewClient(e.srv.URL, &http.Client{}).Limits(tenancy.WithID(t.Context(), id))
		if err == nil || !apiclient.IsStatus(err, 401) {
			t.Errorf("limits without the admin token = %+v %v, want 401", l, err)
		}
		authed := tenantapi.NewClient(e.srv.URL, &http.Client{Transport: bearer{webtest.AdminToken}})
		l, err = authed.Limits(tenancy.WithID(t.Context(), id))
		if err != nil || l != (tenantapi.Limits{Plan: "free", Products: 100, Staff: 2}) {
			t.Errorf("limits = %+v %v", l, err)
		}
		if err := tenantapi.CheckLimit(l, tenantapi.ResourceStaff, 2); !errors.Is(err, tenantapi.ErrLimitReached) {
			t.Errorf("third staff account allowed: %v", err)
		}
		if l, err := authed.Limits(tenancy.WithID(t.Context(), "default")); err != nil || l.Products != tenantapi.Unlimited {
			t.Errorf("default store limits = %+v %v, want unlimited", l, err)
		}
	}, tenant.Migrations...)
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// TestAccess is the authorization matrix: operation × principal × store,
// with real credentials: test access tokens, the store's API keys, the
// admin token. A principal of store A is nobody in store B (401).
func TestAccess(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		_, a := e.signup("matrix-a", "")
		_, b := e.signup("matrix-b", "")
		ta, tb := a.Store.ID, b.Store.ID
		key := func(kind string) string {
			var k tenantapi.APIKeyCreated
			got := e.do(http.MethodPost, "/api/v1/admin/store/api-keys", tenantapi.APIKeyCreate{Name: kind, Kind: kind}, admin(ta))
			got.decode(t, &k)
			return k.Key
		}
		staff := func(r auth.Role) map[string]string {
			return map[string]string{"Authorization": webtest.Bearer(t, auth.Principal{Tenant: ta, Subject: "staff-" + string(r), Kind: auth.KindStaff, Role: r})}
		}
		callers := map[string]map[string]string{
			"admin":               {"Authorization": "Bearer " + webtest.AdminToken},
			"staff:owner":         staff(auth.RoleOwner),
			"staff:manager":       staff(auth.RoleManager),
			"staff:staff":         staff(auth.RoleStaff),
			"staff:support":       staff(auth.RoleSupport),
			"api_key:secret":      {web.APIKeyHeader: key("secret")},
			"api_key:publishable": {"Authorization": "Bearer " + key("publishable")},
			"customer:":           {"Authorization": webtest.Bearer(t, auth.Principal{Tenant: ta, Subject: "c1", Kind: auth.KindCustomer})},
			"anonymous":           nil,
		}
		ops := []struct {
			name, method, path string
			body               any
			ok                 int
		}{
			{"get-store", "GET", "/api/v1/admin/store", nil, 200},
			{"update-store", "PATCH", "/api/v1/admin/store", map[string]any{"locale": "fr"}, 200},
			{"get-store-limits", "GET", "/api/v1/admin/store/limits", nil, 200},
			{"list-store-domains", "GET", "/api/v1/admin/store/domains", nil, 200},
			{"add-store-domain", "POST", "/api/v1/admin/store/domains", nil, 201},
			{"remove-store-domain", "DELETE", "/api/v1/admin/store/domains/nope.example", nil, 404},
			{"list-api-keys", "GET", "/api/v1/admin/store/api-keys", nil, 200},
			{"create-api-key", "POST", "/api/v1/admin/store/api-keys", tenantapi.APIKeyCreate{Name: "k", Kind: "secret"}, 201},
			{"revoke-api-key", "DELETE", "/api/v1/admin/store/api-keys/nope", nil, 404},
			{"set-store-plan", "PUT", "/api/v1/admin/store/plan", tenantapi.PlanUpdate{Plan: "pro"}, 200},
		}
		if len(ops) != len(tenant.Access) {
			t.Fatalf("the matrix covers %d operations, access has %d", len(ops), len(tenant.Access))
		}
		everything := make([]string, len(ops))
		for i, op := range ops {
			everything[i] = op.name
		}
		// Plans are the operator's: not even the owner chooses one.
		owner := slices.DeleteFunc(slices.Clone(everything), func(op string) bool { return op == "set-store-plan" })
		allowed := map[string][]string{
			"admin":               everything,
			"staff:owner":         owner,
			"staff:manager":       {"get-store", "update-store", "get-store-limits", "list-store-domains", "list-api-keys"},
			"staff:staff":         {"get-store", "get-store-limits"},
			"staff:support":       {"get-store", "get-store-limits"},
			"api_key:secret":      {"get-store", "update-store", "get-store-limits", "list-store-domains"},
			"api_key:publishable": nil,
			"customer:":           nil,
			"anonymous":           nil,
		}
		n := 0
		for who, ok := range allowed {
			for _, op := range ops {
				for _, store := range []string{ta, tb} {
					body := op.body
					if op.name == "add-store-domain" {
						n++
						body = tenantapi.DomainCreate{Host: "d" + strings.Repeat("x", n%5) + strings.ToLower(strings.ReplaceAll(who, ":", "-")) + "-" + store + ".example"}
					}
					want, code := http.StatusForbidden, "forbidden"
					switch {
					case who == "admin" || (store == ta && slices.Contains(ok, op.name)):
						want, code = op.ok, ""
					case who == "anonymous" || store != ta:
						want, code = http.StatusUnauthorized, "unauthorized"
					}
					got := e.do(op.method, op.path, body, as(callers[who], store))
					if got.status != want || (code != "" && got.code() != code) {
						t.Errorf("%s of %s → %s of store %s = %d %s, want %d %s", who, ta, op.name, store, got.status, got.raw, want, code)
					}
				}
			}
		}
		// Signup is public: no principal needed.
		if got, _ := e.signup("matrix-c", ""); got.status != 201 {
			t.Errorf("anonymous signup = %d", got.status)
		}
		webtest.CheckDocumentedRoles(t, e.srv.URL, tenant.Access)
		webtest.CheckDocument(t, e.srv.URL)
	}, tenant.Migrations...)
}

// TestSignupTakesOverAbandoned checks that a signup rolls back another
// store's signup of its subdomain abandoned while provisioning (its
// process died): the old store is failed, its host released and mapped to
// the new store. The old store's rows belong to another tenant than the
// request's and the new store's.
func TestSignupTakesOverAbandoned(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		const old = "gone-abcd1234"
		long := time.Now().Add(-time.Hour).UnixMicro()
		err := db.Tx(tenancy.WithID(t.Context(), old), func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(t.Context(), `INSERT INTO tenants (id, name, status, subdomain, created_at, updated_at) VALUES ($1, 'Gone', 'provisioning', 'gone', $2, $2)`, old, long); err != nil {
				return err
			}
			_, err := tx.ExecContext(t.Context(), `INSERT INTO domains (host, tenant_id, kind, created_at) VALUES ('gone.localhost', $1, 'subdomain', $2)`, old, long)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		a, r := e.signup("gone", "")
		if a.status != http.StatusCreated || r.Store.ID == old {
			t.Fatalf("signup over an abandoned one = %d %s", a.status, a.raw)
		}
		if got, err := e.s.Resolve(t.Context(), "gone.localhost", ""); err != nil || got.TenantID != r.Store.ID {
			t.Errorf("gone.localhost resolves to %q, %v; want %s", got.TenantID, err, r.Store.ID)
		}
		var status string
		var hosts int
		err = db.ReadTx(sqldb.AllTenants(t.Context()), func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(t.Context(), `SELECT status FROM tenants WHERE id = $1`, old).Scan(&status); err != nil {
				return err
			}
			return tx.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM domains WHERE tenant_id = $1`, old).Scan(&hosts)
		})
		if err != nil || status != "failed" || hosts != 0 {
			t.Errorf("abandoned store: status %q, %d hosts (%v); want failed and none", status, hosts, err)
		}
	}, tenant.Migrations...)
}

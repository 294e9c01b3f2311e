// Package webtest serves a service's routes through the real web platform
// (middleware, problem errors, admin auth, idempotency on SQLite) for HTTP
// tests, with a fixed set of tenants.
package webtest

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
)

// AdminToken is the admin bearer token the test server accepts.
const AdminToken = "test-admin-token-0123456789"

// Tenants are the tenant IDs the test server knows. Host "localhost" (the
// default of httptest URLs is 127.0.0.1, which also maps to "default")
// resolves to "default"; the X-Mercato-Tenant header selects any of them.
var Tenants = []string{"default", "acme", "globex"}

// ServiceToken is the service token the test server accepts (on /internal/
// routes, and as an admin principal elsewhere).
const ServiceToken = "test-service-token-0123456789abcdef-0123"

// MaxBodyBytes is the test server's body limit.
const MaxBodyBytes = 64 << 10

type resolver struct{}

func (resolver) ResolveTenant(_ context.Context, host, id string) (string, error) {
	if id != "" {
		if slices.Contains(Tenants, id) {
			return id, nil
		}
		return "", web.ErrUnknownTenant
	}
	if host == "localhost" || host == "127.0.0.1" {
		return "default", nil
	}
	return "", web.ErrUnknownTenant
}

// The test server's access token key.
const testKeyID = "webtest"

var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// Token returns an access token for p (kind staff or customer, with its
// tenant) that the test server accepts for 15 minutes, as if the identity
// service had issued it.
func Token(t testing.TB, p auth.Principal) string {
	t.Helper()
	now := time.Now()
	s, err := auth.Sign(testKey, testKeyID, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: auth.Issuer, Audience: jwt.ClaimStrings{auth.Audience}, Subject: p.Subject,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
		},
		Tenant: p.Tenant, Kind: p.Kind, Role: p.Role,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Bearer returns the Authorization header value for p's token.
func Bearer(t testing.TB, p auth.Principal) string { return "Bearer " + Token(t, p) }

// Server is a running test server.
type Server struct {
	*httptest.Server
	Web *web.Server
}

// New starts a server with mount's routes; it stops when the test ends.
// Options change the server's dependencies (a logger, a tracer) before it
// is built.
func New(t testing.TB, mount func(api *web.API), opts ...func(*web.Deps)) *Server {
	t.Helper()
	db := sqldbtest.Open(t, "", web.IdempotencyMigrations)
	cfg := web.Config{Addr: "127.0.0.1:0", MaxBodyBytes: MaxBodyBytes, AdminToken: AdminToken, ServiceToken: ServiceToken}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	deps := web.Deps{
		Log:         log,
		Registry:    prometheus.NewRegistry(),
		Tenants:     resolver{},
		Idempotency: web.NewIdempotencyStore(db),
		Version:     "test",
		Auth: web.NewAuthenticator(web.AuthConfig{
			AdminToken:   AdminToken,
			ServiceToken: ServiceToken,
			Verifier:     auth.NewVerifier(auth.StaticKeys{testKeyID: testKey.Public().(ed25519.PublicKey)}, nil),
		}),
	}
	for _, o := range opts {
		o(&deps)
	}
	s := web.New(cfg, deps)
	mount(s.API())
	s.MarkReady()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &Server{Server: ts, Web: s}
}

// ExpiredToken returns an access token for p that the test server's key
// signed but that expired a minute ago.
func ExpiredToken(t testing.TB, p auth.Principal) string {
	t.Helper()
	now := time.Now()
	s, err := auth.Sign(testKey, testKeyID, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: auth.Issuer, Audience: jwt.ClaimStrings{auth.Audience}, Subject: p.Subject,
			IssuedAt: jwt.NewNumericDate(now.Add(-16 * time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(-time.Minute)),
		},
		Tenant: p.Tenant, Kind: p.Kind, Role: p.Role,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

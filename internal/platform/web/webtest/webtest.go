// Package webtest serves a service's routes through the real web platform
// (middleware, problem errors, admin auth, idempotency on SQLite) for HTTP
// tests, with a fixed set of tenants.
package webtest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
)

// AdminToken is the admin bearer token the test server accepts.
const AdminToken = "test-admin-token-0123456789"

// Tenants are the tenant IDs the test server knows. Host "localhost" (the
// default of httptest URLs is 127.0.0.1, which also maps to "default")
// resolves to "default"; the X-Mercato-Tenant header selects any of them.
var Tenants = []string{"default", "acme", "globex"}

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
	cfg := web.Config{Addr: "127.0.0.1:0", MaxBodyBytes: MaxBodyBytes, AdminToken: AdminToken}
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

package tenant_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/tenant"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

func newService(t *testing.T, db *sqldb.DB) *tenant.Service {
	t.Helper()
	s, err := tenant.New(t.Context(), tenant.Config{Default: true, DefaultHosts: []string{"localhost", "127.0.0.1"}}, tenant.Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDirectory(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newService(t, db)
		for range 2 {
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		created, err := s.Ensure(ctx, "acme", "Acme", []string{"acme.localhost", "Shop.Acme.Example"})
		if err != nil || !created {
			t.Fatalf("ensure acme: %v %v", created, err)
		}
		if created, err := s.Ensure(ctx, "acme", "Acme again", nil); err != nil || created {
			t.Fatalf("second ensure: created=%v err=%v, want nothing new", created, err)
		}
		for _, tt := range []struct{ host, id, want string }{
			{"localhost", "", "default"},
			{"127.0.0.1", "", "default"},
			{"acme.localhost", "", "acme"},
			{"shop.acme.example", "", "acme"},
			{"SHOP.ACME.EXAMPLE", "", "acme"},
			{"localhost", "acme", "acme"},
		} {
			got, err := s.Resolve(ctx, tt.host, tt.id)
			if err != nil || got.TenantID != tt.want {
				t.Errorf("Resolve(%q, %q) = %q, %v; want %q", tt.host, tt.id, got.TenantID, err, tt.want)
			}
		}
		for _, tt := range []struct{ host, id string }{{"nowhere.example", ""}, {"localhost", "nobody"}} {
			if _, err := s.Resolve(ctx, tt.host, tt.id); !errors.Is(err, tenant.ErrNotFound) {
				t.Errorf("Resolve(%q, %q) = %v, want ErrNotFound", tt.host, tt.id, err)
			}
		}
		if _, err := s.Ensure(ctx, "Not Valid", "x", nil); err == nil {
			t.Error("an invalid tenant id was accepted")
		}
		// One tenant.created.v1 per tenant, in the same transaction.
		var n int
		err = db.ReadTx(sqldb.AllTenants(ctx), func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE subject = $1`, tenantapi.SubjectTenantCreated).Scan(&n)
		})
		if err != nil || n != 2 {
			t.Errorf("tenant.created.v1 events = %d (%v), want 2", n, err)
		}
	}, tenant.Migrations...)
}

// countingTransport counts requests reaching the tenant service.
type countingTransport struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestClientResolvesAndCaches(t *testing.T) {
	db := sqldbtest.Open(t, "", tenant.Migrations...)
	s := newService(t, db)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := webtest.New(t, s.Routes)
	ct := &countingTransport{next: bearer{webtest.ServiceToken}}
	c := tenantapi.NewClient(srv.URL, &http.Client{Transport: ct})
	ctx := context.Background()
	for range 3 {
		got, err := c.ResolveTenant(ctx, "localhost", "")
		if err != nil || got != "default" {
			t.Fatalf("resolve localhost = %q, %v", got, err)
		}
		if _, err := c.ResolveTenant(ctx, "nowhere.example", ""); !errors.Is(err, web.ErrUnknownTenant) {
			t.Fatalf("resolve unknown host = %v, want ErrUnknownTenant", err)
		}
	}
	if n := ct.n.Load(); n != 2 {
		t.Errorf("requests to the tenant service = %d, want 2 (answers cached)", n)
	}
	// A directory that does not answer is an error, not an unknown tenant.
	down := tenantapi.NewClient("http://127.0.0.1:1", &http.Client{})
	if _, err := down.ResolveTenant(ctx, "localhost", ""); err == nil || errors.Is(err, web.ErrUnknownTenant) {
		t.Errorf("unreachable directory: %v, want a transport error", err)
	}
}

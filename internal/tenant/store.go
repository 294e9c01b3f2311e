package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into tenantdb
// (`go tool sqlc generate -f internal/tenant/sqlc.yaml`). The queries use
// sqlc.arg() so they also parse with sqlc's sqlite engine (`sqlc vet`).

// Ensure creates active store id with the given (system) hosts unless it
// exists, and reports whether it created it. tenant.created.v1 is written
// in the same transaction.
func (s *Service) Ensure(ctx context.Context, id, name string, hosts []string) (created bool, err error) {
	if !tenancy.Valid(id) {
		return false, fmt.Errorf("ensure tenant: invalid id %q", id)
	}
	now := s.now()
	ctx = tenancy.WithID(ctx, id)
	lower := make([]string, len(hosts))
	for i, h := range hosts {
		lower[i] = strings.ToLower(h)
	}
	set := defaultSettings(name)
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *tenantdb.Queries) error {
		created = false
		n, err := q.InsertTenant(ctx, tenantdb.InsertTenantParams{
			ID: id, Name: set.Name, Status: "active", Plan: tenantapi.PlanEnterprise,
			Logo: set.Logo, Currency: set.Currency, TaxInclusive: set.TaxInclusive, Locale: set.Locale,
			BrandColor: set.BrandColor, AccentColor: set.AccentColor, CreatedAt: sqldb.Micros(now),
		})
		if err != nil {
			return fmt.Errorf("create tenant %s: %w", id, err)
		}
		if n == 0 {
			return nil
		}
		for _, h := range lower {
			err := q.InsertDomain(ctx, tenantdb.InsertDomainParams{Host: h, TenantID: id, Kind: tenantapi.DomainSystem, CreatedAt: sqldb.Micros(now)})
			if err != nil {
				return fmt.Errorf("map host %s to tenant %s: %w", h, id, err)
			}
		}
		created = true
		return addEvent(ctx, tx, tenantapi.SubjectTenantCreated, now, tenantapi.TenantCreated{
			TenantID: id, Name: set.Name, Hosts: lower, Plan: tenantapi.PlanEnterprise, Settings: &set, UpdatedAt: sqldb.FromMicros(sqldb.Micros(now)),
		})
	})
	return created, err
}

// Resolve returns the active tenant with ID id, or else with subdomain id,
// or else the one host belongs to, with the origins it allows (CORS). It
// reads across tenants: there is no tenant yet, finding it is the point.
func (s *Service) Resolve(ctx context.Context, host, id string) (tenantapi.Resolution, error) {
	var r tenantapi.Resolution
	var origins string
	err := s.st.Read(sqldb.AllTenants(ctx), func(q *tenantdb.Queries) error {
		if id != "" {
			row, err := q.ResolveID(ctx, strings.ToLower(id))
			r.TenantID, origins = row.ID, row.CorsOrigins
			return err
		}
		row, err := q.ResolveHost(ctx, strings.ToLower(strings.TrimSuffix(host, ".")))
		r.TenantID, origins = row.ID, row.CorsOrigins
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("resolve tenant: %w", err)
	}
	r.CORSOrigins = decodeOrigins(origins)
	return r, nil
}

// addEvent writes one event to the outbox in tx, for the tenant in ctx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	return outbox.AddEvent(ctx, tx, tenantapi.Source, subject, at, data)
}

// loadTenant loads an active or suspended store: provisioning and failed
// ones do not exist for the admin API.
func loadTenant(ctx context.Context, q *tenantdb.Queries, id string) (tenantdb.Tenant, error) {
	t, err := q.GetTenant(ctx, id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && t.Status != "active" && t.Status != "suspended") {
		return tenantdb.Tenant{}, ErrNotFound
	}
	if err != nil {
		return tenantdb.Tenant{}, fmt.Errorf("load store %s: %w", id, err)
	}
	return t, nil
}

// storeView builds the API view of a store with its hosts, through q.
func storeView(ctx context.Context, q *tenantdb.Queries, t tenantdb.Tenant) (tenantapi.Store, error) {
	ds, err := q.ListDomains(ctx, t.ID)
	if err != nil {
		return tenantapi.Store{}, fmt.Errorf("list domains of %s: %w", t.ID, err)
	}
	hosts := make([]string, 0, len(ds))
	for _, d := range ds {
		hosts = append(hosts, d.Host)
	}
	return toStore(t, hosts), nil
}

func settingsOf(t tenantdb.Tenant) tenantapi.Settings {
	return tenantapi.Settings{Name: t.Name, Logo: t.Logo, Currency: t.Currency, TaxInclusive: t.TaxInclusive, Locale: t.Locale,
		CORSOrigins: decodeOrigins(t.CorsOrigins), BrandColor: t.BrandColor, AccentColor: t.AccentColor,
		LegalName: t.LegalName, TaxID: t.TaxID, Address: decodeAddress(t.Address), TimeZone: t.TimeZone, InvoiceOn: t.InvoiceOn}
}

func toStore(t tenantdb.Tenant, hosts []string) tenantapi.Store {
	return tenantapi.Store{
		ID: t.ID, Subdomain: t.Subdomain.String, Plan: t.Plan, Status: t.Status,
		Settings: settingsOf(t), Hosts: hosts,
		CreatedAt: sqldb.FromMicros(t.CreatedAt), UpdatedAt: sqldb.FromMicros(t.UpdatedAt),
	}
}

func toDomain(d tenantdb.Domain) tenantapi.Domain {
	return tenantapi.Domain{Host: d.Host, Kind: d.Kind, CreatedAt: sqldb.FromMicros(d.CreatedAt)}
}

func toAPIKey(id, name, kind, prefix string, created int64, revoked sql.NullInt64) tenantapi.APIKey {
	k := tenantapi.APIKey{ID: id, Name: name, Kind: kind, Prefix: prefix, CreatedAt: sqldb.FromMicros(created)}
	if revoked.Valid {
		at := sqldb.FromMicros(revoked.Int64)
		k.RevokedAt = &at
	}
	return k
}

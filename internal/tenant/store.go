package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into tenantdb
// (`go tool sqlc generate -f internal/tenant/sqlc.yaml`). The queries use
// sqlc.arg() so they also parse with sqlc's sqlite engine (`sqlc vet`).

// store runs prepared statements: on the read pool for reads, bound to a
// read transaction (readTx: on PostgreSQL with row-level security only a
// transaction scoped to a tenant, or to all, sees domains and API keys),
// and bound to the service's write transactions for writes.
type store struct {
	db   *sqldb.DB
	read *tenantdb.Queries
	// write holds the same queries prepared on the write pool, bound to
	// each write transaction with WithTx (see sqldb.DB.Write).
	write *tenantdb.Queries
}

// newStore prepares every query once (which also checks, at start-up, that
// the database is migrated).
func newStore(ctx context.Context, db *sqldb.DB) (*store, error) {
	read, err := tenantdb.Prepare(ctx, db.Read())
	if err != nil {
		return nil, fmt.Errorf("tenant: prepare queries (is the database migrated?): %w", err)
	}
	write, err := tenantdb.Prepare(ctx, db.Write())
	if err != nil {
		return nil, fmt.Errorf("tenant: prepare queries: %w", err)
	}
	return &store{db: db, read: read, write: write}, nil
}

// tx runs fn in one write transaction (retried by sqldb on transient
// conflicts), with the queries bound to it.
func (s *store) tx(ctx context.Context, fn func(tx *sql.Tx, q *tenantdb.Queries) error) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		return fn(tx, s.write.WithTx(tx))
	})
}

// readTx runs fn in one read-only transaction of the read pool, scoped to
// the tenant in ctx (or every tenant under sqldb.AllTenants).
func (s *store) readTx(ctx context.Context, fn func(q *tenantdb.Queries) error) error {
	return s.db.ReadTx(ctx, func(tx *sql.Tx) error { return fn(s.read.WithTx(tx)) })
}

// readOne runs one read in its own read transaction and returns what it
// read; its error comes back as fn returned it (sql.ErrNoRows included).
func readOne[T any](ctx context.Context, s *store, fn func(q *tenantdb.Queries) (T, error)) (T, error) {
	var out T
	err := s.readTx(ctx, func(q *tenantdb.Queries) error {
		var err error
		out, err = fn(q)
		return err
	})
	return out, err
}

// addEvent writes one event to the outbox in tx, for the tenant in ctx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	e, err := outbox.NewEvent(ctx, tenantapi.Source, subject, at, data)
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, e)
}

// tenant loads an active or suspended store: provisioning and failed ones
// do not exist for the admin API.
func (s *store) tenant(ctx context.Context, q *tenantdb.Queries, id string) (tenantdb.Tenant, error) {
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
func (s *store) storeView(ctx context.Context, q *tenantdb.Queries, t tenantdb.Tenant) (tenantapi.Store, error) {
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
		CORSOrigins: decodeOrigins(t.CorsOrigins)}
}

func toStore(t tenantdb.Tenant, hosts []string) tenantapi.Store {
	return tenantapi.Store{
		ID: t.ID, Subdomain: t.Subdomain.String, Plan: t.Plan, Status: t.Status,
		Settings: settingsOf(t), Hosts: hosts,
		CreatedAt: fromMicros(t.CreatedAt), UpdatedAt: fromMicros(t.UpdatedAt),
	}
}

func toDomain(d tenantdb.Domain) tenantapi.Domain {
	return tenantapi.Domain{Host: d.Host, Kind: d.Kind, CreatedAt: fromMicros(d.CreatedAt)}
}

func toAPIKey(id, name, kind, prefix string, created int64, revoked sql.NullInt64) tenantapi.APIKey {
	k := tenantapi.APIKey{ID: id, Name: name, Kind: kind, Prefix: prefix, CreatedAt: fromMicros(created)}
	if revoked.Valid {
		at := fromMicros(revoked.Int64)
		k.RevokedAt = &at
	}
	return k
}

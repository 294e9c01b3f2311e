// Package tenant is the directory of the stores (tenants) one Mercato
// deployment hosts, and of the host names each answers on. Every process
// resolves the tenant of a request through its resolve endpoint (see
// tenantapi.Client). In laptop mode it creates the "default" store,
// answering on localhost.
package tenant

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the tenant directory's tables.
var Migrations = sqldb.Embedded(migrations, "migrations", "tenant_db_version")

// ErrNotFound is returned for hosts and IDs of no active tenant.
var ErrNotFound = errors.New("tenant: not found")

// Config is the tenant service's configuration.
type Config struct {
	// Default creates the default store on start, answering on DefaultHosts.
	Default bool
	// DefaultHosts are the host names of the default store.
	DefaultHosts []string
}

// RegisterFlags registers the service's flags under prefix.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.BoolVar(&c.Default, prefix+"default", true, "create the default store on start")
	fs.StringSliceVar(&c.DefaultHosts, prefix+"default-hosts", []string{"localhost", "127.0.0.1", "::1"}, "host names the default store answers on")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Default && len(c.DefaultHosts) == 0 {
		return errors.New("tenant: the default store needs at least one host")
	}
	return nil
}

// Service keeps the tenant directory. It is safe for concurrent use.
type Service struct {
	cfg    Config
	db     *sqldb.DB
	events *outbox.Relay
	log    *slog.Logger
	now    func() time.Time
}

// New returns the service.
func New(cfg Config, db *sqldb.DB, events *outbox.Relay, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, db: db, events: events, log: log, now: time.Now}, nil
}

// Start creates the default store when configured to, before requests arrive.
func (s *Service) Start(ctx context.Context) error {
	if !s.cfg.Default {
		return nil
	}
	created, err := s.Ensure(ctx, tenancy.DefaultID, "Default store", s.cfg.DefaultHosts)
	if err != nil {
		return err
	}
	if created {
		s.log.Info("default store created", "tenant", tenancy.DefaultID, "hosts", strings.Join(s.cfg.DefaultHosts, ","))
	}
	return nil
}

// Run has nothing to consume yet; it returns when ctx is done.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Ensure creates tenant id with the given hosts unless it exists, and reports
// whether it created it. tenant.created.v1 is written in the same transaction.
func (s *Service) Ensure(ctx context.Context, id, name string, hosts []string) (created bool, err error) {
	if !tenancy.Valid(id) {
		return false, fmt.Errorf("ensure tenant: invalid id %q", id)
	}
	now := s.now()
	ctx = tenancy.WithID(ctx, id)
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		created = false
		res, err := tx.ExecContext(ctx,
			`INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (id) DO NOTHING`,
			id, name, now.UnixMicro())
		if err != nil {
			return fmt.Errorf("create tenant %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		for _, h := range hosts {
			_, err := tx.ExecContext(ctx, `INSERT INTO domains (host, tenant_id, created_at) VALUES ($1, $2, $3)`,
				strings.ToLower(h), id, now.UnixMicro())
			if err != nil {
				return fmt.Errorf("map host %s to tenant %s: %w", h, id, err)
			}
		}
		ev, err := outbox.NewEvent(ctx, "tenant", tenantapi.SubjectTenantCreated, now,
			tenantapi.TenantCreated{TenantID: id, Name: name, Hosts: hosts})
		if err != nil {
			return err
		}
		created = true
		return outbox.Add(ctx, tx, ev)
	})
	if err == nil && created && s.events != nil {
		s.events.Notify()
	}
	return created, err
}

// Resolve returns the active tenant with id, or else the one host belongs to.
func (s *Service) Resolve(ctx context.Context, host, id string) (string, error) {
	var tenant string
	var err error
	if id != "" {
		err = s.db.Read().QueryRowContext(ctx, `SELECT id FROM tenants WHERE id = $1 AND status = 'active'`, id).Scan(&tenant)
	} else {
		err = s.db.Read().QueryRowContext(ctx,
			`SELECT t.id FROM domains d JOIN tenants t ON t.id = d.tenant_id WHERE d.host = $1 AND t.status = 'active'`,
			strings.ToLower(host)).Scan(&tenant)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("resolve tenant: %w", err)
	}
	return tenant, nil
}

type resolveInput struct {
	Host string `query:"host" maxLength:"253" doc:"Host name of the request."`
	ID   string `query:"id" maxLength:"63" doc:"Tenant ID, taking precedence over host."`
}

type resolveOutput struct {
	Body tenantapi.Resolution
}

// Routes registers the internal resolve endpoint used by every process's
// web platform. It lives outside /api/, so resolving needs no tenant.
func (s *Service) Routes(api *web.API) {
	huma.Register(api, web.Public(huma.Operation{
		OperationID: "resolve-tenant",
		Method:      http.MethodGet,
		Path:        tenantapi.ResolvePath,
		Summary:     "Resolve a host name or tenant ID to a tenant",
		Tags:        []string{"internal"},
		Hidden:      true,
	}), func(ctx context.Context, in *resolveInput) (*resolveOutput, error) {
		if in.Host == "" && in.ID == "" {
			return nil, web.Error(http.StatusUnprocessableEntity, "validation_failed", "host or id is required")
		}
		id, err := s.Resolve(ctx, in.Host, in.ID)
		if errors.Is(err, ErrNotFound) {
			return nil, web.Error(http.StatusNotFound, "unknown_tenant", "no store answers at this host or tenant ID")
		}
		if err != nil {
			return nil, err
		}
		return &resolveOutput{Body: tenantapi.Resolution{TenantID: id}}, nil
	})
}

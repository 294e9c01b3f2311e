// Package tenant is the directory of the stores (tenants) one Mercato
// deployment hosts: signup of new stores with their owner account, store
// settings, plans and their limits, the host names each store answers on
// (its <subdomain>.<base domain> and custom domains) and its API keys.
//
// Every process resolves the tenant of a request (by host, tenant ID or API
// key) through the internal resolve endpoint, via tenantapi.Client and its
// cache. In laptop mode the service creates the "default" store, answering
// on localhost.
//
// Signup is a small saga: the store row is written as provisioning (it
// resolves to nothing), the owner account is created by the identity
// service, then the store is made active and tenant.created.v1 is written
// in that transaction. When the owner cannot be created the store is marked
// failed and gives its subdomain back; its ID is never reused.
package tenant

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the sets the tenant database is migrated with: the
// outbox's and the tenant directory's tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "tenant_db_version")}

// Errors the service returns; http.go maps each to a status and code.
// Refused input is a *kit.ValidationError matching ErrInvalid, with the
// problem code of the refusal (invalid_subdomain, subdomain_reserved…).
var (
	ErrNotFound          = errors.New("tenant: not found")
	ErrInvalid           = errors.New("tenant: invalid input")
	ErrSubdomainTaken    = errors.New("tenant: subdomain already taken")
	ErrDomainTaken       = errors.New("tenant: domain already mapped to a store")
	ErrDomainNotFound    = errors.New("tenant: domain not found")
	ErrDomainProtected   = errors.New("tenant: only custom domains can be removed")
	ErrTooManyDomains    = errors.New("tenant: too many custom domains")
	ErrAPIKeyNotFound    = errors.New("tenant: API key not found")
	ErrTooManyAPIKeys    = errors.New("tenant: too many API keys")
	ErrSignupKeyReused   = errors.New("tenant: Idempotency-Key used for another signup")
	ErrSignupUnavailable = errors.New("tenant: signup is not configured in this process")
	ErrOwner             = errors.New("tenant: owner account not created")
	ErrConflict          = errors.New("tenant: concurrent change, try again")
	ErrForbidden         = errors.New("tenant: not allowed")
)

// invalid is input refused with the problem code code for one field
// (its location, e.g. body.subdomain): a *kit.ValidationError matching
// ErrInvalid.
func invalid(code, field, message string, value any) error {
	return &kit.ValidationError{Err: ErrInvalid, Code: code, Fields: []kit.FieldError{{Field: field, Message: message, Value: value}}}
}

// taken is err (ErrSubdomainTaken, ErrDomainTaken) refusing the request
// field at location field, which the answer names.
func taken(err error, field string) error {
	return &kit.ValidationError{Err: err, Fields: []kit.FieldError{{Field: field, Message: "is taken"}}}
}

// Owners creates a new store's first owner account: identityapi.Client,
// or a fake in tests. ctx carries the new store's tenant.
type Owners interface {
	CreateOwner(ctx context.Context, o identityapi.OwnerCreate) (identityapi.OwnerTokens, error)
}

// Config is the tenant service's configuration.
type Config struct {
	// Default creates the default store on start, answering on DefaultHosts.
	Default bool
	// DefaultHosts are the host names of the default store.
	DefaultHosts []string
	// BaseDomain is the domain signed-up stores get a subdomain of.
	BaseDomain string
	// PublicPort is the port of store URLs in signup answers; 0 takes the
	// port the signup request was sent to. The scheme's own port gives URLs
	// without one.
	PublicPort int
	// SignupPlan is the plan of stores that sign up: the deployment's
	// choice, never the signup's. The operator moves a store to another
	// plan with PUT /api/v1/admin/store/plan.
	SignupPlan string
}

// RegisterFlags registers the service's flags under prefix.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.BoolVar(&c.Default, prefix+"default", true, "create the default store on start")
	fs.StringSliceVar(&c.DefaultHosts, prefix+"default-hosts", []string{"localhost", "127.0.0.1", "::1"}, "host names the default store answers on")
	fs.StringVar(&c.BaseDomain, prefix+"base-domain", "localhost", "domain whose subdomains signed-up stores answer on (<subdomain>.<base-domain>)")
	fs.IntVar(&c.PublicPort, prefix+"public-port", 0, "port in the store URLs signup answers with (0: the port the signup request was sent to)")
	fs.StringVar(&c.SignupPlan, prefix+"signup-plan", tenantapi.PlanFree, "plan of stores that sign up: free, pro or enterprise (the operator changes a store's plan with PUT /api/v1/admin/store/plan)")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Default && len(c.DefaultHosts) == 0 {
		return errors.New("tenant: the default store needs at least one host")
	}
	if c.BaseDomain != "" && !validHost(strings.ToLower(c.BaseDomain), true) {
		return fmt.Errorf("tenant: base domain %q is not a host name", c.BaseDomain)
	}
	if c.PublicPort < 0 || c.PublicPort > 65535 {
		return fmt.Errorf("tenant: public port %d out of range", c.PublicPort)
	}
	if _, ok := planLimits(c.SignupPlan); !ok {
		return fmt.Errorf("tenant: signup plan %q is not free, pro or enterprise", c.SignupPlan)
	}
	return nil
}

// withDefaults fills the fields left empty (tests build a Config by hand)
// and puts the base domain in the form hosts are compared in.
func (c Config) withDefaults() Config {
	if c.BaseDomain == "" {
		c.BaseDomain = "localhost"
	}
	if c.SignupPlan == "" {
		c.SignupPlan = tenantapi.PlanFree
	}
	c.BaseDomain = strings.ToLower(strings.TrimSuffix(c.BaseDomain, "."))
	return c
}

// Deps is what the tenant service is built from.
type Deps struct {
	kit.Deps
	// Owners creates a signed-up store's owner account in the identity
	// service (identityapi.Client). Nil: signup answers 503
	// signup_unavailable; everything else works.
	Owners Owners
}

// Service keeps the tenant directory. It is safe for concurrent use.
type Service struct {
	cfg    Config
	st     *kit.Store[*tenantdb.Queries]
	owners Owners // nil: signup answers 503
	log    *slog.Logger
	now    func() time.Time
	// bus carries the media service's uploads (events.go); nil: none
	// are consumed (tests call HandleMediaEvent).
	bus       bus.Bus
	consumers kit.Consumers
}

// New returns the service on deps.DB, which must be migrated with
// Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "tenant", deps.Deps, tenantdb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, st: st, owners: deps.Owners, log: deps.Logger(), now: time.Now, bus: deps.Bus}, nil
}

// Start subscribes to the media service's uploads (logos) and creates the
// default store when configured to, before requests arrive.
func (s *Service) Start(ctx context.Context) error {
	if err := s.subscribe(ctx); err != nil {
		return err
	}
	if !s.cfg.Default {
		return nil
	}
	created, err := s.Ensure(ctx, tenancy.DefaultID, "Default store", s.cfg.DefaultHosts)
	if err != nil {
		s.consumers.Stop()
		return err
	}
	if created {
		s.log.Info("default store created", "tenant", tenancy.DefaultID, "hosts", strings.Join(s.cfg.DefaultHosts, ","))
	}
	return nil
}

// currentTenant is the tenant of ctx, for the admin operations.
func currentTenant(ctx context.Context) (string, error) {
	t, err := tenancy.ID(ctx)
	if err != nil {
		return "", fmt.Errorf("tenant: %w", err)
	}
	return t, nil
}

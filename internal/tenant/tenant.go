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
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the tenant directory's tables. Apply outbox.Migrations
// too.
var Migrations = sqldb.Embedded(migrations, "migrations", "tenant_db_version")

// Errors the service returns; http.go maps each to a status and code.
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

// InputError is bad input, with the problem code and field it maps to. It
// matches ErrInvalid.
type InputError struct {
	Code    string // e.g. invalid_subdomain, subdomain_reserved
	Field   string // e.g. body.subdomain
	Message string
	Value   any
}

func (e *InputError) Error() string { return "tenant: " + e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

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

// Service keeps the tenant directory. It is safe for concurrent use.
type Service struct {
	cfg    Config
	store  *store
	owners Owners // nil: signup answers 503
	events *outbox.Relay
	log    *slog.Logger
	now    func() time.Time
}

// Option changes a Service being built by New.
type Option func(*Service)

// WithOwners lets the service sign up stores, creating their owners
// through o (identityapi.NewClient on the identity service).
func WithOwners(o Owners) Option {
	return func(s *Service) { s.owners = o }
}

// WithClock makes the service read the time from now (tests).
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// New returns the service on db, which must be migrated with
// outbox.Migrations and Migrations. events is woken after writes that added
// events; nil is fine (tests).
func New(cfg Config, db *sqldb.DB, events *outbox.Relay, log *slog.Logger, opts ...Option) (*Service, error) {
	if cfg.BaseDomain == "" {
		cfg.BaseDomain = "localhost"
	}
	if cfg.SignupPlan == "" {
		cfg.SignupPlan = tenantapi.PlanFree
	}
	cfg.BaseDomain = strings.ToLower(strings.TrimSuffix(cfg.BaseDomain, "."))
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("tenant: no database")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// New has no context (its signature is the runner's); preparing
	// statements is quick and bounded here instead.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := newStore(ctx, db)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: st, events: events, log: log, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
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

// Run has nothing to consume; it returns when ctx is done.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// notify wakes the relay after a commit that wrote events.
func (s *Service) notify() {
	if s.events != nil {
		s.events.Notify()
	}
}

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
	err = s.store.tx(ctx, func(tx *sql.Tx, q *tenantdb.Queries) error {
		created = false
		n, err := q.InsertTenant(ctx, tenantdb.InsertTenantParams{
			ID: id, Name: set.Name, Status: "active", Plan: tenantapi.PlanEnterprise,
			Logo: set.Logo, Currency: set.Currency, TaxInclusive: set.TaxInclusive, Locale: set.Locale,
			CreatedAt: micros(now),
		})
		if err != nil {
			return fmt.Errorf("create tenant %s: %w", id, err)
		}
		if n == 0 {
			return nil
		}
		for _, h := range lower {
			err := q.InsertDomain(ctx, tenantdb.InsertDomainParams{Host: h, TenantID: id, Kind: tenantapi.DomainSystem, CreatedAt: micros(now)})
			if err != nil {
				return fmt.Errorf("map host %s to tenant %s: %w", h, id, err)
			}
		}
		created = true
		return addEvent(ctx, tx, tenantapi.SubjectTenantCreated, now, tenantapi.TenantCreated{
			TenantID: id, Name: set.Name, Hosts: lower, Plan: tenantapi.PlanEnterprise, Settings: &set, UpdatedAt: fromMicros(micros(now)),
		})
	})
	if err == nil && created {
		s.notify()
	}
	return created, err
}

// Resolve returns the active tenant with ID id, or else with subdomain id,
// or else the one host belongs to, with the origins it allows (CORS). It
// reads across tenants: there is no tenant yet, finding it is the point.
func (s *Service) Resolve(ctx context.Context, host, id string) (tenantapi.Resolution, error) {
	var r tenantapi.Resolution
	var origins string
	err := s.store.readTx(sqldb.AllTenants(ctx), func(q *tenantdb.Queries) error {
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

// currentTenant is the tenant of ctx, for the admin operations.
func currentTenant(ctx context.Context) (string, error) {
	t, err := tenancy.ID(ctx)
	if err != nil {
		return "", fmt.Errorf("tenant: %w", err)
	}
	return t, nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

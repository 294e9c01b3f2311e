// Package pricing is the pricing service: it turns a basket of SKUs into a
// quote (lines − discounts + tax + shipping) with one pure function,
// Compute, and keeps what a quote needs per tenant: discounts (automatic and
// coupon codes, with usage limits), tax rates by country and region,
// shipping methods, the store's pricing settings, and a local projection of
// the catalog's SKUs and prices fed by catalog events, so a quote never calls
// the catalog.
//
// Coupon uses are taken by Redeem (idempotent per order) and given back by
// ReleaseRedemption; both are single conditional statements on counters, so
// usage limits hold however many orders redeem at once. Discount changes are
// announced as pricing.discount_changed.v1 through the outbox.
package pricing

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/pricing/pricingdb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the sets the pricing database is migrated with: the
// outbox's, then the pricing tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "pricing_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrUnknownSKU            = errors.New("pricing: unknown SKU")
	ErrInvalidQuantity       = errors.New("pricing: invalid quantity")
	ErrAmountTooLarge        = errors.New("pricing: amount out of range")
	ErrUnknownCoupon         = errors.New("pricing: unknown coupon")
	ErrCouponExpired         = errors.New("pricing: coupon not valid at this time")
	ErrCouponNotApplicable   = errors.New("pricing: coupon does not apply")
	ErrCouponExhausted       = errors.New("pricing: coupon has no uses left")
	ErrCurrencyMismatch      = errors.New("pricing: currency mismatch")
	ErrUnknownShippingMethod = errors.New("pricing: unknown shipping method")
	ErrShippingNotAvailable  = errors.New("pricing: shipping not available")
	ErrInvalidCountry        = errors.New("pricing: invalid country")
	ErrEmailRequired         = errors.New("pricing: email required for a per-customer coupon")
	ErrOrderRedeemed         = errors.New("pricing: order already redeemed another coupon")
	ErrInvalid               = errors.New("pricing: invalid input")
	ErrNotFound              = errors.New("pricing: not found")
	ErrTaken                 = errors.New("pricing: already exists")
)

// refused returns a quote or redemption refused for one field of the
// request: a *kit.ValidationError matching err (one of the sentinels
// above), with detail, naming the field ("items[2].sku", or
// "query.country") and the value at fault (the SKU, the coupon, the
// quantity).
func refused(err error, field string, value any, detail string) error {
	return &kit.ValidationError{Err: err, Detail: detail,
		Fields: []kit.FieldError{{Field: field, Message: web.Plain(err), Value: value}}}
}

// Config tunes the pricing service. The zero value takes the defaults.
type Config struct {
	// DefaultCountry is the destination of a quote that names none, for a
	// tenant that saved no settings.
	DefaultCountry string
	// CatalogGroup is the consumer group of the catalog projection.
	CatalogGroup string
	// TenantGroup is the consumer group copying the store settings
	// (currency, tax mode) from the tenant service's events.
	TenantGroup string
}

// Defaults of Config.
const (
	DefaultCatalogGroup = "pricing-catalog"
	DefaultTenantGroup  = "pricing-tenant"
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "pricing."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.DefaultCountry, prefix+"default-country", "", "destination country (ISO alpha-2) of quotes naming none, for a store that saved no pricing settings")
	fs.StringVar(&c.CatalogGroup, prefix+"catalog-group", DefaultCatalogGroup, "consumer group reading catalog product events into the price projection")
	fs.StringVar(&c.TenantGroup, prefix+"tenant-group", DefaultTenantGroup, "consumer group copying the store settings (currency, tax mode) from tenant events")
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.CatalogGroup == "" {
		c.CatalogGroup = DefaultCatalogGroup
	}
	if c.TenantGroup == "" {
		c.TenantGroup = DefaultTenantGroup
	}
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if c.DefaultCountry != "" && !validCountry(c.DefaultCountry) {
		return fmt.Errorf("pricing: default-country %q is not an ISO 3166 alpha-2 code", c.DefaultCountry)
	}
	if err := bus.ValidateGroup(c.CatalogGroup); err != nil {
		return fmt.Errorf("pricing: catalog-group: %w", err)
	}
	if err := bus.ValidateGroup(c.TenantGroup); err != nil {
		return fmt.Errorf("pricing: tenant-group: %w", err)
	}
	if c.TenantGroup == c.CatalogGroup {
		return errors.New("pricing: tenant-group and catalog-group must differ")
	}
	return nil
}

// Deps is what the pricing service is built from. Its Bus carries the
// catalog's product events into the price projection and the tenant
// service's store settings; nil: neither is consumed (tests feed events to
// HandleCatalogEvent and HandleTenantEvent).
type Deps struct {
	kit.Deps
}

// Service is the pricing service. It is safe for concurrent use.
type Service struct {
	cfg   Config
	store *kit.Store[*pricingdb.Queries]
	bus   bus.Bus
	log   *slog.Logger
	now   func() time.Time

	// consumers are the catalog projection and the store settings,
	// subscribed in Start and stopped when Run ends.
	consumers kit.Consumers
}

// New returns the pricing service on deps.DB, migrated with Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "pricing", deps.Deps, pricingdb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, bus: deps.Bus, log: deps.Logger(), now: time.Now}, nil
}

// write runs fn in a write transaction (Store.Write). A unique violation
// (two creators of one code, two redeemers of one order) runs it once
// more, which then sees the winner's row.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, q *pricingdb.Queries) error) error {
	err := s.store.Write(ctx, fn)
	if sqldb.IsUniqueViolation(err) {
		err = s.store.Write(ctx, fn)
	}
	return err
}

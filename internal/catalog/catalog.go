// Package catalog is the catalog service: products with variants, options,
// prices, attributes and images, and a tree of categories, per tenant.
//
// Admins create and change products through the admin API; the public API
// lists and shows active products only. Every product change is announced
// (catalog.product_created.v1, …_updated.v1, …_archived.v1, with the full
// product as data) through the outbox, in the transaction of the change.
//
// Every table is keyed by tenant and every query takes the tenant from the
// request context (tenancy.ID): one tenant never sees another's rows.
//
// With the tenant service's plan limits (Deps.Plans), a store cannot have
// more draft and active products than its plan allows: creating one more
// (or bringing one back from the archive) is refused with a
// *tenantapi.LimitError. With its store settings (Deps.Stores), every price
// is in the store's currency.
package catalog

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/cache"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are every set the catalog database needs, in order: the
// platform's outbox, then the catalog tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "catalog_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrNotFound            = errors.New("catalog: product not found")
	ErrCategoryNotFound    = errors.New("catalog: category not found")
	ErrInvalid             = errors.New("catalog: invalid input")
	ErrSKUTaken            = errors.New("catalog: SKU already used by another product")
	ErrSlugTaken           = errors.New("catalog: slug already in use")
	ErrTransition          = errors.New("catalog: status change not allowed")
	ErrCategoryCycle       = errors.New("catalog: category would be below itself")
	ErrCategoryHasChildren = errors.New("catalog: category has child categories")
	ErrCategoryInUse       = errors.New("catalog: category has products")
	ErrConflict            = errors.New("catalog: concurrent change, try again")
	ErrLimitsUnavailable   = errors.New("catalog: plan limits unavailable")
)

// Config tunes the catalog service. The zero value takes the defaults.
type Config struct {
	// Paging is the product lists' page size and its cap.
	Paging kit.Paging
	// CacheTTL is how long encoded public pages (product lists, product
	// pages) are kept. A write in this process invalidates its tenant's pages
	// at once; CacheTTL bounds how stale another replica's may be. Zero
	// disables the cache.
	CacheTTL time.Duration
	// CacheBytes bounds the memory of the page cache.
	CacheBytes int
}

// Defaults of Config.
const (
	DefaultPageSize    = 20
	DefaultMaxPageSize = 100
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "catalog."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	c.Paging.RegisterFlags(fs, prefix, "products", "a list request", DefaultPageSize, DefaultMaxPageSize)
	fs.DurationVar(&c.CacheTTL, prefix+"cache-ttl", 5*time.Second, "how long public product pages are cached (0 disables); writes here invalidate at once, other replicas within this time")
	fs.IntVar(&c.CacheBytes, prefix+"cache-bytes", 64<<20, "memory bound of the public page cache")
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if err := c.Paging.Validate("catalog", kit.PageCeiling); err != nil {
		return err
	}
	if c.CacheTTL < 0 || c.CacheBytes < 0 {
		return fmt.Errorf("catalog: cache-ttl (%s) and cache-bytes (%d) must not be negative", c.CacheTTL, c.CacheBytes)
	}
	return nil
}

// Deps is what the catalog service is built from.
type Deps struct {
	kit.Deps
	// Plans reads the store's plan limits from the tenant service
	// (tenantapi.Client), before every write that adds a live product. Nil
	// (tests, a catalog deployed alone): no product limit.
	Plans PlanLimits
	// Stores reads the store's currency from the tenant service
	// (tenantapi.Client), before every write that sets prices: a USD price
	// in a EUR store could never be quoted or paid. Nil (tests, a catalog
	// deployed alone): prices in any currency are taken, one per product.
	Stores Stores
}

// Service is the catalog. It is safe for concurrent use.
type Service struct {
	cfg    Config
	store  *store
	pages  *cache.Pages // nil: no caching
	log    *slog.Logger
	now    func() time.Time
	limits PlanLimits // nil: no plan limits
	stores Stores     // nil: prices in any currency
	media  *demoMedia
	// bus carries the media service's uploads (events.go); nil: none
	// are consumed (tests call HandleMediaEvent).
	bus       bus.Bus
	consumers kit.Consumers
}

// New returns the catalog service on deps.DB, migrated with Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Preparing every query once matters: without it SQLite parses and
	// plans each statement on every call, a quarter of the cost of a
	// product list.
	st, err := kit.Prepare(ctx, "catalog", deps.Deps, catalogdb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: &store{st}, pages: cache.NewPages(cfg.CacheBytes, cfg.CacheTTL), log: deps.Logger(),
		now: time.Now, limits: deps.Plans, stores: deps.Stores, media: newDemoMedia(), bus: deps.Bus}, nil
}

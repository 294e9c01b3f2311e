// Package inventory is the inventory service: stock per SKU per location
// (on_hand, reserved, and available = on_hand − reserved), reservations of
// stock for orders with an expiry, a ledger of every stock movement, and
// low-stock alerts.
//
// Stock never goes negative and is never over-reserved: every decrement is
// one conditional UPDATE (… WHERE on_hand - reserved >= n) with CHECK
// constraints behind it, on SQLite and PostgreSQL alike; there is no
// check-then-act across statements or calls. A reservation leaves the held
// state exactly once (committed, released or expired) through a status-
// guarded UPDATE, so a concurrent commit and expiry cannot both win. Each
// change writes its ledger rows and its events (inventory.stock_*.v1,
// through the outbox) in the transaction of the change.
//
// Every table is keyed by tenant and every query takes the tenant from the
// context (tenancy.ID), except the expiry sweeper's, which finds due
// reservations across tenants and then works in each row's tenant.
package inventory

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventorydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the sets the inventory database is migrated with: the
// outbox's, then the inventory tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "inventory_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	ErrStockNotFound       = errors.New("inventory: no stock recorded for this SKU")
	ErrReservationNotFound = errors.New("inventory: reservation not found")
	ErrReservationClosed   = errors.New("inventory: reservation is no longer held")
	ErrOutOfStock          = errors.New("inventory: out of stock")
	ErrInsufficientStock   = errors.New("inventory: insufficient stock")
	ErrInvalid             = errors.New("inventory: invalid input")
	ErrConflict            = errors.New("inventory: concurrent change, try again")
)

// OutOfStockError says which line of a reservation no single location
// could serve. It matches ErrOutOfStock.
type OutOfStockError struct {
	// Index is the line's position in the request (its first, when lines
	// of one SKU were merged).
	Index     int
	SKU       string
	Requested int64
	// Available is the most one location had for the SKU.
	Available int64
}

func (e *OutOfStockError) Error() string {
	return fmt.Sprintf("inventory: %s out of stock: %d requested, %d available", e.SKU, e.Requested, e.Available)
}

// Is makes errors.Is(err, ErrOutOfStock) true.
func (e *OutOfStockError) Is(target error) bool { return target == ErrOutOfStock }

// InsufficientStockError says an adjustment would take on_hand below what
// is reserved (or below zero). It matches ErrInsufficientStock.
type InsufficientStockError struct {
	SKU      string
	Location string
	Delta    int64
	OnHand   int64
	Reserved int64
}

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("inventory: %s at %s: cannot change on hand %d by %d with %d reserved", e.SKU, e.Location, e.OnHand, e.Delta, e.Reserved)
}

// Is makes errors.Is(err, ErrInsufficientStock) true.
func (e *InsufficientStockError) Is(target error) bool { return target == ErrInsufficientStock }

// Config tunes the inventory service. A zero field takes its default,
// except LowStockThreshold, where 0 is a threshold (low means sold out);
// RegisterFlags sets it to DefaultLowStockThreshold.
type Config struct {
	// ReservationTTL is how long a reservation holds stock when the request
	// asks for no TTL.
	ReservationTTL time.Duration
	// MaxReservationTTL bounds the TTL a request may ask for.
	MaxReservationTTL time.Duration
	// SweepInterval is how often Run releases expired reservations.
	SweepInterval time.Duration
	// LowStockThreshold is the threshold of SKUs without their own.
	LowStockThreshold int64
	// Paging is the lists' page size and its cap.
	Paging kit.Paging
}

// Defaults of Config.
const (
	DefaultReservationTTL    = 15 * time.Minute
	DefaultMaxReservationTTL = time.Hour
	DefaultSweepInterval     = 5 * time.Second
	DefaultLowStockThreshold = 5
	DefaultPageSize          = 50
	DefaultMaxPageSize       = 200
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "inventory."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&c.ReservationTTL, prefix+"reservation-ttl", DefaultReservationTTL, "how long a reservation holds stock when the request asks for no TTL")
	fs.DurationVar(&c.MaxReservationTTL, prefix+"max-reservation-ttl", DefaultMaxReservationTTL, "longest TTL a reservation request may ask for")
	fs.DurationVar(&c.SweepInterval, prefix+"sweep-interval", DefaultSweepInterval, "how often expired reservations are released")
	fs.Int64Var(&c.LowStockThreshold, prefix+"low-stock-threshold", DefaultLowStockThreshold, "available stock at or below which a SKU without its own threshold is low")
	c.Paging.RegisterFlags(fs, prefix, "items", "a list request", DefaultPageSize, DefaultMaxPageSize)
}

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	if c.ReservationTTL == 0 {
		c.ReservationTTL = DefaultReservationTTL
	}
	if c.MaxReservationTTL == 0 {
		c.MaxReservationTTL = max(DefaultMaxReservationTTL, c.ReservationTTL)
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	switch {
	case c.ReservationTTL < time.Second:
		return fmt.Errorf("inventory: reservation-ttl %s is below 1s", c.ReservationTTL)
	case c.MaxReservationTTL < c.ReservationTTL:
		return fmt.Errorf("inventory: max-reservation-ttl %s is below reservation-ttl %s", c.MaxReservationTTL, c.ReservationTTL)
	case c.MaxReservationTTL > 24*time.Hour:
		return fmt.Errorf("inventory: max-reservation-ttl %s is above 24h", c.MaxReservationTTL)
	case c.SweepInterval < 10*time.Millisecond:
		return fmt.Errorf("inventory: sweep-interval %s is below 10ms", c.SweepInterval)
	case c.LowStockThreshold < 0:
		return fmt.Errorf("inventory: low-stock-threshold %d is negative", c.LowStockThreshold)
	}
	return c.Paging.Validate("inventory", kit.PageCeiling)
}

// CatalogReader lists the catalog's active products; the demo seed gives
// each of their SKUs stock. *catalogapi.Client implements it.
type CatalogReader interface {
	Products(ctx context.Context, lp catalogapi.ListParams) (catalogapi.ProductList, error)
}

// Deps is what the inventory service is built from.
type Deps struct {
	kit.Deps
	// Catalog lists the catalog's products, only for seeding demo stock.
	// Nil: SeedDemo seeds nothing; everything else works.
	Catalog CatalogReader
}

// Service is the inventory. It is safe for concurrent use.
type Service struct {
	cfg     Config
	store   *kit.Store[*inventorydb.Queries]
	catalog CatalogReader // nil: no demo seeding
	log     *slog.Logger
	now     func() time.Time
}

// New returns the inventory service on deps.DB, migrated with Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "inventory", deps.Deps, inventorydb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, catalog: deps.Catalog, log: deps.Logger(), now: time.Now}, nil
}

// Package cart is the cart service: guest and customer shopping carts, their
// lines, and what they cost.
//
// A cart is public and identified by an unguessable ID, which is its guest's
// bearer secret. Lines show the catalog's current title and price, read from
// a local projection of the catalog's product events (the cart never calls
// the catalog); totals come from a quote of the pricing service, and a cart
// read still answers, without totals, when pricing cannot quote it. When the
// order service confirms an order made from a cart, the cart is marked
// checked out (read-only) and cart.checked_out.v1 is published. Open carts
// untouched for the configured TTL are deleted by a sweeper.
//
// Every table is keyed by tenant and every query takes the tenant from the
// context (tenancy.ID): a cart ID of one tenant is unknown to every other.
package cart

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the sets the cart database is migrated with: the outbox
// it borrows from the platform, then its own tables.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "cart_db_version")}

// Errors the service returns; http.go maps each to a status and code. A
// refused input is a *kit.ValidationError matching ErrInvalid or one of the
// more specific sentinels (ErrInvalidQuantity, ErrUnknownSKU…), naming the
// field at fault; a change pricing refused is a *kit.UpstreamError with
// pricing's answer.
var (
	ErrNotFound         = errors.New("cart: cart not found")
	ErrLineNotFound     = errors.New("cart: line not found")
	ErrCheckedOut       = errors.New("cart: cart is checked out")
	ErrInvalid          = errors.New("cart: invalid input")
	ErrInvalidQuantity  = errors.New("cart: quantity must be 1..10000")
	ErrUnknownSKU       = errors.New("cart: unknown or unavailable SKU")
	ErrTooManyLines     = errors.New("cart: too many lines")
	ErrCurrencyMismatch = errors.New("cart: SKU priced in another currency than the cart")
	// ErrPricingUnavailable means a change that needs the pricing service's
	// word (setting a coupon) could not get it.
	ErrPricingUnavailable = errors.New("cart: pricing service unavailable")
)

// Quoter prices a basket: the one thing the cart needs of the pricing
// service (*pricingapi.Client implements it).
type Quoter interface {
	Quote(ctx context.Context, r pricingapi.QuoteRequest) (pricingapi.Quote, error)
}

// Config tunes the cart service. The zero value takes the defaults.
type Config struct {
	// TTL is how long an open cart may stay untouched before the sweeper
	// deletes it.
	TTL time.Duration
	// SweepInterval is how often the sweeper looks for abandoned carts.
	SweepInterval time.Duration
	// QuoteTimeout bounds the pricing call of one cart read: past it the
	// cart answers without totals rather than hang.
	QuoteTimeout time.Duration
	// Paging is the admin list's page size and its cap.
	Paging kit.Paging
}

// Defaults of Config.
const (
	DefaultTTL           = 30 * 24 * time.Hour
	DefaultSweepInterval = time.Hour
	DefaultQuoteTimeout  = 3 * time.Second
	DefaultPageSize      = 20
	DefaultMaxPageSize   = 100
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "cart."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&c.TTL, prefix+"ttl", DefaultTTL, "how long an open cart may stay untouched before it is deleted")
	fs.DurationVar(&c.SweepInterval, prefix+"sweep-interval", DefaultSweepInterval, "how often abandoned carts are looked for")
	fs.DurationVar(&c.QuoteTimeout, prefix+"quote-timeout", DefaultQuoteTimeout, "how long a cart read waits for the pricing service before answering without totals")
	c.Paging.RegisterFlags(fs, prefix, "carts", "an admin list request", DefaultPageSize, DefaultMaxPageSize)
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if c.TTL < time.Minute {
		return fmt.Errorf("cart: ttl %s is below one minute", c.TTL)
	}
	if c.SweepInterval < time.Second {
		return fmt.Errorf("cart: sweep-interval %s is below one second", c.SweepInterval)
	}
	if c.QuoteTimeout <= 0 {
		return fmt.Errorf("cart: quote-timeout %s must be positive", c.QuoteTimeout)
	}
	return c.Paging.Validate("cart", kit.PageCeiling)
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.QuoteTimeout == 0 {
		c.QuoteTimeout = DefaultQuoteTimeout
	}
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	return c
}

// Deps is what the cart service is built from.
type Deps struct {
	kit.Deps
	// Pricing quotes the carts' totals and checks the coupons and
	// destinations set on them (pricingapi.Client). Required.
	Pricing Quoter
	// Stores reads the store's currency from the tenant service, which
	// every cart then takes: a new cart has it, an empty one keeps it, and
	// an SKU priced in another currency is refused (currency_mismatch)
	// however the cart began. Nil (tests, a cart service deployed alone):
	// a cart takes the currency of its first line, and drops it with its
	// last.
	Stores StoreReader
}

// Service is the cart service. It is safe for concurrent use.
type Service struct {
	cfg     Config
	store   *kit.Store[*cartdb.Queries]
	bus     bus.Bus
	relay   *outbox.Relay
	pricing Quoter
	stores  StoreReader // nil: a cart takes its first line's currency
	log     *slog.Logger
	now     func() time.Time

	consumers kit.Consumers // subscribed in Start, stopped when Run ends
}

// New returns the cart service on deps.DB, migrated with Migrations.
// deps.Bus carries the catalog and order events the service consumes
// (subscribed in Start); deps.Relay is woken after each write.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Pricing == nil {
		return nil, errors.New("cart: no pricing client")
	}
	st, err := kit.Prepare(ctx, "cart", deps.Deps, cartdb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, bus: deps.Bus, relay: deps.Relay, pricing: deps.Pricing, stores: deps.Stores,
		log: deps.Logger(), now: time.Now}, nil
}

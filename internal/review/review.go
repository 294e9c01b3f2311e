// Package review is the review service: buyers' reviews of the products
// they bought, the store's moderation of them and its public replies, and
// each product's rating aggregate.
//
// Only a buyer may review, once per line of an order that was delivered.
// The service knows who bought what from a local projection of the order
// service's events (order.confirmed.v1, order.delivered.v1,
// order.cancelled.v1, whose payload carries the customer and the SHA-256 of
// the guest's order token), never by calling the order service: a signed-in
// customer proves an order is theirs with their access token, a guest with
// the order token. One review per order line is a UNIQUE key, so two
// concurrent creates make one review and one 409.
//
// A store publishes reviews at once or after staff approve them (a setting
// of this service). Every change of a product's published set recomputes
// its aggregate (count, average, histogram) in the same transaction and
// announces it, whole and numbered, as review.rating_changed.v1;
// review.published.v1 announces a review that became visible.
package review

import (
	"context"
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
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/review/reviewdb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the review tables and the outbox and inbox it writes
// and reads.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "review_db_version")}

// Errors the service returns; http.go maps each to a status and code. A
// refused field is a *kit.ValidationError matching ErrInvalid.
var (
	ErrNotFound = errors.New("review: review not found")
	// ErrNotBuyer: the caller did not buy this line (no such order, not
	// theirs, a wrong order token, no such line in it).
	ErrNotBuyer = errors.New("review: only buyers of the product may review it")
	// ErrNotDelivered: the caller's order was not delivered (yet, or it was
	// cancelled).
	ErrNotDelivered = errors.New("review: the order is not delivered")
	// ErrAlreadyReviewed: the order line has its review already.
	ErrAlreadyReviewed = errors.New("review: this order line is reviewed already")
	// ErrTransition: the moderation asked for does not apply to the
	// review's status (rejecting a published review, hiding a pending one).
	ErrTransition = errors.New("review: not allowed in the review's status")
	// ErrRateLimited: the author wrote too many reviews lately.
	ErrRateLimited = errors.New("review: too many review writes; try again later")
	ErrInvalid     = errors.New("review: invalid input")
)

// Config tunes the review service. The zero value takes the defaults.
type Config struct {
	// MaxBody is the longest review body, in characters.
	MaxBody int
	// WriteLimit is how many reviews one author (a customer account, or a
	// guest's order) may create or edit per WriteWindow.
	WriteLimit int
	// WriteWindow is the window of WriteLimit.
	WriteWindow time.Duration
	// OrdersGroup is the consumer group of the order projection.
	OrdersGroup string
	// CustomersGroup is the consumer group of identity's email
	// verifications, which give a customer the guest orders of their
	// verified email.
	CustomersGroup string
	// Paging is the review lists' page size and its cap.
	Paging kit.Paging
}

// Defaults of Config.
const (
	DefaultMaxBody        = 5000
	DefaultWriteLimit     = 10
	DefaultWriteWindow    = time.Hour
	DefaultOrdersGroup    = "review-orders"
	DefaultCustomersGroup = "review-customers"
	DefaultPageSize       = 20
	DefaultMaxPageSize    = 100
	maxRatingsPerLookup   = 100
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "review."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.IntVar(&c.MaxBody, prefix+"max-body", DefaultMaxBody, fmt.Sprintf("longest review body in characters (at most %d)", reviewapi.MaxBodyCeiling))
	fs.IntVar(&c.WriteLimit, prefix+"write-limit", DefaultWriteLimit, "reviews one customer (or one guest order) may create or edit per write window")
	fs.DurationVar(&c.WriteWindow, prefix+"write-window", DefaultWriteWindow, "the window of -review.write-limit")
	fs.StringVar(&c.OrdersGroup, prefix+"orders-group", DefaultOrdersGroup, "consumer group reading order events into the buyers projection")
	fs.StringVar(&c.CustomersGroup, prefix+"customers-group", DefaultCustomersGroup, "consumer group giving customers who verified their email the guest orders of that email")
	c.Paging.RegisterFlags(fs, prefix, "reviews", "a list request", DefaultPageSize, DefaultMaxPageSize)
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.WriteLimit == 0 {
		c.WriteLimit = DefaultWriteLimit
	}
	if c.WriteWindow == 0 {
		c.WriteWindow = DefaultWriteWindow
	}
	if c.OrdersGroup == "" {
		c.OrdersGroup = DefaultOrdersGroup
	}
	if c.CustomersGroup == "" {
		c.CustomersGroup = DefaultCustomersGroup
	}
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if c.MaxBody < 1 || c.MaxBody > reviewapi.MaxBodyCeiling {
		return fmt.Errorf("review: max-body %d is outside 1..%d", c.MaxBody, reviewapi.MaxBodyCeiling)
	}
	if c.WriteLimit < 1 {
		return fmt.Errorf("review: write-limit %d must be at least 1", c.WriteLimit)
	}
	if c.WriteWindow < time.Second {
		return fmt.Errorf("review: write-window %s is below one second", c.WriteWindow)
	}
	if err := bus.ValidateGroup(c.OrdersGroup); err != nil {
		return fmt.Errorf("review: orders-group: %w", err)
	}
	if err := bus.ValidateGroup(c.CustomersGroup); err != nil {
		return fmt.Errorf("review: customers-group: %w", err)
	}
	if c.CustomersGroup == c.OrdersGroup {
		return errors.New("review: customers-group and orders-group must differ")
	}
	return c.Paging.Validate("review", kit.PageCeiling)
}

// Deps is what the review service is built from. Its Bus carries the order
// service's events into the buyers projection, and identity's email
// verifications; nil: nothing is consumed (tests feed events to
// HandleOrderEvent and HandleCustomerEvent). It calls no other service.
type Deps struct {
	kit.Deps
}

// Service is the review service. It is safe for concurrent use.
type Service struct {
	cfg   Config
	store *kit.Store[*reviewdb.Queries]
	bus   bus.Bus
	log   *slog.Logger
	now   func() time.Time

	consumers kit.Consumers // subscribed in Start, stopped when Run ends
}

// New returns the review service on deps.DB, migrated with Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "review", deps.Deps, reviewdb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, bus: deps.Bus, log: deps.Logger(), now: time.Now}, nil
}

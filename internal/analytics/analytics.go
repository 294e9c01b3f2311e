// Package analytics is the analytics service: the store's business figures
// (revenue gross, net of refunds and tax per day and over rolling 7, 30 and
// 90 days; orders and average order value; units and revenue by product
// and category; refund and return rates; inventory turnover; the funnel
// from cart to confirmed order; new and returning customers), per store, in
// the store's time zone and in the orders' currency.
//
// The figures come only from events (order, cart, catalog, inventory and
// tenant events), never from calling another service. Every event consumed
// is first appended to the service's own log, in the same transaction as
// its effect on the read models (fact tables: one row per order, order
// line, return received, cart, product, variant and change of stock), and
// the reports aggregate those at query time. The read models are a fold
// over the log whose result does not depend on the order events arrive in,
// so Rebuild (`mercato analytics rebuild`) empties them and folds the log
// again to exactly the same state (docs/decisions/0029-analytics-event-log.md).
// The service publishes nothing.
package analytics

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	// The stores' time zones are read with the binary's own copy of the
	// zone database: a host without one still counts days right.
	_ "time/tzdata"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/analytics/analyticsdb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the event log and the read models, and the outbox and
// inbox the consumer dedupes with.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "analytics_db_version")}

// Errors the service returns; http.go maps each to a status and code.
var (
	// ErrInvalid: a report's period or currency is refused (a
	// *kit.ValidationError names the field).
	ErrInvalid = errors.New("analytics: invalid report request")
)

// Config tunes the analytics service. The zero value takes the defaults.
type Config struct {
	// Group is the consumer group of every event the service reads.
	Group string
	// MaxDays is the longest period a report covers.
	MaxDays int
}

// Defaults of Config.
const (
	DefaultGroup   = "analytics"
	DefaultMaxDays = 366
	// DefaultDays is a report's period when none is asked for.
	DefaultDays = 30
	// replayPage is how many logged events a rebuild reads at once.
	replayPage = 500
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "analytics."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.Group, prefix+"group", DefaultGroup, "consumer group reading order, cart, catalog, inventory and tenant events into the analytics log")
	fs.IntVar(&c.MaxDays, prefix+"max-days", DefaultMaxDays, "longest period an analytics report covers, in days")
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.MaxDays == 0 {
		c.MaxDays = DefaultMaxDays
	}
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	if err := bus.ValidateGroup(c.Group); err != nil {
		return fmt.Errorf("analytics: group: %w", err)
	}
	if c.MaxDays < 1 || c.MaxDays > 3660 {
		return fmt.Errorf("analytics: max-days %d is outside 1..3660", c.MaxDays)
	}
	return nil
}

// Deps is what the analytics service is built from. Its Bus carries the
// events it folds; nil: nothing is consumed (tests hand events to Handle).
// It calls no other service.
type Deps struct {
	kit.Deps
}

// Service is the analytics service. It is safe for concurrent use.
type Service struct {
	cfg   Config
	store *kit.Store[*analyticsdb.Queries]
	bus   bus.Bus
	log   *slog.Logger
	now   func() time.Time

	consumers kit.Consumers // subscribed in Start, stopped when Run ends
}

// New returns the analytics service on deps.DB, migrated with Migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := kit.Prepare(ctx, "analytics", deps.Deps, analyticsdb.Prepare)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, bus: deps.Bus, log: deps.Logger(), now: time.Now}, nil
}

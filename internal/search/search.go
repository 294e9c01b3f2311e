// Package search is the search service: full-text search over a store's
// active products, built only from events. Its consumers keep a projection
// in its own database (each product's newest catalog snapshot, the
// available units of its SKUs from inventory events, its rating aggregate
// from review events; each event applied once through the inbox), and each
// search replica keeps its own bleve index per tenant (the "en" analyzer)
// under its index directory, fed from that projection: at once for the
// events its own consumers applied, by tailing the projection for the rest
// (docs/search.md). An index can always be rebuilt from the projection
// (Rebuild, `mercato search reindex`), and a replica with no index builds
// one on start.
//
// Queries match the title, description, SKUs and category, forgive a typo
// or two, match the last word as a prefix, count facets (category, price
// range, in stock, rating), sort by relevance, price, newest or rating,
// highlight what matched as fragments (never markup), and page by cursor.
package search

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/search/searchdb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the sets the search database is migrated with: the
// outbox's (its inbox), then the projection.
var Migrations = []sqldb.Migrations{outbox.Migrations, sqldb.Embedded(migrationFiles, "migrations", "search_db_version")}

// ErrInvalid is a query refused field by field.
var ErrInvalid = errors.New("search: invalid query")

// Config tunes the search service. The zero value takes the defaults but
// for IndexDir, which the process sets (under its data directory).
type Config struct {
	// IndexDir holds this replica's indexes, one per tenant.
	IndexDir string
	// Paging sizes result pages.
	Paging kit.Paging
	// Poll is how often the projection is tailed for what other replicas
	// applied (this replica's own changes are indexed at once).
	Poll time.Duration
	// Lookback is how far before its cursor the tail reads again, for
	// transactions that committed out of order: it must exceed the
	// longest projection transaction plus the clock skew between the
	// replicas (rows are stamped with the applying replica's clock).
	Lookback time.Duration
	// The consumer groups of the three event streams, shared by every
	// replica: each event is applied to the projection once.
	CatalogGroup, InventoryGroup, ReviewGroup string
}

// Defaults of Config.
const (
	DefaultPageSize       = 20
	DefaultMaxPageSize    = 100
	DefaultPoll           = time.Second
	DefaultLookback       = 10 * time.Second
	DefaultCatalogGroup   = "search-catalog"
	DefaultInventoryGroup = "search-inventory"
	DefaultReviewGroup    = "search-review"
)

// RegisterFlags registers the config's flags, each name starting with
// prefix (e.g. "search."), with the defaults as values.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.IndexDir, prefix+"index-dir", "", "directory of this replica's search indexes (default: search under -data)")
	c.Paging.RegisterFlags(fs, prefix, "search results", "a search", DefaultPageSize, DefaultMaxPageSize)
	fs.DurationVar(&c.Poll, prefix+"poll", DefaultPoll, "how often the index reads what other search replicas applied")
	fs.DurationVar(&c.Lookback, prefix+"lookback", DefaultLookback, "how far back each read of the projection looks again, for late commits")
	fs.StringVar(&c.CatalogGroup, prefix+"catalog-group", DefaultCatalogGroup, "consumer group reading catalog product events into the search projection")
	fs.StringVar(&c.InventoryGroup, prefix+"inventory-group", DefaultInventoryGroup, "consumer group reading inventory stock events into the search projection")
	fs.StringVar(&c.ReviewGroup, prefix+"review-group", DefaultReviewGroup, "consumer group reading review rating events into the search projection")
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	c.Paging = c.Paging.WithDefaults(DefaultPageSize, DefaultMaxPageSize)
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.Lookback == 0 {
		c.Lookback = DefaultLookback
	}
	if c.CatalogGroup == "" {
		c.CatalogGroup = DefaultCatalogGroup
	}
	if c.InventoryGroup == "" {
		c.InventoryGroup = DefaultInventoryGroup
	}
	if c.ReviewGroup == "" {
		c.ReviewGroup = DefaultReviewGroup
	}
	return c
}

// Validate reports a config the service cannot run with.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Paging.Validate("search", kit.PageCeiling); err != nil {
		errs = append(errs, err)
	}
	if c.Poll < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("search: poll must be at least 10ms, got %s", c.Poll))
	}
	if c.Lookback < 0 {
		errs = append(errs, fmt.Errorf("search: lookback must not be negative, got %s", c.Lookback))
	}
	groups := map[string]bool{}
	for _, g := range []string{c.CatalogGroup, c.InventoryGroup, c.ReviewGroup} {
		if err := bus.ValidateGroup(g); err != nil {
			errs = append(errs, fmt.Errorf("search: %w", err))
		}
		if groups[g] {
			errs = append(errs, fmt.Errorf("search: consumer group %q is used twice", g))
		}
		groups[g] = true
	}
	return errors.Join(errs...)
}

// Deps is what the search service is built from. Its Bus carries the
// catalog, inventory and review events; nil: none is consumed (tests hand
// events to Handle). It calls no other service.
type Deps struct {
	kit.Deps
}

// Service is the search service. It is safe for concurrent use.
type Service struct {
	cfg     Config
	store   *kit.Store[*searchdb.Queries]
	bus     bus.Bus
	log     *slog.Logger
	now     func() time.Time
	idx     *indexes
	indexer *indexer
	// wake asks the follower for a catch-up now.
	wake chan struct{}

	// consumers are subscribed in Start and stopped when Run ends.
	consumers kit.Consumers
}

// New returns the search service on deps.DB, migrated with Migrations,
// with its indexes under cfg.IndexDir.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.IndexDir == "" {
		return nil, errors.New("search: no index directory")
	}
	st, err := kit.Prepare(ctx, "search", deps.Deps, searchdb.Prepare)
	if err != nil {
		return nil, err
	}
	idx, err := newIndexes(cfg.IndexDir)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: st, bus: deps.Bus, log: deps.Logger(), now: time.Now, idx: idx, wake: make(chan struct{}, 1)}
	s.indexer = newIndexer(st, idx, cfg.Lookback, s.log)
	return s, nil
}

// Rebuild deletes this replica's indexes and builds them again from the
// projection; it returns how many products it read. Searches answer from
// what is built so far while it runs.
func (s *Service) Rebuild(ctx context.Context) (int, error) {
	n, err := s.indexer.rebuild(ctx)
	if err != nil {
		return n, fmt.Errorf("search: rebuild: %w", err)
	}
	return n, nil
}

// Bleve returns the tenant's bleve index as this replica holds it (nil
// when it has none), for measuring bleve on its own (mercato bench
// search). Writes to it bypass the projection: only read it.
func (s *Service) Bleve(tenant string) (bleve.Index, error) { return s.idx.get(tenant, false) }

// IndexSize is the bytes a tenant's index takes on disk; every tenant's
// for "".
func (s *Service) IndexSize(tenant string) (int64, error) { return s.idx.size(tenant) }

// Close writes the indexes to disk and closes them; the service is not
// used after.
func (s *Service) Close() error {
	return errors.Join(s.indexer.close(), s.idx.Close())
}

// tenantContext is ctx scoped to tenant, for the projection's reads.
func tenantContext(ctx context.Context, tenant string) context.Context {
	return tenancy.WithID(ctx, tenant)
}

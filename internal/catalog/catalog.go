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
// With the tenant service's plan limits (WithPlanLimits), a store cannot
// have more draft and active products than its plan allows: creating one
// more (or bringing one back from the archive) is refused with a
// *tenantapi.LimitError. With its store settings (WithStores), every price
// is in the store's currency.
package catalog

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/platform/cache"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the catalog tables. Apply outbox.Migrations first.
var Migrations = sqldb.Embedded(migrationFiles, "migrations", "catalog_db_version")

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
	ErrInvalidCursor       = errors.New("catalog: invalid cursor")
	ErrConflict            = errors.New("catalog: concurrent change, try again")
	ErrLimitsUnavailable   = errors.New("catalog: plan limits unavailable")
)

// PlanLimits is what the catalog needs of the tenant service
// (tenantapi.Client): the plan limits of the store in ctx.
type PlanLimits interface {
	Limits(ctx context.Context) (tenantapi.Limits, error)
}

// Option changes how New builds the service.
type Option func(*Service)

// WithPlanLimits makes the catalog keep each store within its plan's
// product limit, read from l before every write that adds a live product.
// Without it (tests, a catalog deployed alone) there are no limits.
func WithPlanLimits(l PlanLimits) Option {
	return func(s *Service) { s.limits = l }
}

// Config tunes the catalog service. The zero value takes the defaults.
type Config struct {
	// PageSize is the list page size when a request gives no limit.
	PageSize int
	// MaxPageSize caps the limit a request may ask for.
	MaxPageSize int
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
	fs.IntVar(&c.PageSize, prefix+"page-size", DefaultPageSize, "products per page when a list request gives no limit")
	fs.IntVar(&c.MaxPageSize, prefix+"max-page-size", DefaultMaxPageSize, "largest page a list request may ask for")
	fs.DurationVar(&c.CacheTTL, prefix+"cache-ttl", 5*time.Second, "how long public product pages are cached (0 disables); writes here invalidate at once, other replicas within this time")
	fs.IntVar(&c.CacheBytes, prefix+"cache-bytes", 64<<20, "memory bound of the public page cache")
}

// Validate reports a config the service cannot run with.
func (c Config) Validate() error {
	if c.PageSize < 1 || c.MaxPageSize < 1 {
		return fmt.Errorf("catalog: page-size (%d) and max-page-size (%d) must be positive", c.PageSize, c.MaxPageSize)
	}
	if c.PageSize > c.MaxPageSize {
		return fmt.Errorf("catalog: page-size %d is above max-page-size %d", c.PageSize, c.MaxPageSize)
	}
	if c.CacheTTL < 0 || c.CacheBytes < 0 {
		return fmt.Errorf("catalog: cache-ttl (%s) and cache-bytes (%d) must not be negative", c.CacheTTL, c.CacheBytes)
	}
	if c.MaxPageSize > 1000 {
		return fmt.Errorf("catalog: max-page-size %d is above 1000", c.MaxPageSize)
	}
	return nil
}

// Service is the catalog. It is safe for concurrent use.
type Service struct {
	cfg    Config
	store  *store
	pages  *cache.Pages // nil: no caching
	events *outbox.Relay
	log    *slog.Logger
	now    func() time.Time
	newID  func() string
	limits PlanLimits // nil: no plan limits
	stores Stores     // nil: prices in any currency
	media  *demoMedia
}

// New returns the catalog service on db, which must be migrated with
// outbox.Migrations and Migrations. events is woken after each write that
// added events; nil is fine (tests), the relay's poll finds them anyway.
func New(cfg Config, db *sqldb.DB, events *outbox.Relay, log *slog.Logger, opts ...Option) (*Service, error) {
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.MaxPageSize == 0 {
		cfg.MaxPageSize = max(DefaultMaxPageSize, cfg.PageSize)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("catalog: no database")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// New has no context to take (its signature is the runner's); preparing
	// statements is quick and bounded here instead.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := newStore(ctx, db)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: st, pages: cache.NewPages(cfg.CacheBytes, cfg.CacheTTL), events: events, log: log, now: time.Now, newID: newID, media: newDemoMedia()}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// newID returns a UUIDv7: time-ordered, so new rows land at the end of
// indexes. NewV7 fails only if crypto/rand does, which since Go 1.24 aborts
// the program instead of returning an error.
func newID() string {
	id, _ := uuid.NewV7()
	return id.String()
}

// Run has nothing to consume yet: it waits for ctx and returns nil.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// write runs fn in a transaction, retrying the whole operation (reads
// included) when a concurrent writer got there first: a changed product row
// or a unique index hit by a SKU or slug that was free when checked. On
// SQLite writers are serialised and neither happens. After commit the relay
// is woken for the events fn added.
//
// The tenant's cached pages are invalidated after the transaction, also when
// fn succeeded but the commit then failed: a commit that fails (a connection
// lost on the way) may still have gone through, and a needless invalidation
// only costs a rebuilt page. Before the transaction would be too early: a
// reader could cache the old data again before the commit.
func (s *Service) write(ctx context.Context, fn func(tx *sql.Tx, q *catalogdb.Queries) error) error {
	const attempts = 3
	var err error
	for range attempts {
		var committing bool // fn succeeded in the last attempt sqldb made
		err = s.store.tx(ctx, func(tx *sql.Tx, q *catalogdb.Queries) error {
			committing = false
			if err := fn(tx, q); err != nil {
				return err
			}
			committing = true
			return nil
		})
		if err == nil || committing {
			if tenant, terr := tenancy.ID(ctx); terr == nil {
				s.pages.Invalidate(tenant)
			}
		}
		if err == nil {
			if s.events != nil {
				s.events.Notify()
			}
			return nil
		}
		if !errors.Is(err, errStale) && !sqldb.IsUniqueViolation(err) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrConflict, err)
}

// CreateProduct creates a product for the tenant in ctx and announces it.
func (s *Service) CreateProduct(ctx context.Context, in catalogapi.ProductCreate) (catalogapi.Product, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Product{}, err
	}
	p, err := newProduct(in, s.newID, s.now())
	if err != nil {
		return catalogapi.Product{}, err
	}
	if err := s.checkCurrency(ctx, in.Variants); err != nil {
		return catalogapi.Product{}, fmt.Errorf("create product: %w", err)
	}
	base := p.Slug
	limits, err := s.planLimits(ctx)
	if err != nil {
		return catalogapi.Product{}, fmt.Errorf("create product: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx, q *catalogdb.Queries) error {
		if err := s.roomForOne(ctx, q, tenant, limits); err != nil {
			return err
		}
		if p.CategoryID != "" {
			if err := categoryExists(ctx, q, tenant, p.CategoryID, "category_id"); err != nil {
				return err
			}
		}
		slug, err := settleSlug(ctx, productSlugs(q, tenant), p.ID, base, in.Slug != "")
		if err != nil {
			return err
		}
		p.Slug = slug
		if err := checkSKUs(ctx, q, tenant, p); err != nil {
			return err
		}
		if err := insertProduct(ctx, q, tenant, p); err != nil {
			return err
		}
		return addEvent(ctx, tx, catalogapi.SubjectProductCreated, p.CreatedAt, catalogapi.ProductCreated{Product: p})
	})
	if err != nil {
		return catalogapi.Product{}, fmt.Errorf("create product: %w", err)
	}
	s.log.DebugContext(ctx, "product created", "tenant", tenant, "product_id", p.ID)
	return p, nil
}

// UpdateProduct applies a partial update to a product of any status and
// announces it: as archived when the update archives it, else as updated.
// An update that changes nothing writes and announces nothing.
func (s *Service) UpdateProduct(ctx context.Context, id string, in catalogapi.ProductUpdate) (catalogapi.Product, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Product{}, err
	}
	if err := s.checkCurrency(ctx, in.Variants); err != nil {
		return catalogapi.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	var limits *tenantapi.Limits
	if in.Status != nil && *in.Status != catalogapi.StatusArchived {
		// It may bring an archived product back: that counts as one more.
		if limits, err = s.planLimits(ctx); err != nil {
			return catalogapi.Product{}, fmt.Errorf("update product %s: %w", id, err)
		}
	}
	var p catalogapi.Product
	err = s.write(ctx, func(tx *sql.Tx, q *catalogdb.Queries) error {
		old, err := s.store.product(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		var changed bool
		p, changed, err = patchProduct(old, in, s.newID, s.now())
		if err != nil || !changed {
			return err
		}
		if old.Status == catalogapi.StatusArchived && p.Status != catalogapi.StatusArchived {
			if err := s.roomForOne(ctx, q, tenant, limits); err != nil {
				return err
			}
		}
		if p.CategoryID != "" && p.CategoryID != old.CategoryID {
			if err := categoryExists(ctx, q, tenant, p.CategoryID, "category_id"); err != nil {
				return err
			}
		}
		if p.Slug != old.Slug {
			if _, err := settleSlug(ctx, productSlugs(q, tenant), p.ID, p.Slug, true); err != nil {
				return err
			}
		}
		if err := checkSKUs(ctx, q, tenant, p); err != nil {
			return err
		}
		if err := updateProduct(ctx, q, tenant, old, p); err != nil {
			return err
		}
		if p.Status == catalogapi.StatusArchived && old.Status != catalogapi.StatusArchived {
			return addEvent(ctx, tx, catalogapi.SubjectProductArchived, p.UpdatedAt, catalogapi.ProductArchived{Product: p})
		}
		return addEvent(ctx, tx, catalogapi.SubjectProductUpdated, p.UpdatedAt, catalogapi.ProductUpdated{Product: p})
	})
	if err != nil {
		return catalogapi.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	return p, nil
}

// planLimits reads the plan limits of the store in ctx; nil without a
// limits client, or on a plan without a product limit.
func (s *Service) planLimits(ctx context.Context) (*tenantapi.Limits, error) {
	if s.limits == nil {
		return nil, nil
	}
	l, err := s.limits.Limits(ctx)
	if err != nil {
		// Refused rather than let through: a limit that holds only while
		// the tenant service answers is no limit.
		return nil, fmt.Errorf("%w: %w", ErrLimitsUnavailable, err)
	}
	if l.Of(tenantapi.ResourceProducts) == tenantapi.Unlimited {
		return nil, nil
	}
	return &l, nil
}

// roomForOne checks, in the write transaction, that the store may have one
// more draft or active product under limits (nil: no limit). The lock row
// makes concurrent creations of one store take turns, so the count is not
// stale by the time the product is inserted.
func (s *Service) roomForOne(ctx context.Context, q *catalogdb.Queries, tenant string, limits *tenantapi.Limits) error {
	if limits == nil {
		return nil
	}
	if err := q.LockProductQuota(ctx, catalogdb.LockProductQuotaParams{TenantID: tenant, TouchedAt: micros(s.now())}); err != nil {
		return fmt.Errorf("lock product quota: %w", err)
	}
	n, err := q.CountLiveProducts(ctx, tenant)
	if err != nil {
		return fmt.Errorf("count products: %w", err)
	}
	return tenantapi.CheckLimit(*limits, tenantapi.ResourceProducts, n)
}

// ArchiveProduct archives a product (the admin DELETE): it leaves the public
// catalog, its SKUs stay reserved. Archiving an archived product is a no-op.
func (s *Service) ArchiveProduct(ctx context.Context, id string) (catalogapi.Product, error) {
	archived := catalogapi.StatusArchived
	p, err := s.UpdateProduct(ctx, id, catalogapi.ProductUpdate{Status: &archived})
	if err != nil {
		return p, err
	}
	s.log.DebugContext(ctx, "product archived", "product_id", id)
	return p, nil
}

// Product returns a product of any status by ID (admin).
func (s *Service) Product(ctx context.Context, id string) (catalogapi.Product, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Product{}, err
	}
	return s.store.readProduct(ctx, tenant, id)
}

// PublicProduct returns an active product by ID or slug.
func (s *Service) PublicProduct(ctx context.Context, idOrSlug string) (catalogapi.Product, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Product{}, err
	}
	return s.store.activeProduct(ctx, tenant, idOrSlug)
}

// pageSize turns a requested limit into the page size.
func (s *Service) pageSize(limit int) int {
	return web.PageSize(limit, s.cfg.PageSize, s.cfg.MaxPageSize)
}

// ListProducts returns a page of active products.
func (s *Service) ListProducts(ctx context.Context, lq ListQuery) (catalogapi.ProductList, error) {
	pg, err := s.listProducts(ctx, lq)
	if err != nil {
		return catalogapi.ProductList{}, err
	}
	return pg.productList()
}

// listProducts is ListProducts with the products' JSON columns left
// encoded, for the public list to pass on.
func (s *Service) listProducts(ctx context.Context, lq ListQuery) (productPage, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return productPage{}, err
	}
	if lq.Sort == "" {
		lq.Sort = SortNewest
	}
	if !validSort(lq.Sort) {
		return productPage{}, invalid(FieldError{Field: "sort", Message: "unknown sort", Value: lq.Sort})
	}
	after := firstCursor(lq.Sort)
	if lq.Cursor != "" {
		if after, err = decodeCursor(lq.Cursor, lq.Sort); err != nil {
			return productPage{}, err
		}
	}
	n := s.pageSize(lq.Limit)
	// One more than a page tells whether there is a next page.
	items, err := s.store.list(ctx, tenant, lq, after, n+1)
	if err != nil {
		return productPage{}, err
	}
	return page(items, n, func(p listedProduct) cursor { return cursorAfter(lq.Sort, p) }), nil
}

// AdminProducts returns a page of products of any status, newest first.
func (s *Service) AdminProducts(ctx context.Context, aq AdminListQuery) (catalogapi.ProductList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.ProductList{}, err
	}
	after := firstCursor(SortNewest)
	if aq.Cursor != "" {
		if after, err = decodeCursor(aq.Cursor, SortNewest); err != nil {
			return catalogapi.ProductList{}, err
		}
	}
	n := s.pageSize(aq.Limit)
	items, err := s.store.listAdmin(ctx, tenant, aq.Status, after, n+1)
	if err != nil {
		return catalogapi.ProductList{}, err
	}
	return page(items, n, func(p listedProduct) cursor { return cursorAfter(SortNewest, p) }).productList()
}

func page(items []listedProduct, n int, next func(listedProduct) cursor) productPage {
	pg := productPage{Items: items}
	if len(items) > n {
		pg.Items = items[:n]
		pg.NextCursor = next(items[n-1]).encode()
	}
	return pg
}

// CreateCategory creates a category for the tenant in ctx.
func (s *Service) CreateCategory(ctx context.Context, in catalogapi.CategoryCreate) (catalogapi.Category, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Category{}, err
	}
	c, err := newCategory(in, s.newID(), s.now())
	if err != nil {
		return catalogapi.Category{}, err
	}
	base := c.Slug
	err = s.write(ctx, func(_ *sql.Tx, q *catalogdb.Queries) error {
		if c.ParentID != "" {
			if err := categoryExists(ctx, q, tenant, c.ParentID, "parent_id"); err != nil {
				return err
			}
		}
		slug, err := settleSlug(ctx, categorySlugs(q, tenant), c.ID, base, in.Slug != "")
		if err != nil {
			return err
		}
		c.Slug = slug
		return insertCategory(ctx, q, tenant, c)
	})
	if err != nil {
		return catalogapi.Category{}, fmt.Errorf("create category: %w", err)
	}
	return c, nil
}

// UpdateCategory applies a partial update to a category. A new parent must
// exist and not be the category or one below it; checkMove makes that hold
// under concurrent moves too.
func (s *Service) UpdateCategory(ctx context.Context, id string, in catalogapi.CategoryUpdate) (catalogapi.Category, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Category{}, err
	}
	var c catalogapi.Category
	err = s.write(ctx, func(_ *sql.Tx, q *catalogdb.Queries) error {
		old, err := s.store.category(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		if c, err = patchCategory(old, in, s.now()); err != nil {
			return err
		}
		if c.ParentID != "" && c.ParentID != old.ParentID {
			if err := s.store.checkMove(ctx, q, tenant, c.ID, c.ParentID); err != nil {
				return err
			}
		}
		if c.Slug != old.Slug {
			if _, err := settleSlug(ctx, categorySlugs(q, tenant), c.ID, c.Slug, true); err != nil {
				return err
			}
		}
		return updateCategory(ctx, q, tenant, c)
	})
	if err != nil {
		return catalogapi.Category{}, fmt.Errorf("update category %s: %w", id, err)
	}
	return c, nil
}

// DeleteCategory deletes a category that has no children and no products
// (archived ones included: they still point at it).
func (s *Service) DeleteCategory(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(_ *sql.Tx, q *catalogdb.Queries) error {
		if _, err := s.store.category(ctx, q, tenant, id); err != nil {
			return err
		}
		n, err := q.CountChildCategories(ctx, catalogdb.CountChildCategoriesParams{TenantID: tenant, ParentID: nullString(id)})
		if err != nil {
			return fmt.Errorf("count child categories: %w", err)
		}
		if n > 0 {
			return ErrCategoryHasChildren
		}
		n, err = q.CountCategoryProducts(ctx, catalogdb.CountCategoryProductsParams{TenantID: tenant, CategoryID: nullString(id)})
		if err != nil {
			return fmt.Errorf("count category products: %w", err)
		}
		if n > 0 {
			return ErrCategoryInUse
		}
		if _, err := q.DeleteCategory(ctx, catalogdb.DeleteCategoryParams{TenantID: tenant, ID: id}); err != nil {
			return fmt.Errorf("delete category: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete category %s: %w", id, err)
	}
	return nil
}

// Category returns one category, without children.
func (s *Service) Category(ctx context.Context, id string) (catalogapi.Category, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Category{}, err
	}
	var c catalogapi.Category
	err = s.store.readTx(ctx, func(q *catalogdb.Queries) error {
		var err error
		c, err = s.store.category(ctx, q, tenant, id)
		return err
	})
	return c, err
}

// Categories returns every category of the tenant as a flat list, ordered
// by position then name.
func (s *Service) Categories(ctx context.Context) ([]catalogapi.Category, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, err
	}
	var cs []catalogapi.Category
	err = s.store.readTx(ctx, func(q *catalogdb.Queries) error {
		var err error
		cs, err = s.store.categories(ctx, q, tenant)
		return err
	})
	return cs, err
}

// CategoryTree returns the tenant's categories as a tree: the roots, each
// with its children.
func (s *Service) CategoryTree(ctx context.Context) ([]catalogapi.Category, error) {
	flat, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	return buildTree(flat), nil
}

// Package storefront is the shop a store's customers see at / of the
// store's host: home, categories, product pages, the cart, the checkout,
// order pages and customer accounts, rendered on the server with the page
// kit (internal/platform/page) from templates in web/templates/storefront.
//
// It owns no business data: every page is made from the other services'
// APIs through their <service>api clients, called as the visitor (a
// guest, or the signed-in customer's token), never with the deployment's
// service token. Its database keeps only web sessions.
package storefront

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/cache"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/live"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/platform/session"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

// Migrations are the storefront's database sets: its web sessions only.
var Migrations = []sqldb.Migrations{session.Migrations}

// DefaultFeatured is how many products the home page shows.
const DefaultFeatured = 8

// DefaultPageCacheTTL bounds how long a guest page is shared (see
// docs/decisions/0020): the time a stock state or price may lag behind a
// change made in another process.
const DefaultPageCacheTTL = time.Second

// pageSources are the databases whose commits change what a guest page
// shows: products and categories, stock, discounts, the store's settings,
// ratings and reviews.
var pageSources = []string{"catalog", "inventory", "pricing", "tenant", "review"}

// Config configures the storefront.
type Config struct {
	// Featured is how many products the home page shows.
	Featured int
	// PageCacheTTL bounds how long a guest's home, category and product
	// pages are served from the shared page cache (page.Kit.Shared); 0
	// renders every page for its request.
	PageCacheTTL time.Duration
	// Session configures the visitors' sessions; the platform's
	// -session.* flags fill it.
	Session session.Config
}

// RegisterFlags registers the storefront's flags, each name starting with
// prefix.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.IntVar(&c.Featured, prefix+"featured", DefaultFeatured, "how many products the storefront's home page shows")
	fs.DurationVar(&c.PageCacheTTL, prefix+"page-cache-ttl", DefaultPageCacheTTL, "how long a home, category or product page rendered for visitors without a session is served to others (0 disables); a change committed in this process renders it again at once")
}

// Validate reports a config the storefront cannot run with.
func (c *Config) Validate() error {
	if c.Featured < 1 || c.Featured > 48 {
		return fmt.Errorf("storefront: featured %d is not between 1 and 48", c.Featured)
	}
	if c.PageCacheTTL < 0 || c.PageCacheTTL > time.Minute {
		return fmt.Errorf("storefront: page-cache-ttl %s is not between 0 and 1m", c.PageCacheTTL)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Featured == 0 {
		c.Featured = DefaultFeatured
	}
	d := session.DefaultConfig()
	if c.Session.Lifetime == 0 {
		c.Session = d
	}
	return c
}

// Deps are the storefront's dependencies: its database (sessions), the
// store directory, and the APIs it renders.
type Deps struct {
	kit.Deps
	// Tenants names the store of a Host; Stores reads its settings.
	Tenants page.Resolver
	Stores  page.StoreReader

	Catalog   *catalogapi.Client
	Inventory *inventoryapi.Client
	Cart      *cartapi.Client
	Pricing   *pricingapi.Client
	Orders    *orderapi.Client
	Payments  *paymentapi.Client
	Identity  *identityapi.Client
	// Changes counts the commits of this process's databases, so a
	// shared guest page is rendered again as soon as its data changes
	// here. Nil: only Config.PageCacheTTL bounds a shared page's age.
	Changes *cache.Changes
	// Logins is identity's client with the deployment's service token,
	// used for one call only: a customer's sign-in (LoginFor), so that
	// identity's throttle counts the browser's address, which only the
	// deployment's own processes may vouch for. Every other call goes
	// through Identity, as the visitor.
	Logins *identityapi.Client
	// Reviews shows ratings and reviews and takes buyers' reviews. Nil:
	// the pages show no reviews.
	Reviews *reviewapi.Client
	// Invoices lists an order's invoices and credit notes on its page and
	// serves their PDF and XML. Nil: order pages show no invoices.
	Invoices *invoiceapi.Client
	// Live streams order changes to order pages (LiveTypes). Nil: order
	// pages change on reload only, and /orders/{id}/events answers 404.
	Live *live.Hub
	// Search finds products for the search box and /search. Nil: no
	// search box, and /search answers 404.
	Search Searcher
}

// Service serves the storefront's pages. It is safe for concurrent use.
type Service struct {
	cfg      Config
	deps     Deps
	kit      *page.Kit
	sessions *session.Failover
	// keys are the form keys claimed in this process (formkeys.go).
	keys *formKeys
	// trees are the stores' category trees, kept a few seconds
	// (categories.go).
	trees *categoryCache
	log   *slog.Logger
}

// New builds the storefront.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger()
	sm, fo, err := session.New(cfg.Session, deps.DB, log.With("component", "sessions"))
	if err != nil {
		return nil, fmt.Errorf("storefront sessions: %w", err)
	}
	s := &Service{cfg: cfg, deps: deps, sessions: fo, keys: newFormKeys(), trees: newCategoryCache(), log: log}
	s.kit, err = page.New(page.Options{
		Service:    "storefront",
		Tenants:    deps.Tenants,
		Stores:     deps.Stores,
		Sessions:   sm,
		Refresh:    s.refresh,
		SignInPath: "/account/sign-in",
		Shared:     page.SharedOptions{TTL: cfg.PageCacheTTL, Changes: deps.Changes, Sources: pageSources},
		Log:        log,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Run keeps the session store: purges expired sessions and moves sessions
// back to Redis after an outage.
func (s *Service) Run(ctx context.Context) error { return s.sessions.Run(ctx) }

// Routes mounts the storefront's pages at / of every store's host.
func (s *Service) Routes(api *web.API) {
	api.Handle(s.kit.StaticPattern(), s.kit.Static())
	route := func(pattern string, h http.HandlerFunc) { api.Handle(pattern, s.kit.Handler(h)) }
	route("GET /brand.css", s.kit.BrandCSS().ServeHTTP)
	s.browseRoutes(route)
	s.cartRoutes(route)
	s.checkoutRoutes(route)
	s.orderRoutes(route)
	s.accountRoutes(route)
	s.emailRoutes(route)
	s.reviewRoutes(route)
	s.invoiceRoutes(route)
	s.searchRoutes(route)
}

// routeFunc mounts a page handler at a ServeMux pattern, inside the kit.
type routeFunc func(pattern string, h http.HandlerFunc)

// view is the kit's View with the storefront layout's data (categories,
// the cart's count).
func (s *Service) view(r *http.Request, title string) *page.View {
	v := s.kit.View(r, title)
	v.Nav = s.nav(r)
	return v
}

// refresh renews a customer's access token with identity's refresh (the
// refresh token is used up and replaced). A refusal (expired, revoked or
// reused) reaches the kit as a 4xx, which signs the customer out.
func (s *Service) refresh(ctx context.Context, refreshToken string) (page.Tokens, error) {
	t, err := s.deps.Identity.Refresh(ctx, refreshToken)
	if err != nil {
		return page.Tokens{}, fmt.Errorf("refresh customer token: %w", err)
	}
	return tokens(t, time.Now()), nil
}

// tokens are identity's tokens as the session keeps them.
func tokens(t identityapi.Tokens, now time.Time) page.Tokens {
	return page.Tokens{Access: t.AccessToken, Refresh: t.RefreshToken, Expires: now.Add(time.Duration(t.ExpiresIn) * time.Second)}
}

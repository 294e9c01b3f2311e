// Package admin is a store's back office at /admin of the store's host:
// staff sign in and, as far as their role allows, run the store: products,
// stock, orders, discounts, taxes and shipping, staff, API keys and the
// store's settings. Pages are rendered on the server with the page kit
// (internal/platform/page) from templates in web/templates/admin.
//
// It owns no business data: every page is made from the other services'
// APIs through their <service>api clients, called with the signed-in staff
// member's token, so each service still refuses what the role may not do;
// the pages only leave out what it would refuse. Its database keeps only
// web sessions.
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/live"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/platform/session"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Migrations are the admin's database sets: its web sessions only.
var Migrations = []sqldb.Migrations{session.Migrations}

// Config configures the admin.
type Config struct {
	// Session configures the staff's sessions; the platform's -session.*
	// flags fill it.
	Session session.Config
	// MaxUpload is the largest image file the upload forms take, in bytes:
	// the media service's limit (cmd/mercato passes -media.max-upload).
	MaxUpload int64
}

// Validate reports a config the admin cannot run with.
func (c *Config) Validate() error { return nil }

func (c Config) withDefaults() Config {
	if c.Session.Lifetime == 0 {
		c.Session = session.DefaultConfig()
	}
	if c.MaxUpload == 0 {
		c.MaxUpload = mediaapi.DefaultMaxUpload
	}
	return c
}

// Deps are the admin's dependencies: its database (sessions), the store
// directory, and the APIs it renders.
type Deps struct {
	kit.Deps
	// Tenants names the store of a Host; Stores reads its settings.
	Tenants page.Resolver
	Stores  page.StoreReader

	Store     *tenantapi.Client
	Identity  *identityapi.Client
	Staff     *staffapi.Client
	Catalog   *catalogapi.Client
	Inventory *inventoryapi.Client
	Cart      *cartapi.Client
	Pricing   *pricingapi.Client
	Orders    *orderapi.Client
	Payments  *paymentapi.Client
	// Webhooks is the notify service's webhook and email API. Nil: no
	// webhook or email pages (the sections are left out of the
	// navigation).
	Webhooks *notifyapi.Client
	// Media takes image uploads (product pictures, the logo). Nil: the
	// pages offer no upload forms.
	Media *mediaapi.Client
	// Logins is identity's client with the deployment's service token,
	// for one call only: a staff member's sign-in (StaffLoginFor), so
	// that identity's throttle counts the browser's address, which only
	// the deployment's own processes may vouch for. Nil: sign-ins go
	// through Identity and are counted against the admin's address.
	Logins *identityapi.Client
	// Reviews moderates the store's reviews. Nil: the Reviews pages are
	// not found.
	Reviews *reviewapi.Client
	// Analytics reads the store's figures. Nil: no Analytics page (the
	// section is left out of the navigation).
	Analytics *analyticsapi.Client
	// Invoices lists, shows and re-sends the store's invoices and credit
	// notes. Nil: the Invoices pages are not found (and not in the
	// navigation).
	Invoices *invoiceapi.Client
	// Live streams the notices of the layout (LiveTypes). Nil: no
	// notices, and /admin/events answers 404.
	Live *live.Hub
}

// Service serves the admin's pages. It is safe for concurrent use.
type Service struct {
	cfg      Config
	deps     Deps
	kit      *page.Kit
	sessions *session.Failover
	log      *slog.Logger
	// jobs are the CSV imports this process runs or ran (transfer.go).
	jobs importJobs
	// importDir holds the uploads being imported and the error reports
	// of jobs: this admin's own, removed when Run ends (transfer.go).
	importDir string
}

// New builds the admin.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger()
	sm, fo, err := session.New(cfg.Session, deps.DB, log.With("component", "sessions"))
	if err != nil {
		return nil, fmt.Errorf("admin sessions: %w", err)
	}
	s := &Service{cfg: cfg, deps: deps, sessions: fo, log: log}
	if s.importDir, err = newImportDir(os.TempDir()); err != nil {
		return nil, fmt.Errorf("admin import directory: %w", err)
	}
	s.kit, err = page.New(page.Options{
		Service:    "admin",
		Prefix:     "/admin",
		Tenants:    deps.Tenants,
		Stores:     deps.Stores,
		Sessions:   sm,
		Refresh:    s.refresh,
		SignInPath: "/admin/sign-in",
		Log:        log,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Run keeps the session store: purges expired sessions and moves sessions
// back to Redis after an outage.
// When it ends, so does the process's use of the import directory.
func (s *Service) Run(ctx context.Context) error {
	defer os.RemoveAll(s.importDir)
	return s.sessions.Run(ctx)
}

// Routes mounts the admin's pages under /admin of every store's host.
func (s *Service) Routes(api *web.API) {
	api.Handle(s.kit.StaticPattern(), s.kit.Static())
	route := func(pattern string, h http.HandlerFunc) { api.Handle(pattern, s.kit.Handler(h)) }
	route("GET /admin/brand.css", s.kit.BrandCSS().ServeHTTP)
	route("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
	})
	s.signInRoutes(route)
	route("GET /admin/events", s.events)
	s.homeRoutes(route)
	s.productRoutes(route)
	s.stockRoutes(route)
	s.orderRoutes(route)
	s.pricingRoutes(route)
	s.staffRoutes(route)
	s.storeRoutes(route)
	if s.deps.Webhooks != nil {
		s.webhookRoutes(route)
		s.emailRoutes(route)
	}
	s.reviewRoutes(route)
	s.analyticsRoutes(route)
	s.invoiceRoutes(route)
	s.mediaRoutes(api, route)
	s.transferRoutes(api, route)
}

// routeFunc mounts a page handler at a ServeMux pattern, inside the kit.
type routeFunc func(pattern string, h http.HandlerFunc)

// refresh renews a staff member's access token: staff tokens are refreshed
// like a customer's, at identity's /api/v1/auth/refresh. A refused refresh
// token (expired, revoked, reused) signs the member out.
func (s *Service) refresh(ctx context.Context, refreshToken string) (page.Tokens, error) {
	t, err := s.deps.Identity.Refresh(ctx, refreshToken)
	if err != nil {
		return page.Tokens{}, err
	}
	return tokens(t, time.Now()), nil
}

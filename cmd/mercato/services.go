package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/admin"
	"github.com/mercato/mercato/internal/analytics"
	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/cart"
	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/gateway"
	"github.com/mercato/mercato/internal/identity"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/invoice"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/media"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/notify"
	"github.com/mercato/mercato/internal/order"
	"github.com/mercato/mercato/internal/payment"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/pricing"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/review"
	"github.com/mercato/mercato/internal/search"
	"github.com/mercato/mercato/internal/search/searchapi"
	"github.com/mercato/mercato/internal/staff"
	"github.com/mercato/mercato/internal/storefront"
	"github.com/mercato/mercato/internal/tenant"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// services is the whole system on one screen: every service, in start order,
// with its flags and how it is built from the platform.
func services(fs *pflag.FlagSet) []app.Service {
	var (
		tenantCfg    tenant.Config
		identityCfg  identity.Config
		staffCfg     staff.Config
		catalogCfg   catalog.Config
		mediaCfg     media.Config
		pricingCfg   pricing.Config
		inventoryCfg inventory.Config
		paymentCfg   payment.Config
		cartCfg      cart.Config
		orderCfg     order.Config
		notifyCfg    notify.Config
		reviewCfg    review.Config
		invoiceCfg   invoice.Config
		searchCfg    search.Config
		analyticsCfg analytics.Config
		shopCfg      storefront.Config
		adminCfg     admin.Config
		gatewayCfg   gateway.Config
	)
	tenantCfg.RegisterFlags(fs, "tenant.")
	identityCfg.RegisterFlags(fs, "identity.")
	// Web sessions are identity's; their flags keep the platform's name.
	identityCfg.Session.RegisterFlags(fs, "session.")
	staffCfg.RegisterFlags(fs, "staff.")
	catalogCfg.RegisterFlags(fs, "catalog.")
	mediaCfg.RegisterFlags(fs, "media.")
	pricingCfg.RegisterFlags(fs, "pricing.")
	inventoryCfg.RegisterFlags(fs, "inventory.")
	paymentCfg.RegisterFlags(fs, "payment.")
	cartCfg.RegisterFlags(fs, "cart.")
	orderCfg.RegisterFlags(fs, "order.")
	notifyCfg.RegisterFlags(fs, "notify.")
	reviewCfg.RegisterFlags(fs, "review.")
	invoiceCfg.RegisterFlags(fs, "invoice.")
	searchCfg.RegisterFlags(fs, "search.")
	analyticsCfg.RegisterFlags(fs, "analytics.")
	shopCfg.RegisterFlags(fs, "storefront.")
	gatewayCfg.RegisterFlags(fs, "gateway.")

	return []app.Service{
		{Name: "tenant", Validate: tenantCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "tenant", tenant.Migrations...)
			if err != nil {
				return nil, err
			}
			d := tenant.Deps{Deps: deps}
			// Signup creates the store's owner in identity; without it
			// signup answers 503 and everything else works.
			if hc, base, err := p.HTTPClient("identity"); err == nil {
				d.Owners = identityapi.NewClient(base, hc)
			}
			return tenant.New(ctx, tenantCfg, d)
		}},
		{Name: "identity", Validate: identityCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "identity", identity.Migrations...)
			if err != nil {
				return nil, err
			}
			// -redis keeps the web sessions and, unless -identity.redis
			// names another, counts failed logins.
			cfg := identityCfg
			cfg.Session.RedisURL = p.Config.Redis
			if cfg.Redis == "" {
				cfg.Redis = p.Config.Redis
			}
			d := identity.Deps{Deps: deps}
			// The plan's staff limit; without the tenant service, no limits.
			if hc, base, err := p.HTTPClient("tenant"); err == nil {
				d.PlanLimits = tenantapi.NewClient(base, hc)
			}
			return identity.New(ctx, cfg, d)
		}},
		{Name: "staff", Validate: staffCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "staff", staff.Migrations...)
			if err != nil {
				return nil, err
			}
			d := staff.Deps{Deps: deps}
			// Employees' account IDs are checked with identity; without it,
			// linking an employee to an account answers 503.
			if hc, base, err := p.HTTPClient("identity"); err == nil {
				d.Accounts = identityapi.NewClient(base, hc)
			}
			return staff.New(ctx, staffCfg, d)
		}},
		{Name: "catalog", Validate: catalogCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "catalog", catalog.Migrations...)
			if err != nil {
				return nil, err
			}
			d := catalog.Deps{Deps: deps}
			// The plan's product limit and the store's currency, which every
			// price must be in; without the tenant service, neither.
			if hc, base, err := p.HTTPClient("tenant"); err == nil {
				tc := tenantapi.NewClient(base, hc)
				d.Plans, d.Stores = tc, tc
			}
			return catalog.New(ctx, catalogCfg, d)
		}},
		{Name: "media", Validate: mediaCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "media", media.Migrations...)
			if err != nil {
				return nil, err
			}
			d := media.Deps{Deps: deps}
			// A product image's product is checked with the catalog before
			// anything is stored; without it, it is not.
			if hc, base, err := p.HTTPClient("catalog"); err == nil {
				d.Products = catalogapi.NewClient(base, hc)
			}
			cfg := mediaCfg
			cfg.Data = p.Config.Data
			return media.New(ctx, cfg, d)
		}},
		{Name: "pricing", Validate: pricingCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "pricing", pricing.Migrations...)
			if err != nil {
				return nil, err
			}
			// Catalog and tenant events reach pricing through deps.Bus; it
			// calls no other service.
			return pricing.New(ctx, pricingCfg, pricing.Deps{Deps: deps})
		}},
		{Name: "inventory", Validate: inventoryCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "inventory", inventory.Migrations...)
			if err != nil {
				return nil, err
			}
			d := inventory.Deps{Deps: deps}
			// The catalog client is only for seeding demo stock; without
			// the catalog service, no demo stock.
			if hc, base, err := p.HTTPClient("catalog"); err == nil {
				d.Catalog = catalogapi.NewClient(base, hc)
			}
			return inventory.New(ctx, inventoryCfg, d)
		}},
		{Name: "payment", Validate: paymentCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "payment", payment.Migrations...)
			if err != nil {
				return nil, err
			}
			// The fake provider runs by default in the laptop shape only,
			// and verifies its webhooks with a secret of the data
			// directory unless the operator sets one. Payment calls no
			// other service.
			cfg := paymentCfg
			cfg.Laptop = p.Config.Laptop()
			if cfg.FakeEnabled() && cfg.FakeWebhookSecret == "" {
				if cfg.FakeWebhookSecret, err = p.Secret("fake-webhook-secret", "whsec_"); err != nil {
					return nil, err
				}
			}
			return payment.New(ctx, cfg, payment.Deps{Deps: deps})
		}},
		{Name: "cart", Validate: cartCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "cart", cart.Migrations...)
			if err != nil {
				return nil, err
			}
			d := cart.Deps{Deps: deps}
			// Pricing quotes the carts' totals and checks their coupons and
			// destinations: the cart cannot run without it.
			hc, base, err := p.HTTPClient("pricing")
			if err != nil {
				return nil, err
			}
			d.Pricing = pricingapi.NewClient(base, hc)
			// A cart's currency is the store's; without the tenant service,
			// its first line's. Carts read it on every write, so from a copy
			// a few seconds old rather than a call each time.
			if thc, tbase, err := p.HTTPClient("tenant"); err == nil {
				d.Stores = tenantapi.NewStoreCache(tenantapi.NewClient(tbase, thc), 5*time.Second)
			}
			return cart.New(ctx, cartCfg, d)
		}},
		{Name: "order", Validate: orderCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "order", order.Migrations...)
			if err != nil {
				return nil, err
			}
			d := order.Deps{Deps: deps}
			// The checkout saga reserves stock, prices and redeems
			// coupons, authorizes payments and reads carts: every client
			// is required, and the order service does not start without
			// an address for each.
			for _, c := range []struct {
				name string
				set  func(hc *http.Client, base string)
			}{
				{"inventory", func(hc *http.Client, base string) { d.Inventory = inventoryapi.NewClient(base, hc) }},
				{"pricing", func(hc *http.Client, base string) { d.Pricing = pricingapi.NewClient(base, hc) }},
				{"payment", func(hc *http.Client, base string) { d.Payment = paymentapi.NewClient(base, hc) }},
				{"cart", func(hc *http.Client, base string) { d.Cart = cartapi.NewClient(base, hc) }},
			} {
				hc, base, err := p.HTTPClient(c.name)
				if err != nil {
					return nil, err
				}
				c.set(hc, base)
			}
			return order.New(ctx, orderCfg, d)
		}},
		{Name: "notify", Validate: notifyCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "notify", notify.Migrations...)
			if err != nil {
				return nil, err
			}
			// The events it sends as webhooks and emails reach notify
			// through deps.Bus. Emails show the store's name, logo and
			// language and link to its host (tenant), and the store's own
			// emails go to its owner (identity); without those services,
			// emails name the store by its ID and the owner's fail.
			d := notify.Deps{Deps: deps}
			if hc, base, err := p.HTTPClient("tenant"); err == nil {
				d.Stores = tenantapi.NewStoreCache(tenantapi.NewClient(base, hc), 10*time.Second)
			}
			if hc, base, err := p.HTTPClient("identity"); err == nil {
				d.Staff = identityapi.NewClient(base, hc)
			}
			// Invoice emails attach the stored PDF; without the invoice
			// service they carry the link to the order's page only.
			if hc, base, err := p.HTTPClient("invoice"); err == nil {
				d.Invoices = invoiceapi.NewClient(base, hc)
			}
			return notify.New(ctx, notifyCfg, d)
		}},
		{Name: "review", Validate: reviewCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "review", review.Migrations...)
			if err != nil {
				return nil, err
			}
			// Who bought what comes from order events through deps.Bus;
			// review calls no other service.
			return review.New(ctx, reviewCfg, review.Deps{Deps: deps})
		}},
		{Name: "invoice", Validate: invoiceCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "invoice", invoice.Migrations...)
			if err != nil {
				return nil, err
			}
			// Orders come from order events through deps.Bus. The seller's
			// legal details, time zone and when the store invoices come
			// from the tenant service; without it, documents name the
			// store by its ID.
			d := invoice.Deps{Deps: deps}
			if hc, base, err := p.HTTPClient("tenant"); err == nil {
				d.Stores = tenantapi.NewStoreCache(tenantapi.NewClient(base, hc), 10*time.Second)
			}
			return invoice.New(ctx, invoiceCfg, d)
		}},
		{Name: "search", Validate: searchCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "search", search.Migrations...)
			if err != nil {
				return nil, err
			}
			// Search reads catalog, inventory and review events through
			// deps.Bus and calls no other service. Each replica keeps its
			// own index, under its data directory unless told otherwise.
			cfg := searchCfg
			if cfg.IndexDir == "" {
				cfg.IndexDir = filepath.Join(p.Config.Data, "search")
			}
			return search.New(ctx, cfg, search.Deps{Deps: deps})
		}},
		{Name: "analytics", Validate: analyticsCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "analytics", analytics.Migrations...)
			if err != nil {
				return nil, err
			}
			// Analytics folds order, cart, catalog, inventory and tenant
			// events from deps.Bus into its log and read models; it calls
			// no other service.
			return analytics.New(ctx, analyticsCfg, analytics.Deps{Deps: deps})
		}},
		// The pages: they own no business data and call the APIs above as
		// their visitors. Their sessions take the platform's -session.*.
		{Name: "storefront", Validate: shopCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "storefront", storefront.Migrations...)
			if err != nil {
				return nil, err
			}
			c, err := newPageClients(p)
			if err != nil {
				return nil, err
			}
			cfg := shopCfg
			cfg.Session = identityCfg.Session
			d := storefront.Deps{Deps: deps, Tenants: c.tenants, Stores: c.stores,
				Catalog: c.catalog, Inventory: c.inventory, Cart: c.cart, Pricing: c.pricing, Orders: c.orders,
				Payments: c.payments, Identity: c.identity, Logins: c.logins, Changes: p.Changes, Reviews: c.reviews,
				Invoices: c.invoices}
			// Order pages follow their order's events, heard on the bus.
			if d.Live, err = p.Live(ctx, storefront.LiveTypes...); err != nil {
				return nil, err
			}
			// Search is called as the visitor too; without a search
			// service, the storefront has no search box.
			if hc, base, err := p.PublicHTTPClient("search"); err == nil {
				d.Search = searchapi.NewClient(base, hc)
			}
			return storefront.New(ctx, cfg, d)
		}},
		{Name: "admin", Validate: adminCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			deps, err := p.Deps(ctx, "admin", admin.Migrations...)
			if err != nil {
				return nil, err
			}
			c, err := newPageClients(p)
			if err != nil {
				return nil, err
			}
			cfg := adminCfg
			cfg.Session = identityCfg.Session
			cfg.MaxUpload = mediaCfg.MaxUpload
			d := admin.Deps{Deps: deps, Tenants: c.tenants, Stores: c.stores,
				Store: c.store, Identity: c.identity, Staff: c.staff, Catalog: c.catalog, Inventory: c.inventory,
				Cart: c.cart, Pricing: c.pricing, Orders: c.orders, Payments: c.payments, Logins: c.logins, Reviews: c.reviews,
				Webhooks: c.webhooks, Invoices: c.invoices}
			// The layout's notices follow the store's events, heard on
			// the bus.
			if d.Live, err = p.Live(ctx, admin.LiveTypes()...); err != nil {
				return nil, err
			}
			// The Analytics page reads the analytics reports as the
			// signed-in member; without the service it has none.
			if hc, base, err := p.PublicHTTPClient("analytics"); err == nil {
				d.Analytics = analyticsapi.NewClient(base, hc)
			}
			// Uploads go to the media service as the signed-in member;
			// without it the pages offer no upload forms.
			if hc, base, err := p.PublicHTTPClient("media"); err == nil {
				d.Media = mediaapi.NewClient(base, hc)
			}
			return admin.New(ctx, cfg, d)
		}},
		// The production shape's single entry: it forwards to the services
		// above, each named in -urls with its replicas, and runs only when
		// -services names it, alone.
		{Name: "gateway", OnlyNamed: true, Validate: gatewayCfg.Validate, New: func(ctx context.Context, p *app.Platform) (any, error) {
			if len(p.Config.Services) != 1 {
				return nil, errors.New("the gateway runs in a process of its own: -services=gateway")
			}
			d := gateway.Deps{Upstreams: map[string][]*url.URL{}, ServiceToken: p.Config.Web.ServiceToken,
				Registry: p.Registry, Log: p.Log("gateway"), AccessLog: p.Config.Web.AccessLog}
			for name, v := range p.Config.URLs {
				bases, err := app.Replicas(v)
				if err != nil {
					return nil, fmt.Errorf("-urls %s: %w", name, err)
				}
				d.Upstreams[name] = bases
			}
			// -redis shares the rate limits' buckets between replicas of
			// the gateway; without it each keeps its own.
			if p.Config.Redis != "" {
				opts, err := redis.ParseURL(p.Config.Redis)
				if err != nil {
					return nil, fmt.Errorf("-redis: %w", err)
				}
				d.Redis = redis.NewClient(opts)
			}
			return gateway.New(ctx, gatewayCfg, d)
		}},
	}
}

// serviceNames lists the names of every service, for validation and help.
func serviceNames(list []app.Service) []string {
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.Name
	}
	return names
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/mercato/mercato/internal/app"
	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// pageClients are what the storefront and the admin render from. The
// store directory and the store's settings (name, colours, locale) are
// read with the deployment's token, like any service reads them; every
// other API is called with no credentials of the deployment's: a page
// calls it as its visitor, a guest or the signed-in person's token.
type pageClients struct {
	tenants  *tenantapi.Client
	stores   page.StoreReader
	store    *tenantapi.Client
	identity *identityapi.Client
	// logins is identity's client with the deployment's service token,
	// for sign-ins only: identity believes the browser's address
	// (identityapi.LoginFor, StaffLoginFor) from the deployment's
	// processes alone.
	logins    *identityapi.Client
	staff     *staffapi.Client
	catalog   *catalogapi.Client
	inventory *inventoryapi.Client
	cart      *cartapi.Client
	pricing   *pricingapi.Client
	orders    *orderapi.Client
	payments  *paymentapi.Client
	// webhooks is nil when the notify service has no address here.
	webhooks *notifyapi.Client
	// reviews is nil when no review service is reachable: the pages then
	// show no reviews.
	reviews *reviewapi.Client
	// invoices is nil when no invoice service is reachable: the pages
	// then show no invoices.
	invoices *invoiceapi.Client
}

func newPageClients(p *app.Platform) (pageClients, error) {
	var c pageClients
	hc, base, err := p.HTTPClient("tenant")
	if err != nil {
		return c, err
	}
	c.tenants = tenantapi.NewClient(base, hc)
	hc, base, err = p.HTTPClient("identity")
	if err != nil {
		return c, err
	}
	c.logins = identityapi.NewClient(base, hc)
	// A change of a store's settings shows on its pages within 10 s.
	cache := tenantapi.NewStoreCache(c.tenants, 10*time.Second)
	c.stores = func(ctx context.Context) (page.Store, error) {
		s, err := cache.Store(ctx)
		if err != nil {
			return page.Store{}, err
		}
		return page.Store{ID: s.ID, Name: s.Name, Logo: s.Logo, Currency: s.Currency, Locale: s.Locale,
			TaxInclusive: s.TaxInclusive, BrandColor: s.BrandColor, AccentColor: s.AccentColor}, nil
	}
	public := func(name string) (*http.Client, string) {
		if err != nil {
			return nil, ""
		}
		var hc *http.Client
		var base string
		hc, base, err = p.PublicHTTPClient(name)
		if err != nil {
			err = fmt.Errorf("the pages call the %s API: %w", name, err)
		}
		return hc, base
	}
	c.store = tenantapi.NewClient(withBase(public("tenant")))
	c.identity = identityapi.NewClient(withBase(public("identity")))
	c.staff = staffapi.NewClient(withBase(public("staff")))
	c.catalog = catalogapi.NewClient(withBase(public("catalog")))
	c.inventory = inventoryapi.NewClient(withBase(public("inventory")))
	c.cart = cartapi.NewClient(withBase(public("cart")))
	c.pricing = pricingapi.NewClient(withBase(public("pricing")))
	c.orders = orderapi.NewClient(withBase(public("order")))
	c.payments = paymentapi.NewClient(withBase(public("payment")))
	// The webhook pages need the notify service; without it, the admin
	// has none.
	if hc, base, nerr := p.PublicHTTPClient("notify"); nerr == nil {
		c.webhooks = notifyapi.NewClient(base, hc)
	}
	if hc, base, rerr := p.PublicHTTPClient("review"); rerr == nil {
		c.reviews = reviewapi.NewClient(base, hc)
	}
	if hc, base, ierr := p.PublicHTTPClient("invoice"); ierr == nil {
		c.invoices = invoiceapi.NewClient(base, hc)
	}
	return c, err
}

// withBase swaps a (client, base) pair into NewClient's (base, client)
// order.
func withBase(hc *http.Client, base string) (string, *http.Client) { return base, hc }

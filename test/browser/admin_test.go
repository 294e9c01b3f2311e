package browser

// The admin's flows in Chromium: the owner's first-run setup, a product
// made and published from the admin that the shop then shows, a guest's
// order shipped from its admin page (the guest's order page shows the
// tracking number); a support member who finds no refund form on an order
// the owner could refund; and a second store, made by signup, with its own
// admin and its own empty storefront beside the demo's. The admin pages
// passed are checked with checkPage.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// adminPassword is the password of every staff account the tests make.
const adminPassword = "correct horse battery staple"

// guestOrder places an order of 2 of sku in the demo store as a guest
// through the API and waits until it is confirmed; it returns the order's
// ID and the token that opens its page. The checkout refuses the demo SKUs
// until the services learned them after the start, so a refusal is tried
// again, for a while.
func (s *shop) guestOrder(sku string) (id, token string) {
	s.t.Helper()
	body := map[string]any{
		"items": []map[string]any{{"sku": sku, "quantity": 2}},
		"email": "ada@example.com",
		"shipping_address": map[string]any{
			"name": "Ada Lovelace", "line1": "12 Analytical Row", "city": "Berlin", "postal_code": "10115", "country": "DE",
		},
		"payment": map[string]any{"provider": "fake", "token": "tok_visa"},
	}
	var o struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	deadline := time.Now().Add(shopWait)
	for attempt := 0; ; attempt++ {
		res := s.p.Call(http.MethodPost, "/api/v1/checkout", body, map[string]string{"Host": "localhost",
			"Idempotency-Key": fmt.Sprintf("browser-admin-%d-%d", time.Now().UnixNano(), attempt)})
		if res.Status == http.StatusCreated {
			res.JSON(s.t, &o)
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("checkout of %s: %d %s", sku, res.Status, res.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	path := "/api/v1/orders/" + url.PathEscape(o.ID) + "?token=" + url.QueryEscape(o.Token)
	for {
		res := s.p.Call(http.MethodGet, path, nil, map[string]string{"Host": "localhost"})
		if res.Status == http.StatusOK && strings.Contains(string(res.Body), `"status":"confirmed"`) {
			return o.ID, o.Token
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the order %s was not confirmed: %d %s", o.ID, res.Status, res.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// inviteStaff invites email with role to the store at host through the
// API with hdr's credentials (the admin token or an owner's), and accepts
// the invitation with adminPassword.
func (s *shop) inviteStaff(host string, hdr map[string]string, email, role, name string) {
	s.t.Helper()
	hdr["Host"] = host
	res := s.p.Call(http.MethodPost, "/api/v1/admin/staff/invitations", map[string]string{"email": email, "role": role, "name": name}, hdr)
	if res.Status != http.StatusCreated && res.Status != http.StatusOK {
		s.t.Fatalf("invite %s: %d %s", email, res.Status, res.Body)
	}
	var inv struct {
		Token string `json:"token"`
	}
	res.JSON(s.t, &inv)
	res = s.p.Call(http.MethodPost, "/api/v1/staff/invitations/accept",
		map[string]string{"token": inv.Token, "password": adminPassword, "name": name}, map[string]string{"Host": host})
	if res.Status != http.StatusOK && res.Status != http.StatusCreated {
		s.t.Fatalf("accept the invitation of %s: %d %s", email, res.Status, res.Body)
	}
}

// signInAdmin signs in at the admin sign-in page open in the tab and
// waits for the page at want with an element matching sel.
func signInAdmin(t *testing.T, ctx context.Context, email, want, sel string) {
	t.Helper()
	arrive(t, ctx, "/admin/sign-in", "form#sign-in")
	run(t, ctx, "sign in as "+email,
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), adminPassword),
		chromedp.Click(chromedp.CSS("#sign-in-submit")))
	arrive(t, ctx, want, sel)
}

// field is the CSS selector of the form field named name (the admin's
// field names have dots: "v0.sku").
func field(name string) string { return `[id="f-` + name + `"]` }

// TestAdminProductAndShipping: the owner sets the demo store up in the
// browser with the admin token, creates a product with a variant and its
// price as a draft, publishes it, and the shop shows it; records stock for
// it; then ships a guest's order from its admin page with a carrier and a
// tracking number, which the guest's order page shows. It runs twice,
// with JavaScript on and off: the admin works as HTML and forms.
func TestAdminProductAndShipping(t *testing.T) {
	chromium(t)
	t.Parallel()
	for _, noScript := range []bool{false, true} {
		t.Run(map[bool]string{false: "script", true: "noscript"}[noScript], func(t *testing.T) {
			t.Parallel()
			adminProductAndShipping(t, noScript)
		})
	}
}

func adminProductAndShipping(t *testing.T, noScript bool) {
	s := startShop(t)
	shot := func(name string) string {
		if noScript {
			return name + "-nojs"
		}
		return name
	}
	// The admin token stops working for the store once it has an owner:
	// the stock for the guest's order is set before.
	s.setStock(shopSKU, 20)
	b := newBrowser(t, browserOptions{NoScript: noScript, Timeout: 6 * time.Minute})
	ctx := b.ctx
	const (
		title = "Browser Test Teapot"
		sku   = "BT-POT-1"
		price = "24.90"
	)

	// First run: the admin sends a guest to sign in, whose page leads to
	// the setup.
	run(t, ctx, "open the admin", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/admin/"))
	arrive(t, ctx, "/admin/sign-in", `a[href="/admin/setup"]`)
	checkPage(t, ctx, shot("admin-sign-in"))
	run(t, ctx, "follow the link to the setup", chromedp.Click(chromedp.CSS(`main a[href="/admin/setup"]`)))
	arrive(t, ctx, "/admin/setup", "form#setup")
	checkPage(t, ctx, shot("admin-setup"))
	run(t, ctx, "set up the owner",
		chromedp.SendKeys(chromedp.CSS("#f-admin_token"), s.p.Token),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Olga Owner"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "olga@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), adminPassword),
		chromedp.Click(chromedp.CSS("#setup-submit")))
	arrive(t, ctx, "/admin/", "#h-revenue")
	if who := text(t, ctx, "header.top nav"); !strings.Contains(who, "Olga Owner (owner)") {
		t.Errorf("the admin's header reads %q, want the owner named", who)
	}
	checkPage(t, ctx, shot("admin-home"))

	// The products: the list, the form, a draft made, then published.
	run(t, ctx, "follow Products", chromedp.Click(chromedp.CSS(`.admin-nav a[href="/admin/products"]`)))
	arrive(t, ctx, "/admin/products", "#new-product")
	checkPage(t, ctx, shot("admin-products"))
	run(t, ctx, "follow New product", chromedp.Click(chromedp.CSS("#new-product")))
	arrive(t, ctx, "/admin/products/new", "#product-form")
	checkPage(t, ctx, shot("admin-product-form"))
	run(t, ctx, "fill in the product",
		chromedp.SendKeys(chromedp.CSS(field("title")), title),
		chromedp.SendKeys(chromedp.CSS(field("description")), "A teapot the browser test made."),
		chromedp.SendKeys(chromedp.CSS(field("opt0")), "Size"),
		chromedp.SendKeys(chromedp.CSS(field("v0.sku")), sku),
		chromedp.SendKeys(chromedp.CSS(field("v0.price")), price),
		chromedp.SendKeys(chromedp.CSS(field("v0.o0")), "1 litre"),
		chromedp.Click(chromedp.CSS("#save-product")))
	where := arrive(t, ctx, "/admin/products/", "#publish")
	if st := text(t, ctx, "#product-status"); st != "draft" {
		t.Errorf("the new product's status is %q, want draft", st)
	}
	if count(t, ctx, "#shop-link") != 0 {
		t.Errorf("the draft at %s links to the shop", where)
	}
	run(t, ctx, "publish", chromedp.Click(chromedp.CSS("#publish button")))
	arrive(t, ctx, where, "#shop-link")
	if st := text(t, ctx, "#product-status"); st != "active" {
		t.Errorf("the published product's status is %q, want active", st)
	}
	if flash := text(t, ctx, "main .alert"); !strings.Contains(flash, "Published") {
		t.Errorf("publishing says %q", flash)
	}
	checkPage(t, ctx, shot("admin-product"))

	// Its stock: none yet, then an adjustment.
	run(t, ctx, "follow the SKU's stock link", chromedp.Click(chromedp.CSS(`main a[href="/admin/stock/`+sku+`"]`)))
	arrive(t, ctx, "/admin/stock/"+sku, "#no-stock")
	run(t, ctx, "adjust the stock",
		chromedp.SendKeys(chromedp.CSS(field("delta")), "5"),
		chromedp.SendKeys(chromedp.CSS(field("reason")), "first delivery"),
		chromedp.Click(chromedp.CSS("#adjust-submit")))
	arrive(t, ctx, "/admin/stock/"+sku, "#ledger")
	if n := text(t, ctx, "#on-hand"); n != "5" {
		t.Errorf("after adding 5 the stock page shows %q on hand", n)
	}
	if ledger := text(t, ctx, "#ledger"); !strings.Contains(ledger, "first delivery") {
		t.Errorf("the ledger lacks the adjustment: %q", ledger)
	}
	checkPage(t, ctx, shot("admin-stock"))

	// The shop shows it, in the same browser.
	run(t, ctx, "back to the product", chromedp.Navigate(s.base+where))
	arrive(t, ctx, where, "#shop-link")
	run(t, ctx, "follow See it in the shop", chromedp.Click(chromedp.CSS("#shop-link")))
	shopPath := arrive(t, ctx, "/p/", "main h1")
	if shopPath != "/p/browser-test-teapot" {
		t.Errorf("the shop link went to %s", shopPath)
	}
	if h := text(t, ctx, "main h1"); h != title {
		t.Errorf("the shop's product page is titled %q, want %q", h, title)
	}
	if page := text(t, ctx, "main"); !strings.Contains(page, "24.90") {
		t.Errorf("the shop's product page lacks the price %s:\n%s", price, page)
	}

	// A guest's order, shipped from its admin page.
	id, token := s.guestOrder(shopSKU)
	run(t, ctx, "open the admin's orders", chromedp.Navigate(s.base+"/admin/orders"))
	arrive(t, ctx, "/admin/orders", `a[href="/admin/orders/`+id+`"]`)
	checkPage(t, ctx, shot("admin-orders"))
	run(t, ctx, "open the order", chromedp.Click(chromedp.CSS(`a[href="/admin/orders/`+id+`"]`)))
	arrive(t, ctx, "/admin/orders/"+id, "#ship-form")
	if st := text(t, ctx, "#order-status"); !strings.EqualFold(st, "confirmed") {
		t.Errorf("the order's admin page shows the status %q, want confirmed", st)
	}
	checkPage(t, ctx, shot("admin-order"))
	const tracking = "JD014600006281230704"
	run(t, ctx, "ship the order",
		chromedp.SendKeys(chromedp.CSS(field("carrier")), "DHL"),
		chromedp.SendKeys(chromedp.CSS(field("tracking_number")), tracking),
		chromedp.Click(chromedp.CSS("#ship-submit")))
	arrive(t, ctx, "/admin/orders/"+id, ".shipment")
	if flash := text(t, ctx, "main .alert"); !strings.Contains(flash, tracking) {
		t.Errorf("shipping says %q", flash)
	}
	if sh := text(t, ctx, ".shipment h3"); !strings.Contains(sh, "DHL") || !strings.Contains(sh, tracking) {
		t.Errorf("the shipment reads %q", sh)
	}
	checkPage(t, ctx, shot("admin-order-shipped"))

	// The guest's order page has the tracking number.
	run(t, ctx, "open the guest's order page", chromedp.Navigate(s.base+"/orders/"+id+"?token="+url.QueryEscape(token)))
	arrive(t, ctx, "/orders/"+id, ".tracking")
	if got := text(t, ctx, ".tracking"); got != tracking {
		t.Errorf("the guest's order page shows the tracking number %q, want %q", got, tracking)
	}
	if status := text(t, ctx, "#order-status"); status != "Shipped" {
		t.Errorf("the guest's order page shows the status %q, want Shipped", status)
	}
	b.checkOrigin(t, s.base)
}

// TestAdminSupportCannotRefund: on a shipped order, whose admin page
// offers the owner a refund, a support member who signs in finds the order
// and its shipment but no refund form, and no ship form.
func TestAdminSupportCannotRefund(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	s.setStock(shopSKU, 20)
	// The admin token invites the support member and makes the owner:
	// once the owner exists it works no more.
	s.inviteStaff("localhost", s.p.Admin(), "sam@example.com", "support", "Sam Support")
	res := s.p.Call(http.MethodPost, "/api/v1/admin/identity/owners",
		map[string]string{"email": "olga@example.com", "password": adminPassword, "name": "Olga Owner"}, s.p.Admin("Host", "localhost"))
	if res.Status != http.StatusCreated && res.Status != http.StatusOK {
		t.Fatalf("create the owner: %d %s", res.Status, res.Body)
	}
	var owner struct {
		AccessToken string `json:"access_token"`
	}
	res.JSON(t, &owner)
	id, _ := s.guestOrder(shopSKU)
	const tracking = "JD014600006281239999"
	res = s.p.Call(http.MethodPost, "/api/v1/admin/orders/"+url.PathEscape(id)+"/shipments", map[string]string{"carrier": "DHL", "tracking_number": tracking},
		map[string]string{"Host": "localhost", "Authorization": "Bearer " + owner.AccessToken, "Idempotency-Key": "browser-admin-support-ship"})
	if res.Status != http.StatusCreated && res.Status != http.StatusOK {
		t.Fatalf("ship the order: %d %s", res.Status, res.Body)
	}

	b := newBrowser(t, browserOptions{Timeout: 4 * time.Minute})
	ctx := b.ctx
	orderPath := "/admin/orders/" + id

	// The owner is offered the refund: the form is there for those who
	// may use it.
	run(t, ctx, "open the order's admin page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+orderPath))
	signInAdmin(t, ctx, "olga@example.com", orderPath, "#order-status")
	if count(t, ctx, "#refund-form") != 1 {
		t.Fatalf("the owner is offered no refund on the shipped order:\n%s", text(t, ctx, "main"))
	}
	run(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`header form[action="/admin/sign-out"] button`)))
	arrive(t, ctx, "/admin/sign-in", "form#sign-in")

	// Support: the order, the shipment, no refund, no shipping.
	run(t, ctx, "open the order's admin page again", chromedp.Navigate(s.base+orderPath))
	signInAdmin(t, ctx, "sam@example.com", orderPath, "#order-status")
	if who := text(t, ctx, "header.top nav"); !strings.Contains(who, "Sam Support (support)") {
		t.Errorf("the admin's header reads %q, want the support member named", who)
	}
	if sh := text(t, ctx, ".shipment h3"); !strings.Contains(sh, tracking) {
		t.Errorf("support's order page shows the shipment %q, want %s", sh, tracking)
	}
	if n := count(t, ctx, "#refund-form"); n != 0 {
		t.Errorf("support is offered the refund form")
	}
	if n := count(t, ctx, `#ship-form, form[action$="/refunds"]`); n != 0 {
		t.Errorf("support is offered %d ship or refund forms", n)
	}
	checkPage(t, ctx, "admin-order-support")
	b.checkOrigin(t, s.base)
}

// TestAdminSecondStore: a store made by signup at the subdomain tea has
// its admin at tea.localhost, where its owner signs in with the signup's
// email and password and sees the admin's home; tea.localhost is its own
// storefront, with no products yet, while localhost is still the demo.
func TestAdminSecondStore(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	const storeName, email = "Tea & Co", "owner@tea.example"
	res := s.p.Call(http.MethodPost, "/api/v1/tenants", map[string]string{"store_name": storeName, "subdomain": "tea",
		"email": email, "password": adminPassword}, map[string]string{"Idempotency-Key": "browser-admin-tea"})
	if res.Status != http.StatusCreated {
		t.Fatalf("sign up the store: %d %s", res.Status, res.Body)
	}
	u, err := url.Parse(s.base)
	if err != nil {
		t.Fatal(err)
	}
	tea := "http://tea.localhost:" + u.Port()
	b := newBrowser(t, browserOptions{Timeout: 4 * time.Minute})
	ctx := b.ctx

	run(t, ctx, "open the tea store's admin", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(tea+"/admin/"))
	signInAdmin(t, ctx, email, "/admin/", "#h-revenue")
	if brand := text(t, ctx, "header.top .brand"); !strings.Contains(brand, storeName) {
		t.Errorf("the tea store's admin is branded %q, want %q", brand, storeName)
	}
	if who := text(t, ctx, "header.top nav"); !strings.Contains(who, "(owner)") {
		t.Errorf("the tea store's admin header reads %q, want its owner", who)
	}
	checkPage(t, ctx, "admin-home-tea")

	run(t, ctx, "open the tea store's shop", chromedp.Navigate(tea+"/"))
	arrive(t, ctx, "/", "#h-new")
	if h := text(t, ctx, "main h1"); h != storeName {
		t.Errorf("the tea store's home is titled %q, want %q", h, storeName)
	}
	if n := count(t, ctx, ".product-card"); n != 0 {
		t.Errorf("the new tea store's home shows %d products", n)
	}
	if page := text(t, ctx, "main"); !strings.Contains(page, "There are no products yet") {
		t.Errorf("the tea store's home has no empty state:\n%s", page)
	}
	checkPage(t, ctx, "home-tea")
	b.checkOrigin(t, tea)

	// The demo store, at localhost, is as it was.
	run(t, ctx, "open the demo store's shop", chromedp.Navigate(s.base+"/"))
	arrive(t, ctx, "/", "a.product-card")
	if h := text(t, ctx, "main h1"); h == storeName {
		t.Errorf("localhost shows the tea store")
	}
	if n := count(t, ctx, "a.product-card"); n == 0 {
		t.Errorf("the demo store's home shows no products")
	}
}

// TestAdminEveryPage: every section of the back office, signed in as the
// owner, at both widths, without sideways scrolling or a serious or
// critical accessibility violation. The flows above check the pages they
// pass; this one the rest.
func TestAdminEveryPage(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	b := newBrowser(t, browserOptions{Timeout: 6 * time.Minute})
	ctx := b.ctx
	run(t, ctx, "open the setup", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/admin/setup"))
	arrive(t, ctx, "/admin/setup", "form#setup")
	run(t, ctx, "set up the owner",
		chromedp.SendKeys(chromedp.CSS("#f-admin_token"), s.p.Token),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Olga Owner"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "olga@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), adminPassword),
		chromedp.Click(chromedp.CSS("#setup-submit")))
	arrive(t, ctx, "/admin/", "#h-revenue")
	for _, path := range []string{
		"/admin/discounts", "/admin/discounts/new", "/admin/tax-rates", "/admin/tax-rates/new",
		"/admin/shipping-methods", "/admin/shipping-methods/new", "/admin/staff", "/admin/staff/shifts",
		"/admin/staff/attendance", "/admin/staff/announcements", "/admin/api-keys", "/admin/settings",
		"/admin/products/new", "/admin/stock", "/admin/reviews", "/admin/webhooks", "/admin/webhooks/deliveries",
		"/admin/emails", "/admin/import-export",
	} {
		run(t, ctx, "open "+path, chromedp.Navigate(s.base+path))
		arrive(t, ctx, path, "main h1")
		checkPage(t, ctx, "admin"+strings.ReplaceAll(path[len("/admin"):], "/", "-"))
	}
	b.checkOrigin(t, s.base)
}

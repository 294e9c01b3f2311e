package browser

// The storefront's flows in Chromium: a guest's purchase from the home
// page to the order page (and a declined card after it), the checkout with
// the keyboard alone, the purchase with JavaScript off, and a customer from
// registration to sign-out. Every page the flows pass is checked with
// checkPage (screenshots, no sideways scrolling, axe-core).
//
// Each test starts its own mercato (the demo store answers at localhost)
// and browses it as http://localhost:<port>, checking the business side
// through the admin API with the harness's admin token.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mercato/mercato/test/harness"
)

// The demo product the flows buy: Dark Horse Espresso in the espresso
// category, whose 1 kg whole-bean variant costs more than its first one,
// so the price on the page tells which variant is chosen.
const (
	shopCategory = "espresso"
	shopProduct  = "dark-horse-espresso"
	shopSKU      = "MC-001-1K-WB"
)

// shopWait bounds one wait for a page or an element: generous, for a busy
// 2-core machine.
const shopWait = time.Minute

// shop is a running mercato whose demo store the browser visits.
type shop struct {
	t    *testing.T
	p    *harness.Proc
	base string // http://localhost:<port>: the demo store's pages
}

// startShop starts mercato with a fresh data directory.
func startShop(t *testing.T) *shop {
	t.Helper()
	p := harness.Start(t, binary, nil, "-data="+t.TempDir())
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatalf("the server's URL %q: %v", p.URL, err)
	}
	return &shop{t: t, p: p, base: "http://localhost:" + u.Port()}
}

// admin calls the admin API of the demo store with the admin token and
// fails the test unless the answer has status want.
func (s *shop) admin(method, path string, body any, want int) harness.Response {
	s.t.Helper()
	res := s.p.Call(method, path, body, s.p.Admin("Host", "localhost"))
	if res.Status != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, want)
	}
	return res
}

// stockLevel is what the inventory admin API says of a SKU.
type stockLevel struct {
	OnHand    int64 `json:"on_hand"`
	Reserved  int64 `json:"reserved"`
	Available int64 `json:"available"`
}

// stock reads sku's stock.
func (s *shop) stock(sku string) stockLevel {
	s.t.Helper()
	var l stockLevel
	s.admin(http.MethodGet, "/api/v1/admin/inventory/"+url.PathEscape(sku), nil, http.StatusOK).JSON(s.t, &l)
	return l
}

// setStock makes sku's available stock n (the demo store has only a few
// of some SKUs).
func (s *shop) setStock(sku string, n int64) {
	s.t.Helper()
	if l := s.stock(sku); l.Available != n {
		s.admin(http.MethodPost, "/api/v1/admin/inventory/"+url.PathEscape(sku)+"/adjustments",
			map[string]any{"delta": n - l.Available, "reason": "storefront browser test"}, http.StatusOK)
	}
}

// shopOrder is what the order admin API says of an order.
type shopOrder struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Email          string `json:"email"`
	CustomerID     string `json:"customer_id"`
	Coupon         string `json:"coupon"`
	ShippingMethod string `json:"shipping_method"`
	Discount       struct {
		Amount int64 `json:"amount"`
	} `json:"discount"`
	ShippingAddress struct {
		Name    string `json:"name"`
		Line2   string `json:"line2"`
		Country string `json:"country"`
	} `json:"shipping_address"`
	Lines []struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	} `json:"lines"`
}

// order reads an order.
func (s *shop) order(id string) shopOrder {
	s.t.Helper()
	var o shopOrder
	s.admin(http.MethodGet, "/api/v1/admin/orders/"+url.PathEscape(id), nil, http.StatusOK).JSON(s.t, &o)
	return o
}

// variantPrice is the catalog's price of sku of product slug, in minor
// units.
func (s *shop) variantPrice(slug, sku string) int64 {
	s.t.Helper()
	var p struct {
		Variants []struct {
			SKU   string `json:"sku"`
			Price struct {
				Amount int64 `json:"amount"`
			} `json:"price"`
		} `json:"variants"`
	}
	res := s.p.Call(http.MethodGet, "/api/v1/products/"+slug, nil, map[string]string{"Host": "localhost"})
	if res.Status != http.StatusOK {
		s.t.Fatalf("product %s: %d %s", slug, res.Status, res.Body)
	}
	res.JSON(s.t, &p)
	for _, v := range p.Variants {
		if v.SKU == sku {
			return v.Price.Amount
		}
	}
	s.t.Fatalf("product %s has no variant %s", slug, sku)
	return 0
}

// run runs the steps in the tab, failing the test with what was being
// done.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// pageStateJS gives the tab's path and query once it shows the page at a
// path with an element matching a selector, and then marks that document
// (data-arrived on <html>); "" before.
const pageStateJS = `(() => {
	if (document.readyState === "loading") return "";
	const want = %s, sel = %s;
	if (want.endsWith("/") ? !location.pathname.startsWith(want) : location.pathname !== want) return "";
	if (!document.querySelector(sel)) return "";
	document.documentElement.dataset.arrived = %s;
	return location.pathname + location.search;
})()`

// arrive waits, at most shopWait, until the tab shows the page at path
// (the query aside; a path ending in / is a prefix: "/orders/" is any
// order's page) and on it an element matching sel, and returns the
// page's path and query. It polls, as a page that a click or a form
// brings replaces the one before at a time of its own.
//
// Then it waits until chromedp's own copy of the document, which element
// actions (SetValue, SendKeys, Click) query and which it keeps from the
// browser's events, is that page too, so that no action lands on the page
// before: the mark on the document tells the two apart.
func arrive(t *testing.T, ctx context.Context, path, sel string) string {
	t.Helper()
	p, _ := json.Marshal(path)
	s, _ := json.Marshal(sel)
	mark := rand.Text()
	m, _ := json.Marshal(mark)
	where, err := poll(ctx, fmt.Sprintf(pageStateJS, p, s, m), shopWait)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
		t.Fatalf("wait for %s with %s: %v; the tab is at %s, showing:\n%s", path, sel, err, loc, body)
	}
	wctx, cancel := context.WithTimeout(ctx, shopWait)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitReady(chromedp.CSS(`html[data-arrived="`+mark+`"]`))); err != nil {
		t.Fatalf("wait for chromedp's view of %s to be the page at %s: %v", sel, where, err)
	}
	return where
}

// poll evaluates js (an expression giving a string) in the tab every
// tenth of a second until it gives a non-empty string, at most d. A page
// being replaced meanwhile is no error: the next try reads the new one.
func poll(ctx context.Context, js string, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err == nil && v != "" {
			return v, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("not within %s (last error: %v)", d, err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// text is the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// count is how many elements match sel.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	q, _ := json.Marshal(sel)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+string(q)+`).length`))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// value is the current value of the form control matching sel.
func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read the value of %s: %v", sel, err)
	}
	return v
}

// amount is the minor units in the <data> of the element matching sel.
func amount(t *testing.T, ctx context.Context, sel string) int64 {
	t.Helper()
	q, _ := json.Marshal(sel + " data")
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+string(q)+`) || {}).value || ""`))
	if err != nil || v == "" {
		t.Fatalf("no amount in %s (%v)", sel, err)
	}
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil {
		t.Fatalf("the amount in %s is %q: %v", sel, v, err)
	}
	return n
}

// brokenJS lists the text of the elements matching %s whose text runs
// over more than one line.
const brokenJS = `(() => {
	const out = [];
	for (const el of document.querySelectorAll(%s)) {
		const r = document.createRange();
		r.selectNodeContents(el);
		const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
		if (tops.size > 1) out.push(el.textContent.trim());
	}
	return out;
})()`

// checkOneLine checks, at a phone's width, that the text of every element
// matching sel stays on one line: a table's headings and amounts, which a
// squeezed column once broke into "Qt / y" and "€ / 45. / 90".
func checkOneLine(t *testing.T, ctx context.Context, page, sel string) {
	t.Helper()
	q, _ := json.Marshal(sel)
	run(t, ctx, "set a phone's width", chromedp.EmulateViewport(375, 812))
	broken, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(brokenJS, q)))
	if err != nil {
		t.Fatalf("measure the lines of %s: %v", sel, err)
	}
	for _, b := range broken {
		t.Errorf("the %s page at 375px breaks %q over lines", page, b)
	}
	run(t, ctx, "set a laptop's width again", chromedp.EmulateViewport(1280, 900))
}

// addToCart presses the product page's Add to cart, with quantity, and
// waits for the cart. The cart service learns the demo products from the
// catalog's events after the start: until it has, it refuses their SKUs
// (the product page says so, and nothing is made), so the product page at
// productURL is opened again and the add tried again, for a while.
func addToCart(t *testing.T, ctx context.Context, productURL, quantity string) {
	t.Helper()
	deadline := time.Now().Add(shopWait)
	for {
		run(t, ctx, "set the quantity", chromedp.SetValue(chromedp.CSS("#f-quantity"), quantity))
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#f-quantity").value`)); err != nil || got != quantity {
			t.Fatalf("the page's quantity is %q (%v) after setting it to %s", got, err, quantity)
		}
		run(t, ctx, "press Add to cart", chromedp.Click(chromedp.CSS("#add-button")))
		where, err := poll(ctx, `(() => {
			if (document.readyState === "loading") return "";
			if (location.pathname === "/cart" && document.querySelector(".cart-line")) return "cart";
			return document.querySelector("#e-sku") ? "refused" : "";
		})()`, shopWait)
		if err != nil {
			t.Fatalf("add to cart: neither the cart nor a refusal came: %v", err)
		}
		if where == "cart" {
			arrive(t, ctx, "/cart", ".cart-line")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("add to cart: the SKU was still refused after %s: %s", shopWait, text(t, ctx, "#e-sku"))
		}
		run(t, ctx, "open the product page again", chromedp.Navigate(productURL))
		arrive(t, ctx, mustPath(t, productURL), "#add-button")
	}
}

// mustPath is raw's path.
func mustPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u.Path
}

// checkoutForm is what a guest types into the checkout.
type checkoutForm struct {
	email, name, line1, postal, city, country, method, card string
}

// fill types the address into the open checkout form, picks the country
// and the delivery, and the test card, with the mouse (clicks) and the
// keyboard (typing). An empty email is left as the page has it.
func (f checkoutForm) fill(t *testing.T, ctx context.Context) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{}
	if f.email != "" {
		steps = append(steps, chromedp.Clear(chromedp.CSS("#f-email")), chromedp.SendKeys(chromedp.CSS("#f-email"), f.email))
	}
	steps = append(steps,
		chromedp.SendKeys(chromedp.CSS("#f-name"), f.name),
		chromedp.SendKeys(chromedp.CSS("#f-line1"), f.line1),
		chromedp.SendKeys(chromedp.CSS("#f-postal_code"), f.postal),
		chromedp.SendKeys(chromedp.CSS("#f-city"), f.city),
		chromedp.SetValue(chromedp.CSS("#f-country"), f.country),
		chromedp.SetValue(chromedp.CSS("#f-shipping_method"), f.method),
		chromedp.Click(chromedp.CSS("#pay-"+f.card)),
	)
	run(t, ctx, "fill in the checkout", steps...)
}

// shopOrderRe is the address of an order page the checkout leads to: the
// order's ID and the token that opens it.
var shopOrderRe = regexp.MustCompile(`^/orders/([0-9a-f-]+)\?token=[A-Za-z0-9_-]+$`)

// TestStorefrontGuestBuys: a guest walks from the home page through a
// category to a product, chooses a variant, adds it to the cart, applies a
// coupon, is refused at the checkout for what is missing, fills it in,
// pays with the approved test card and lands on the order page, which
// shows the order confirmed, with the coupon's discount. A second purchase
// with the declined card shows the decline on the checkout page, keeps the
// cart's lines and reserves nothing. Every page passed is checked, and a
// page that is not there too (the 404); no page asks another origin.
func TestStorefrontGuestBuys(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	s.setStock(shopSKU, 20)
	s.admin(http.MethodPost, "/api/v1/admin/pricing/discounts", map[string]any{"name": "Browser test: 10% off", "code": "BROWSER10",
		"kind": "percentage", "percent_bp": 1000}, http.StatusCreated)
	b := newBrowser(t, browserOptions{Timeout: 5 * time.Minute})
	ctx := b.ctx

	// Home → the category (from the home page's list) → the product.
	run(t, ctx, "open the home page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/"))
	arrive(t, ctx, "/", "#h-new")
	checkPage(t, ctx, "home")
	run(t, ctx, "follow the category link", chromedp.Click(chromedp.CSS(`.cat-list a[href="/c/`+shopCategory+`"]`)))
	arrive(t, ctx, "/c/"+shopCategory, `a.product-card[href="/p/`+shopProduct+`"]`)
	checkPage(t, ctx, "category")
	run(t, ctx, "follow the product card", chromedp.Click(chromedp.CSS(`a.product-card[href="/p/`+shopProduct+`"]`)))
	arrive(t, ctx, "/p/"+shopProduct, "#variant-form")
	checkPage(t, ctx, "product")

	// The variant: chosen in the list, which shows it at once (the page's
	// script sends the form on a change; SetValue fires one), its price
	// on the page.
	run(t, ctx, "choose the 1 kg whole-bean variant", chromedp.SetValue(chromedp.CSS("#f-sku"), shopSKU))
	where := arrive(t, ctx, "/p/"+shopProduct, `#add-to-cart input[name=sku][value="`+shopSKU+`"]`)
	if want := s.variantPrice(shopProduct, shopSKU); amount(t, ctx, "#price") != want {
		t.Errorf("the product page at %s shows %d, want the variant's %d", where, amount(t, ctx, "#price"), want)
	}
	addToCart(t, ctx, s.base+where, "2")

	// The cart: the line, then the coupon.
	arrive(t, ctx, "/cart", ".cart-line")
	if n := count(t, ctx, ".cart-line"); n != 1 || !strings.Contains(text(t, ctx, ".cart-line"), "Dark Horse Espresso") ||
		value(t, ctx, ".cart-line input[name=quantity]") != "2" {
		t.Fatalf("the cart has %d lines: %q, quantity %q", n, text(t, ctx, ".cart-lines"), value(t, ctx, ".cart-line input[name=quantity]"))
	}
	if badge := text(t, ctx, "#cart-link .badge"); !strings.HasSuffix(badge, "2") {
		t.Errorf("the cart link's count reads %q, want 2", badge)
	}
	run(t, ctx, "apply the coupon", chromedp.SendKeys(chromedp.CSS("#f-coupon"), "browser10"), chromedp.Click(chromedp.CSS("#coupon-apply")))
	arrive(t, ctx, "/cart", "#coupon-applied")
	if applied := text(t, ctx, "#coupon-applied"); !strings.Contains(applied, "BROWSER10") {
		t.Errorf("the coupon reads %q", applied)
	}
	if d := amount(t, ctx, "#t-discount"); d != s.variantPrice(shopProduct, shopSKU)*2/10 {
		t.Errorf("the discount is %d, want 10%% of 2 × the price", d)
	}
	checkPage(t, ctx, "cart")

	// The checkout: sent empty first, refused with every field marked.
	run(t, ctx, "go to the checkout", chromedp.Click(chromedp.CSS("a#checkout")))
	arrive(t, ctx, "/checkout", "form#checkout")
	checkPage(t, ctx, "checkout")
	checkOneLine(t, ctx, "checkout", "aside th, aside td.num")
	run(t, ctx, "place the order with nothing filled in", chromedp.Click(chromedp.CSS("#place-order")))
	arrive(t, ctx, "/checkout", "#form-error")
	for _, f := range []string{"email", "name", "line1", "postal_code", "city", "payment"} {
		if count(t, ctx, "#e-"+f) != 1 {
			t.Errorf("the refused checkout does not mark %s", f)
		}
	}
	checkPage(t, ctx, "checkout-errors")

	checkoutForm{email: "ada@example.com", name: "Ada Lovelace", line1: "12 Analytical Row", postal: "10115", city: "Berlin",
		country: "DE", method: "standard", card: "tok_visa"}.fill(t, ctx)
	run(t, ctx, "place the order", chromedp.Click(chromedp.CSS("#place-order")))

	// The confirmation is the order page with a thank-you; opened again
	// (as from the confirmation email's link) it shows the status.
	where = arrive(t, ctx, "/orders/", "#order-status")
	m := shopOrderRe.FindStringSubmatch(where)
	if m == nil {
		t.Fatalf("the order was placed at %s, not an order page with its token", where)
	}
	if flash := text(t, ctx, "main .alert.ok"); !strings.Contains(flash, "Thank you") {
		t.Errorf("the confirmation says %q", flash)
	}
	run(t, ctx, "open the order page again", chromedp.Navigate(s.base+where))
	arrive(t, ctx, "/orders/"+m[1], "#order-status")
	if status := text(t, ctx, "#order-status"); status != "Confirmed" {
		t.Errorf("the order page shows the status %q, want Confirmed", status)
	}
	if page := text(t, ctx, "main"); !strings.Contains(page, "12 Analytical Row") || !strings.Contains(page, shopSKU) || !strings.Contains(page, "Discount (BROWSER10)") {
		t.Errorf("the order page lacks the address, the SKU or the discount:\n%s", page)
	}
	checkPage(t, ctx, "order")
	checkOneLine(t, ctx, "order", "main th, main td.num")
	o := s.order(m[1])
	if o.Status != "confirmed" || o.Email != "ada@example.com" || o.Coupon != "BROWSER10" || o.Discount.Amount == 0 || o.ShippingMethod != "standard" ||
		len(o.Lines) != 1 || o.Lines[0].SKU != shopSKU || o.Lines[0].Quantity != 2 {
		t.Errorf("the order API has %+v", o)
	}

	// A second purchase with the declined card: the decline on the
	// checkout page with everything typed kept, the cart's lines still
	// there, nothing reserved.
	run(t, ctx, "open the product page", chromedp.Navigate(s.base+"/p/"+shopProduct+"?sku="+shopSKU))
	arrive(t, ctx, "/p/"+shopProduct, "#add-button")
	addToCart(t, ctx, s.base+"/p/"+shopProduct+"?sku="+shopSKU, "1")
	before := s.stock(shopSKU)
	run(t, ctx, "go to the checkout", chromedp.Click(chromedp.CSS("a#checkout")))
	arrive(t, ctx, "/checkout", "form#checkout")
	checkoutForm{email: "ada@example.com", name: "Ada Lovelace", line1: "12 Analytical Row", postal: "10115", city: "Berlin",
		country: "DE", method: "standard", card: "tok_declined"}.fill(t, ctx)
	run(t, ctx, "place the order with the declined card", chromedp.Click(chromedp.CSS("#place-order")))
	arrive(t, ctx, "/checkout", "#form-error")
	if msg := text(t, ctx, "#form-error"); !strings.Contains(msg, "declined") {
		t.Errorf("the checkout says %q, not that the card was declined", msg)
	}
	if count(t, ctx, "#e-payment") != 1 || value(t, ctx, "#f-line1") != "12 Analytical Row" || value(t, ctx, "#f-email") != "ada@example.com" {
		t.Errorf("the declined checkout does not mark the payment or lost what was typed")
	}
	checkPage(t, ctx, "checkout-declined")
	if after := s.stock(shopSKU); after.Reserved != before.Reserved || after.Available != before.Available {
		t.Errorf("after the decline the stock is %+v, before it %+v: something stayed reserved", after, before)
	}
	run(t, ctx, "open the cart", chromedp.Navigate(s.base+"/cart"))
	arrive(t, ctx, "/cart", ".cart-line")
	if n := count(t, ctx, ".cart-line"); n != 1 || value(t, ctx, ".cart-line input[name=quantity]") != "1" {
		t.Errorf("after the decline the cart has %d lines: %q", n, text(t, ctx, ".cart-lines"))
	}

	// A page that is not there: the styled 404.
	run(t, ctx, "open a page that is not there", chromedp.Navigate(s.base+"/p/no-such-product"))
	arrive(t, ctx, "/p/no-such-product", ".err-code")
	if code := text(t, ctx, ".err-code"); code != "404" {
		t.Errorf("the missing page shows %q", code)
	}
	checkPage(t, ctx, "not-found")

	b.checkOrigin(t, s.base)
}

// TestStorefrontKeyboardCheckout: from a filled cart, the keyboard alone
// (Tab, typing, Space, Enter; no click) reaches the checkout, fills in
// every field, picks the country and the delivery by typing their names,
// the test card with Space, places the order with Enter, and lands on the
// order page; the order is what was typed.
func TestStorefrontKeyboardCheckout(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	s.setStock(shopSKU, 20)
	b := newBrowser(t, browserOptions{Timeout: 4 * time.Minute})
	ctx := b.ctx

	// The cart is filled with the mouse: the keyboard starts at the cart.
	product := s.base + "/p/" + shopProduct + "?sku=" + shopSKU
	run(t, ctx, "open the product page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(product))
	arrive(t, ctx, "/p/"+shopProduct, "#add-button")
	addToCart(t, ctx, product, "1")
	run(t, ctx, "open the cart afresh, the focus at its start", chromedp.Navigate(s.base+"/cart"))
	arrive(t, ctx, "/cart", ".cart-line")

	run(t, ctx, "reach the checkout link with Tab and follow it with Enter", tabTo("a#checkout", 60), pressEnter())
	arrive(t, ctx, "/checkout", "form#checkout")
	run(t, ctx, "fill in the checkout with the keyboard",
		tabTo("#f-email", 40), typeText("grace@example.com"),
		tabTo("#f-name", 5), typeText("Grace Hopper"),
		tabTo("#f-line1", 5), typeText("1 Harvard Yard"),
		tabTo("#f-line2", 5), typeText("Floor 2"),
		tabTo("#f-postal_code", 5), typeText("10115"),
		tabTo("#f-city", 5), typeText("Berlin"),
		// A closed list takes the first letters of an option's name.
		tabTo("#f-country", 5), typeText("Germany"),
		tabTo("#f-shipping_method", 5), typeText("Express"),
		// Tab enters the group of radio buttons at its first; Space picks it.
		tabTo("#pay-tok_visa", 5), pressSpace(),
	)
	for sel, want := range map[string]string{"#f-country": "DE", "#f-shipping_method": "express", "#f-line2": "Floor 2"} {
		if got := value(t, ctx, sel); got != want {
			t.Errorf("after typing, %s is %q, want %q", sel, got, want)
		}
	}
	if checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#pay-tok_visa").checked`)); err != nil || !checked {
		t.Errorf("Space did not pick the approved test card (%v)", err)
	}
	run(t, ctx, "place the order with Enter", tabTo("#place-order", 10), pressEnter())
	where := arrive(t, ctx, "/orders/", "#order-status")
	m := shopOrderRe.FindStringSubmatch(where)
	if m == nil {
		t.Fatalf("the keyboard's order ended at %s", where)
	}
	if status := text(t, ctx, "#order-status"); status != "Confirmed" {
		t.Errorf("the order page shows %q, want Confirmed", status)
	}
	o := s.order(m[1])
	if o.Email != "grace@example.com" || o.ShippingAddress.Name != "Grace Hopper" || o.ShippingAddress.Line2 != "Floor 2" ||
		o.ShippingAddress.Country != "DE" || o.ShippingMethod != "express" || o.Status != "confirmed" {
		t.Errorf("the order API has %+v", o)
	}
	b.checkOrigin(t, s.base)
}

// TestStorefrontNoScript: with JavaScript off, a guest chooses a variant
// (the list and its Show button), adds it to the cart, checks out with the
// approved test card and lands on the order page: the pages work as HTML
// and forms. The pages of the way are checked as they are without script.
func TestStorefrontNoScript(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	s.setStock(shopSKU, 20)
	b := newBrowser(t, browserOptions{NoScript: true, Timeout: 4 * time.Minute})
	ctx := b.ctx

	run(t, ctx, "open the product page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/p/"+shopProduct))
	arrive(t, ctx, "/p/"+shopProduct, "#variant-form")
	// Without script the list sends nothing on a change (SetValue fires
	// one): Show does.
	run(t, ctx, "choose the variant", chromedp.SetValue(chromedp.CSS("#f-sku"), shopSKU), chromedp.Click(chromedp.CSS("#variant-show")))
	where := arrive(t, ctx, "/p/"+shopProduct, `#add-to-cart input[name=sku][value="`+shopSKU+`"]`)
	checkPage(t, ctx, "product-nojs")
	addToCart(t, ctx, s.base+where, "1")

	arrive(t, ctx, "/cart", ".cart-line")
	checkPage(t, ctx, "cart-nojs")
	run(t, ctx, "go to the checkout", chromedp.Click(chromedp.CSS("a#checkout")))
	arrive(t, ctx, "/checkout", "form#checkout")
	checkoutForm{email: "linus@example.com", name: "Linus Torvalds", line1: "3 Penguin Lane", postal: "00100", city: "Helsinki",
		country: "FI", method: "standard", card: "tok_visa"}.fill(t, ctx)
	checkPage(t, ctx, "checkout-nojs")
	run(t, ctx, "place the order", chromedp.Click(chromedp.CSS("#place-order")))
	where = arrive(t, ctx, "/orders/", "#order-status")
	m := shopOrderRe.FindStringSubmatch(where)
	if m == nil {
		t.Fatalf("the order ended at %s", where)
	}
	if status := text(t, ctx, "#order-status"); status != "Confirmed" {
		t.Errorf("the order page shows %q, want Confirmed", status)
	}
	checkPage(t, ctx, "order-nojs")
	if o := s.order(m[1]); o.Email != "linus@example.com" || o.ShippingAddress.Country != "FI" || len(o.Lines) != 1 || o.Lines[0].SKU != shopSKU {
		t.Errorf("the order API has %+v", o)
	}
	b.checkOrigin(t, s.base)
}

// TestStorefrontCustomerAccount: a customer creates an account from the
// sign-in page, signs out, signs in again, buys (the checkout knows their
// email), finds the order in their account, and signs out, after which
// the account asks to sign in; then the forgot-password, reset-password
// and verify-email pages, with links that are not valid.
func TestStorefrontCustomerAccount(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	s.setStock(shopSKU, 20)
	b := newBrowser(t, browserOptions{Timeout: 5 * time.Minute})
	ctx := b.ctx
	const (
		name     = "Grace Hopper"
		email    = "grace@example.com"
		password = "cobol forever and a day"
	)

	run(t, ctx, "open the home page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/"))
	arrive(t, ctx, "/", "#h-new")
	run(t, ctx, "follow Sign in", chromedp.Click(chromedp.CSS(`header a[href="/account/sign-in"]`)))
	arrive(t, ctx, "/account/sign-in", "form#sign-in")
	checkPage(t, ctx, "sign-in")
	run(t, ctx, "follow Create an account", chromedp.Click(chromedp.CSS(`main a[href^="/account/register"]`)))
	arrive(t, ctx, "/account/register", "form#register")
	checkPage(t, ctx, "register")
	run(t, ctx, "register",
		chromedp.SendKeys(chromedp.CSS("#f-name"), name),
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), password),
		chromedp.Click(chromedp.CSS("#register-submit")))
	arrive(t, ctx, "/account", "#orders-h")
	if page := text(t, ctx, "main"); !strings.Contains(page, name) || !strings.Contains(page, "no orders yet") {
		t.Errorf("the new account shows:\n%s", page)
	}
	checkPage(t, ctx, "account-new")

	run(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#sign-out button")))
	arrive(t, ctx, "/", `header a[href="/account/sign-in"]`)
	if flash := text(t, ctx, "main .alert.ok"); !strings.Contains(flash, "signed out") {
		t.Errorf("after signing out the page says %q", flash)
	}
	run(t, ctx, "follow Sign in", chromedp.Click(chromedp.CSS(`header a[href="/account/sign-in"]`)))
	arrive(t, ctx, "/account/sign-in", "form#sign-in")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), password),
		chromedp.Click(chromedp.CSS("#sign-in-submit")))
	arrive(t, ctx, "/account", "#orders-h")
	if who := text(t, ctx, `header a[href="/account"]`); who != name {
		t.Errorf("the header names %q, want %q", who, name)
	}

	// The purchase: the checkout has the customer's email.
	product := s.base + "/p/" + shopProduct + "?sku=" + shopSKU
	run(t, ctx, "open the product page", chromedp.Navigate(product))
	arrive(t, ctx, "/p/"+shopProduct, "#add-button")
	addToCart(t, ctx, product, "1")
	run(t, ctx, "go to the checkout", chromedp.Click(chromedp.CSS("a#checkout")))
	arrive(t, ctx, "/checkout", "form#checkout")
	if got := value(t, ctx, "#f-email"); got != email {
		t.Errorf("the customer's checkout has the email %q, want %q", got, email)
	}
	checkoutForm{name: name, line1: "1 Harvard Yard", postal: "10115", city: "Berlin", country: "DE", method: "standard", card: "tok_visa"}.fill(t, ctx)
	run(t, ctx, "place the order", chromedp.Click(chromedp.CSS("#place-order")))
	where := arrive(t, ctx, "/orders/", "#order-status")
	m := regexp.MustCompile(`^/orders/([0-9a-f-]+)`).FindStringSubmatch(where)
	if m == nil {
		t.Fatalf("the order ended at %s", where)
	}
	if o := s.order(m[1]); o.CustomerID == "" || o.Email != email {
		t.Errorf("the order is not the customer's: %+v", o)
	}

	// The account lists it, and its link opens it.
	run(t, ctx, "open the account", chromedp.Click(chromedp.CSS(`header a[href="/account"]`)))
	arrive(t, ctx, "/account", `#orders a[href="/orders/`+m[1]+`"]`)
	checkPage(t, ctx, "account")
	run(t, ctx, "open the order from the account", chromedp.Click(chromedp.CSS(`#orders a[href="/orders/`+m[1]+`"]`)))
	arrive(t, ctx, "/orders/"+m[1], "#order-status")

	run(t, ctx, "sign out from the header", chromedp.Click(chromedp.CSS(`header form[action="/account/sign-out"] button`)))
	arrive(t, ctx, "/", `header a[href="/account/sign-in"]`)
	run(t, ctx, "open the account again", chromedp.Navigate(s.base+"/account"))
	arrive(t, ctx, "/account/sign-in", "form#sign-in")

	// The pages the customer emails lead to (with a link's token that is
	// not valid: test/web follows real ones).
	run(t, ctx, "follow Forgot password?", chromedp.Click(chromedp.CSS("#forgot-password-link")))
	arrive(t, ctx, "/account/forgot-password", "form#forgot-password")
	checkPage(t, ctx, "forgot-password")
	run(t, ctx, "ask for a reset link",
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.Click(chromedp.CSS("#forgot-password-submit")))
	arrive(t, ctx, "/account/forgot-password", "#reset-sent")
	checkPage(t, ctx, "forgot-password-sent")
	run(t, ctx, "open a reset link", chromedp.Navigate(s.base+"/account/reset-password?token=expired-link-token"))
	arrive(t, ctx, "/account/reset-password", "form#reset-password")
	checkPage(t, ctx, "reset-password")
	run(t, ctx, "choose a new password",
		chromedp.SendKeys(chromedp.CSS("#f-password"), "a new password for grace"),
		chromedp.Click(chromedp.CSS("#reset-password-submit")))
	arrive(t, ctx, "/account/reset-password", "#reset-failed")
	checkPage(t, ctx, "reset-password-failed")
	run(t, ctx, "open a verification link", chromedp.Navigate(s.base+"/account/verify-email?token=expired-link-token"))
	arrive(t, ctx, "/account/verify-email", "form#verify-email")
	checkPage(t, ctx, "verify-email")
	run(t, ctx, "confirm the address", chromedp.Click(chromedp.CSS("#verify-email-submit")))
	arrive(t, ctx, "/account/verify-email", "#verify-failed")
	checkPage(t, ctx, "verify-email-failed")
	b.checkOrigin(t, s.base)
}

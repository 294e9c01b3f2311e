package web

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

var (
	shopCardRe  = regexp.MustCompile(`(?s)<a class="product-card" href="/p/([^"]+)">\s*(<img [^>]*>)?.*?<data value="(\d+)">`)
	shopNextRe  = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	shopLineRe  = regexp.MustCompile(`<li class="cart-line" id="line-([^"]+)">`)
	shopBadgeRe = regexp.MustCompile(`items: </span>(\d+)</span>`)
)

// shopCard is a product card of a grid.
type shopCard struct {
	slug, img string
	price     int64
}

func shopCards(t *testing.T, body string) []shopCard {
	t.Helper()
	var out []shopCard
	for _, m := range shopCardRe.FindAllStringSubmatch(body, -1) {
		n, err := strconv.ParseInt(m[3], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, shopCard{slug: m[1], img: m[2], price: n})
	}
	return out
}

// shopAmount is the minor units in the <data> of the element with id.
func shopAmount(t *testing.T, body, id string) int64 {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `"[^>]*>[^<]*<data value="(-?\d+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no amount #%s on the page:\n%s", id, body)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// shopSetStock makes sku's available stock n through the admin API.
func shopSetStock(t *testing.T, p *harness.Proc, sku string, n int64) {
	t.Helper()
	var lvl struct {
		Available int64 `json:"available"`
	}
	if r := p.Call("GET", "/api/v1/admin/inventory/"+sku, nil, p.Admin()); r.Status == 200 {
		r.JSON(t, &lvl)
	}
	if lvl.Available == n {
		return
	}
	r := p.Call("POST", "/api/v1/admin/inventory/"+sku+"/adjustments",
		map[string]any{"delta": n - lvl.Available, "reason": "browse test"}, p.Admin())
	if r.Status != 200 {
		t.Fatalf("adjust %s to %d: %d %s", sku, n, r.Status, r.Body)
	}
}

// shopAdd submits the add-to-cart form of the product page pg. The cart
// service learns the demo products from the catalog's events after start:
// until it has, their SKUs are refused (and nothing is made), so a refused
// SKU is tried again for a while.
func shopAdd(shop *visitor, pg page, quantity string) page {
	shop.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := shop.submit(pg, "/cart/items", url.Values{"quantity": {quantity}})
		if r.Status != 422 || !strings.Contains(r.Body, `id="e-sku"`) || time.Now().After(deadline) {
			return r
		}
	}
}

// shopCart is the part of GET /api/v1/carts/{id} the test compares.
type shopCart struct {
	Coupon string `json:"coupon"`
	Lines  []struct {
		ID       string `json:"id"`
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	} `json:"lines"`
	Totals *struct {
		Subtotal, Discount, Shipping, Tax, Total struct {
			Amount int64 `json:"amount"`
		}
	} `json:"totals"`
}

// TestShopperBrowsesAndFillsTheCart: a guest walks from the home page
// through a category (sorted, filtered with a bad price and then a good
// one, page 2) to a product (variants, stock, price and its tax wording),
// adds to the cart (a bad quantity first; the same form twice adds once),
// changes and removes lines, tries a bad and an expired coupon before a
// good one, picks shipping, and sees the totals the cart API has.
func TestShopperBrowsesAndFillsTheCart(t *testing.T) {
	p := start(t)
	shop := newVisitor(t, p, "localhost")
	var store struct {
		Name         string `json:"name"`
		TaxInclusive bool   `json:"tax_inclusive"`
	}
	p.Call("GET", "/api/v1/admin/store", nil, p.Admin()).JSON(t, &store)

	// Home: the store's name as its one heading, categories, the newest
	// products with pictures that load lazily below the first row.
	home := shop.get("/")
	if home.Status != 200 || strings.Count(home.Body, "<h1") != 1 || !strings.Contains(home.Body, "<h1>"+store.Name+"</h1>") {
		t.Fatalf("home: %d\n%s", home.Status, home.Body)
	}
	if !strings.Contains(home.Body, `href="/c/coffee"`) || !strings.Contains(home.Body, `href="/c/espresso"`) {
		t.Errorf("home lists no categories (and their children):\n%s", home.Body)
	}
	cards := shopCards(t, home.Body)
	if len(cards) != 8 {
		t.Fatalf("home shows %d products, want the 8 featured", len(cards))
	}
	for i, c := range cards {
		lazy := strings.Contains(c.img, `loading="lazy"`)
		if !strings.Contains(c.img, `width="480" height="480"`) || !strings.Contains(c.img, `alt="`) || lazy != (i >= 4) {
			t.Errorf("picture %d: %s (lazy from the second row on)", i, c.img)
		}
	}

	// A category, cheapest first: its products and its children's.
	cat := shop.get("/c/coffee?sort=price_asc")
	first := shopCards(t, cat.Body)
	if cat.Status != 200 || len(first) != 12 || !slices.IsSortedFunc(first, func(a, b shopCard) int { return int(a.price - b.price) }) {
		t.Fatalf("coffee by price: %d, %+v", cat.Status, first)
	}
	if !strings.Contains(cat.Body, `<option value="price_asc" selected>`) || !strings.Contains(cat.Body, `data-autosubmit`) {
		t.Errorf("the sort is not shown chosen:\n%s", cat.Body)
	}
	// A price that is not one: 422, marked, everything typed kept.
	bad := shop.get("/c/coffee?sort=price_asc&min=12&max=cheap")
	if bad.Status != 422 || !strings.Contains(bad.Body, `name="max" type="text" value="cheap" inputmode="decimal" aria-invalid="true" aria-describedby="e-max"`) ||
		!strings.Contains(bad.Body, `id="e-max"`) || !strings.Contains(bad.Body, `name="min" type="text" value="12"`) ||
		!strings.Contains(bad.Body, `<option value="price_asc" selected>`) {
		t.Fatalf("bad highest price: %d\n%s", bad.Status, bad.Body)
	}
	for _, c := range shopCards(t, bad.Body) {
		if c.price < 1200 {
			t.Errorf("the good half of the filter was dropped: %+v", c)
		}
	}
	ranged := shopCards(t, shop.get("/c/coffee?sort=price_asc&min=12&max=14,5").Body)
	if len(ranged) == 0 {
		t.Fatal("no coffee from 12 to 14.50")
	}
	for _, c := range ranged {
		if c.price < 1200 || c.price > 1450 {
			t.Errorf("%s at %d is outside 12–14.50", c.slug, c.price)
		}
	}
	// Page 2 goes on where page 1 ended.
	next := shopNextRe.FindStringSubmatch(cat.Body)
	if next == nil {
		t.Fatalf("no next page:\n%s", cat.Body)
	}
	page2 := shop.get(htmlUnescape(next[1]))
	second := shopCards(t, page2.Body)
	if page2.Status != 200 || len(second) == 0 || !strings.Contains(page2.Body, "First page") || second[0].price < first[len(first)-1].price {
		t.Fatalf("page 2: %d %+v\n%s", page2.Status, second, page2.Body)
	}
	for _, c := range second {
		if slices.ContainsFunc(first, func(f shopCard) bool { return f.slug == c.slug }) {
			t.Errorf("%s is on both pages", c.slug)
		}
	}

	// A product: each variant's price and stock, as the APIs say.
	var product struct {
		Variants []struct {
			SKU   string `json:"sku"`
			Price struct {
				Amount int64 `json:"amount"`
			} `json:"price"`
		} `json:"variants"`
	}
	p.Call("GET", "/api/v1/products/dark-horse-espresso", nil, nil).JSON(t, &product)
	if len(product.Variants) < 3 {
		t.Fatalf("dark horse espresso has %d variants", len(product.Variants))
	}
	plenty, few, none := product.Variants[0], product.Variants[1], product.Variants[2]
	shopSetStock(t, p, plenty.SKU, 40)
	shopSetStock(t, p, few.SKU, 2)
	shopSetStock(t, p, none.SKU, 0)
	taxNote := "excl. tax"
	if store.TaxInclusive {
		taxNote = "incl. tax"
	}
	for _, tc := range []struct {
		query, stock string
		price        int64
	}{
		{"", `class="stock-ok">In stock`, plenty.Price.Amount},
		{"?sku=" + few.SKU, `class="stock-low">Only 2 left`, few.Price.Amount},
		{"?sku=" + none.SKU, `class="stock-out">Sold out`, none.Price.Amount},
	} {
		pg := shop.get("/p/dark-horse-espresso" + tc.query)
		if pg.Status != 200 || strings.Count(pg.Body, "<h1") != 1 || !strings.Contains(pg.Body, tc.stock) ||
			shopAmount(t, pg.Body, "price") != tc.price || !strings.Contains(pg.Body, `id="tax-note">`+taxNote) {
			t.Errorf("product%s: %d, want %q at %d %s\n%s", tc.query, pg.Status, tc.stock, tc.price, taxNote, pg.Body)
		}
		soldOut := strings.Contains(pg.Body, `id="add-button" disabled`)
		if soldOut != (tc.query == "?sku="+none.SKU) {
			t.Errorf("product%s: add-to-cart disabled %v", tc.query, soldOut)
		}
		for _, v := range product.Variants {
			if !strings.Contains(pg.Body, `<option value="`+v.SKU+`"`) {
				t.Errorf("product%s: no choice of %s", tc.query, v.SKU)
			}
		}
	}

	// Add to cart: a bad quantity is marked; the form sent twice adds once.
	pg := shop.get("/p/dark-horse-espresso")
	r := shop.submit(pg, "/cart/items", url.Values{"quantity": {"two"}})
	if r.Status != 422 || !strings.Contains(r.Body, `value="two"`) || !strings.Contains(r.Body, `aria-describedby="e-quantity"`) || !strings.Contains(r.Body, "<h1>Dark Horse Espresso</h1>") {
		t.Fatalf("bad quantity: %d %s\n%s", r.Status, r.URL, r.Body)
	}
	r = shopAdd(shop, pg, "2")
	if r.Status != 200 || r.URL != "/cart" || !strings.Contains(r.Body, "Added 2 × Dark Horse Espresso") {
		t.Fatalf("add: %d %s\n%s", r.Status, r.URL, r.Body)
	}
	if r = shop.submit(pg, "/cart/items", url.Values{"quantity": {"2"}}); r.URL != "/cart" || !strings.Contains(r.Body, "Added to your cart.") {
		t.Fatalf("the same form again: %d %s\n%s", r.Status, r.URL, r.Body)
	}
	r = shopAdd(shop, shop.get("/p/knock-box"), "1")
	if m := shopBadgeRe.FindStringSubmatch(r.Body); m == nil || m[1] != "3" {
		t.Fatalf("the cart count after 2 + 1 (the second form a repeat): %v\n%s", m, r.Body)
	}

	type cartRow struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	var carts struct {
		Items []cartRow `json:"items"`
	}
	p.Call("GET", "/api/v1/admin/carts?status=open", nil, p.Admin()).JSON(t, &carts)
	if len(carts.Items) != 1 {
		t.Fatalf("%d open carts, want the visitor's", len(carts.Items))
	}
	apiCart := func() shopCart {
		var c shopCart
		p.Call("GET", "/api/v1/carts/"+carts.Items[0].ID, nil, nil).JSON(t, &c)
		return c
	}
	lineOf := map[string]string{}
	for _, l := range apiCart().Lines {
		lineOf[l.SKU] = l.ID
	}
	cart := shop.get("/cart")
	if ids := shopLineRe.FindAllStringSubmatch(cart.Body, -1); len(ids) != 2 || lineOf[plenty.SKU] == "" || lineOf["MC-046"] == "" {
		t.Fatalf("cart lines %v, API lines %v\n%s", ids, lineOf, cart.Body)
	}

	// Quantities: a bad one marked on its line; 3; the knock box removed.
	dh := lineOf[plenty.SKU]
	r = shop.submit(cart, "/cart/lines/"+dh, url.Values{"quantity": {"-1"}})
	if r.Status != 422 || !strings.Contains(r.Body, `aria-describedby="e-qty-`+dh+`"`) || !strings.Contains(r.Body, `value="-1"`) {
		t.Fatalf("bad line quantity: %d\n%s", r.Status, r.Body)
	}
	if r = shop.submit(cart, "/cart/lines/"+dh, url.Values{"quantity": {"3"}}); r.URL != "/cart" || !strings.Contains(r.Body, "Quantity updated.") {
		t.Fatalf("set quantity: %d %s\n%s", r.Status, r.URL, r.Body)
	}
	if r = shop.submit(cart, "/cart/lines/"+lineOf["MC-046"]+"/remove", nil); r.URL != "/cart" || !strings.Contains(r.Body, "Removed") {
		t.Fatalf("remove: %d %s\n%s", r.Status, r.URL, r.Body)
	}
	if c := apiCart(); len(c.Lines) != 1 || c.Lines[0].Quantity != 3 {
		t.Fatalf("the cart after the changes: %+v", c.Lines)
	}

	// Coupons: unknown and expired ones are marked and change nothing.
	cart = shop.get("/cart")
	for _, code := range []string{"NOPE", "SUMMER24"} {
		r = shop.submit(cart, "/cart/coupon", url.Values{"coupon": {code}})
		if r.Status != 422 || !strings.Contains(r.Body, `value="`+code+`" autocomplete="off" aria-invalid="true" aria-describedby="e-coupon"`) {
			t.Fatalf("coupon %s: %d\n%s", code, r.Status, r.Body)
		}
		if c := apiCart(); c.Coupon != "" {
			t.Fatalf("coupon %s was refused, yet the cart has %q", code, c.Coupon)
		}
	}
	if res := p.Call("POST", "/api/v1/admin/pricing/discounts", map[string]any{"name": "Browse test: 15% off", "code": "BROWSE15",
		"kind": "percentage", "percent_bp": 1500}, p.Admin()); res.Status != 201 {
		t.Fatalf("create the coupon: %d %s", res.Status, res.Body)
	}
	if r = shop.submit(cart, "/cart/coupon", url.Values{"coupon": {"browse15"}}); r.URL != "/cart" || !strings.Contains(r.Body, "Coupon BROWSE15 applied.") {
		t.Fatalf("good coupon: %d %s\n%s", r.Status, r.URL, r.Body)
	}
	if r = shop.submit(cart, "/cart/shipping", url.Values{"country": {"DE"}, "shipping_method": {"express"}}); r.URL != "/cart" || !strings.Contains(r.Body, "Shipping updated.") {
		t.Fatalf("shipping: %d %s\n%s", r.Status, r.URL, r.Body)
	}

	// The totals are the cart API's.
	c := apiCart()
	if c.Coupon != "BROWSE15" || c.Totals == nil || c.Totals.Discount.Amount == 0 || c.Totals.Shipping.Amount == 0 {
		t.Fatalf("the cart API's cart: %+v %+v", c, c.Totals)
	}
	cart = shop.get("/cart")
	for id, want := range map[string]int64{"t-subtotal": c.Totals.Subtotal.Amount, "t-discount": c.Totals.Discount.Amount,
		"t-shipping": c.Totals.Shipping.Amount, "t-tax": c.Totals.Tax.Amount, "t-total": c.Totals.Total.Amount} {
		if got := shopAmount(t, cart.Body, id); got != want {
			t.Errorf("%s: page %d, API %d", id, got, want)
		}
	}
	taxLabel := "<dt>Tax</dt>"
	if store.TaxInclusive {
		taxLabel = "<dt>Tax included</dt>"
	}
	if !strings.Contains(cart.Body, taxLabel) || !strings.Contains(cart.Body, `href="/checkout"`) {
		t.Errorf("tax wording %q or the checkout link missing:\n%s", taxLabel, cart.Body)
	}

	// The last line removed: the empty cart.
	r = shop.submit(cart, "/cart/lines/"+dh+"/remove", nil)
	if !strings.Contains(r.Body, `id="cart-empty"`) || shopBadgeRe.MatchString(r.Body) {
		t.Fatalf("empty cart:\n%s", r.Body)
	}
}

// TestShopShowsOnlyWhatIsForSale: a product's title is text, never
// markup; drafts, archived and unknown products and unknown categories are
// the styled 404; a product never stocked is sold out; a product named by
// its ID answers at its slug's address.
func TestShopShowsOnlyWhatIsForSale(t *testing.T) {
	p := start(t)
	shop := newVisitor(t, p, "localhost")
	create := func(title, status, sku string) (id, slug string) {
		t.Helper()
		res := p.Call("POST", "/api/v1/admin/products", map[string]any{"title": title, "status": status,
			"description": "Fine <b>print</b> & more.",
			"variants":    []map[string]any{{"sku": sku, "price": map[string]any{"amount": 999, "currency": "EUR"}}}}, p.Admin())
		if res.Status != 201 {
			t.Fatalf("create %q: %d %s", title, res.Status, res.Body)
		}
		var out struct{ ID, Slug string }
		res.JSON(t, &out)
		return out.ID, out.Slug
	}
	const script = "<script>alert(1)</script>"
	id, slug := create(script, "active", "XSS-1")
	for _, path := range []string{"/p/" + slug, "/"} {
		pg := shop.get(path)
		if pg.Status != 200 || strings.Contains(pg.Body, script) || strings.Contains(pg.Body, "<b>print") ||
			!strings.Contains(pg.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: %d, the title not escaped:\n%s", path, pg.Status, pg.Body)
		}
	}
	pg := shop.get("/p/" + slug)
	if !strings.Contains(pg.Body, `class="stock-out">Sold out`) || !strings.Contains(pg.Body, `id="add-button" disabled`) {
		t.Errorf("a product never stocked is not sold out:\n%s", pg.Body)
	}
	if byID := shop.get("/p/" + id); byID.Status != 200 || byID.URL != "/p/"+slug {
		t.Errorf("by ID: %d at %s, want /p/%s", byID.Status, byID.URL, slug)
	}

	_, draft := create("Not yet", "draft", "DRAFT-1")
	archivedID, archived := create("No more", "active", "GONE-1")
	if res := p.Call("DELETE", "/api/v1/admin/products/"+archivedID, nil, p.Admin()); res.Status != 204 {
		t.Fatalf("archive: %d %s", res.Status, res.Body)
	}
	for _, path := range []string{"/p/" + draft, "/p/" + archived, "/p/no-such-product", "/c/no-such-category"} {
		pg := shop.get(path)
		if pg.Status != 404 || strings.Count(pg.Body, "<h1>") != 1 || !strings.Contains(pg.Body, "Page not found") {
			t.Errorf("%s: %d, want the styled 404:\n%s", path, pg.Status, pg.Body)
		}
	}
	// Adding what is not for sale is refused on the product page.
	r := shop.submit(shop.get("/p/knock-box"), "/cart/items", url.Values{"sku": {"DRAFT-1"}})
	if r.Status != 422 || !strings.Contains(r.Body, `id="e-sku"`) {
		t.Errorf("adding a draft's SKU: %d\n%s", r.Status, r.Body)
	}
	if fmt.Sprint(shopBadgeRe.FindStringSubmatch(r.Body)) != "[]" {
		t.Errorf("the refused add made a cart count")
	}
}

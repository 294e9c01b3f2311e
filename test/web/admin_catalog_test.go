package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mercato/mercato/test/harness"
)

// The admin's sign-in, first-run setup, products, stock and home, walked
// as a browser without JavaScript: the owner set up with the admin token,
// a support member who may look but not change, and a second store whose
// staff cannot open the first store's products.

const staffPassword = "correct horse battery staple"

// inviteStaff invites a member with role to the store at host through the
// API with headers hdr (an admin's or owner's credentials) and accepts the
// invitation: the member can sign in with email and staffPassword.
func inviteStaff(t *testing.T, p *harness.Proc, host string, hdr map[string]string, email, role, name string) {
	t.Helper()
	hdr["Host"] = host
	r := p.Call(http.MethodPost, "/api/v1/admin/staff/invitations", map[string]string{"email": email, "role": role, "name": name}, hdr)
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("invite %s: %d %s", email, r.Status, r.Body)
	}
	var inv struct {
		Token string `json:"token"`
	}
	r.JSON(t, &inv)
	r = p.Call(http.MethodPost, "/api/v1/staff/invitations/accept",
		map[string]string{"token": inv.Token, "password": staffPassword, "name": name}, map[string]string{"Host": host})
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("accept the invitation of %s: %d %s", email, r.Status, r.Body)
	}
}

// signInStaff signs v in at the admin as email, and expects to land on want.
func (v *visitor) signInStaff(email, want string) page {
	v.t.Helper()
	pg := v.post("/admin/sign-in", url.Values{"email": {email}, "password": {staffPassword}, "next": {want}})
	if pg.Status != http.StatusOK || pg.URL != want {
		v.t.Fatalf("sign in as %s: %d at %s\n%.2000s", email, pg.Status, pg.URL, pg.Body)
	}
	return pg
}

// fieldMarked reports whether the form field name is marked invalid on the page
// with its message containing msg.
func fieldMarked(body, name, msg string) bool {
	re := regexp.MustCompile(`(?s)<input id="f-` + regexp.QuoteMeta(name) + `"[^>]*aria-invalid="true" aria-describedby="e-` +
		regexp.QuoteMeta(name) + `">\s*<p class="field-error" id="e-` + regexp.QuoteMeta(name) + `">([^<]*)</p>`)
	m := re.FindStringSubmatch(body)
	return m != nil && strings.Contains(m[1], msg)
}

// fieldValue is the value of the input named name on the page.
func fieldValue(body, name string) (string, bool) {
	m := regexp.MustCompile(`<input id="f-` + regexp.QuoteMeta(name) + `" name="[^"]*" type="[^"]*" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return htmlUnescape(m[1]), true
}

var productPathRe = regexp.MustCompile(`^/admin/products/([0-9a-f-]{36})$`)

func TestAdminCatalog(t *testing.T) {
	p := start(t)
	const host = "localhost"

	// A support member, invited while the store has no owner yet: the
	// generated admin token works only until the owner exists.
	inviteStaff(t, p, host, p.Admin(), "sam@example.com", "support", "Sam Support")

	// First run: the sign-in page leads to the setup, which wants the
	// admin token.
	owner := newVisitor(t, p, host)
	pg := owner.get("/admin/")
	if !strings.HasPrefix(pg.URL, "/admin/sign-in") || !strings.Contains(pg.Body, `href="/admin/setup"`) {
		t.Fatalf("a guest at /admin/ ended at %s without a link to the setup:\n%.1500s", pg.URL, pg.Body)
	}
	setup := owner.get("/admin/setup")
	pg = owner.submit(setup, "/admin/setup", url.Values{"admin_token": {"mct_wrong"}, "name": {"Olga Owner"},
		"email": {"olga@example.com"}, "password": {staffPassword}})
	if pg.Status != http.StatusUnprocessableEntity || !fieldMarked(pg.Body, "admin_token", "not valid") {
		t.Fatalf("setup with a wrong token: %d\n%.3000s", pg.Status, pg.Body)
	}
	if v, _ := fieldValue(pg.Body, "email"); v != "olga@example.com" {
		t.Errorf("the refused setup lost the email: %q", v)
	}
	if v, _ := fieldValue(pg.Body, "password"); v != "" {
		t.Errorf("the refused setup sent the password back")
	}
	pg = owner.submit(setup, "/admin/setup", url.Values{"admin_token": {p.Token}, "name": {"Olga Owner"},
		"email": {"olga@example.com"}, "password": {staffPassword}})
	if pg.Status != http.StatusOK || pg.URL != "/admin/" || !strings.Contains(pg.Body, "Olga Owner (owner)") {
		t.Fatalf("setup: %d at %s\n%.3000s", pg.Status, pg.URL, pg.Body)
	}
	// Once is all: the token is retired in the store.
	pg = newVisitor(t, p, host).post("/admin/setup", url.Values{"admin_token": {p.Token}, "name": {"Mallory"},
		"email": {"mallory@example.com"}, "password": {staffPassword}})
	if pg.Status != http.StatusUnprocessableEntity || !fieldMarked(pg.Body, "admin_token", "not valid") {
		t.Fatalf("a second setup: %d at %s\n%.3000s", pg.Status, pg.URL, pg.Body)
	}

	// Sign out, a wrong password (the email kept, the password not), then
	// sign in again, to the page asked for; never to another site.
	if pg := owner.post("/admin/sign-out", url.Values{}); !strings.HasPrefix(pg.URL, "/admin/sign-in") || !strings.Contains(pg.Body, "signed out") {
		t.Fatalf("sign out: %d at %s", pg.Status, pg.URL)
	}
	pg = owner.post("/admin/sign-in", url.Values{"email": {"olga@example.com"}, "password": {"not the password"}})
	if pg.Status != http.StatusUnauthorized || !strings.Contains(pg.Body, "email or password is not right") {
		t.Fatalf("a wrong password: %d\n%.3000s", pg.Status, pg.Body)
	}
	if v, _ := fieldValue(pg.Body, "email"); v != "olga@example.com" {
		t.Errorf("the refused sign-in lost the email: %q", v)
	}
	if strings.Contains(pg.Body, "not the password") {
		t.Errorf("the refused sign-in sent the password back")
	}
	// Guessing an account's password is throttled, and the page says so.
	throttled := false
	for range 10 {
		pg = owner.post("/admin/sign-in", url.Values{"email": {"ghost@example.com"}, "password": {"guess guess guess"}})
		if pg.Status == http.StatusTooManyRequests {
			throttled = true
			break
		}
		if pg.Status != http.StatusUnauthorized {
			t.Fatalf("a guess: %d\n%.2000s", pg.Status, pg.Body)
		}
	}
	if !throttled || !strings.Contains(pg.Body, "Too many sign-in attempts") || pg.Header.Get("Retry-After") == "" {
		t.Fatalf("ten guesses were not throttled: %d\n%.2000s", pg.Status, pg.Body)
	}
	if v, _ := fieldValue(pg.Body, "email"); v != "ghost@example.com" {
		t.Errorf("the throttled sign-in lost the email: %q", v)
	}
	pg = owner.post("/admin/sign-in", url.Values{"email": {"olga@example.com"}, "password": {staffPassword}, "next": {"//evil.example/admin/"}})
	if pg.URL != "/admin/" {
		t.Fatalf("sign-in with a next of another site ended at %s", pg.URL)
	}
	owner.post("/admin/sign-out", url.Values{})
	owner.signInStaff("olga@example.com", "/admin/products")

	// A product: a price with too many decimals is marked, with what was
	// typed kept; then created, once however often the form is sent.
	form := owner.get("/admin/products/new")
	if !strings.Contains(form.Body, `id="save-product"`) {
		t.Fatalf("the owner's new product form has no submit button:\n%.3000s", form.Body)
	}
	product := url.Values{"title": {"Web Test Mug"}, "status": {"active"}, "description": {"A mug <b>for</b> tests"},
		"opt0": {"Size"}, "v0.sku": {"WT-MUG-S"}, "v0.price": {"12.345"}, "v0.o0": {"Small"},
		"v1.sku": {"WT-MUG-L"}, "v1.price": {"14,50"}, "v1.o0": {"Large"}}
	pg = owner.submit(form, "/admin/products/new", product)
	if pg.Status != http.StatusUnprocessableEntity || !fieldMarked(pg.Body, "v0.price", "at most 2 decimals") {
		t.Fatalf("a price of 12.345: %d\n%.4000s", pg.Status, pg.Body)
	}
	if v, _ := fieldValue(pg.Body, "v0.price"); v != "12.345" {
		t.Errorf("the refused form lost the price typed: %q", v)
	}
	if v, _ := fieldValue(pg.Body, "title"); v != "Web Test Mug" {
		t.Errorf("the refused form lost the title: %q", v)
	}
	product.Set("v0.price", "12.50")
	pg = owner.submit(form, "/admin/products/new", product)
	m := productPathRe.FindStringSubmatch(pg.URL)
	if pg.Status != http.StatusOK || m == nil || !strings.Contains(pg.Body, "Web Test Mug") {
		t.Fatalf("create the product: %d at %s\n%.3000s", pg.Status, pg.URL, pg.Body)
	}
	productID := m[1]
	if again := owner.submit(form, "/admin/products/new", product); again.URL != pg.URL {
		t.Fatalf("the same form sent again made another product: %s, then %s", pg.URL, again.URL)
	}
	// A SKU the catalog refuses is marked on its row.
	dup := owner.get("/admin/products/new")
	pg = owner.submit(dup, "/admin/products/new", url.Values{"title": {"Copy"}, "v0.sku": {"WT-COPY"}, "v0.price": {"1"},
		"v1.sku": {"WT-MUG-S"}, "v1.price": {"2"}})
	if pg.Status != http.StatusUnprocessableEntity || !fieldMarked(pg.Body, "v1.sku", "") {
		t.Fatalf("a SKU of another product: %d\n%.4000s", pg.Status, pg.Body)
	}

	// Active, it is public at once: the shop's catalog lists it.
	if r := p.Call(http.MethodGet, "/api/v1/products/web-test-mug", nil, map[string]string{"Host": host}); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), `"status":"active"`) {
		t.Fatalf("the public catalog's product: %d %s", r.Status, r.Body)
	}
	// It is in the admin's list; an unknown ID is the styled 404.
	if pg := owner.get("/admin/products?status=active"); !strings.Contains(pg.Body, "/admin/products/"+productID) {
		t.Fatalf("the active products lack the new one:\n%.3000s", pg.Body)
	}
	if pg := owner.get("/admin/products/01a00000-0000-7000-8000-000000000000"); pg.Status != http.StatusNotFound || !strings.Contains(pg.Body, "<html") {
		t.Fatalf("an unknown product: %d", pg.Status)
	}

	// Stock: an adjustment needs a reason; with one, the ledger shows it.
	stock := owner.get("/admin/stock/WT-MUG-S")
	if stock.Status != http.StatusOK || !strings.Contains(stock.Body, `id="no-stock"`) {
		t.Fatalf("the stock of a new SKU: %d\n%.2000s", stock.Status, stock.Body)
	}
	pg = owner.submit(stock, "/admin/stock/WT-MUG-S/adjust", url.Values{"delta": {"7"}, "reason": {""}})
	if pg.Status != http.StatusUnprocessableEntity || !fieldMarked(pg.Body, "reason", "Say why") {
		t.Fatalf("an adjustment without a reason: %d\n%.3000s", pg.Status, pg.Body)
	}
	if v, _ := fieldValue(pg.Body, "delta"); v != "7" {
		t.Errorf("the refused adjustment lost the delta: %q", v)
	}
	adjust := url.Values{"delta": {"7"}, "reason": {"first delivery"}, "reference": {"DN-42"}}
	pg = owner.submit(stock, "/admin/stock/WT-MUG-S/adjust", adjust)
	if pg.URL != "/admin/stock/WT-MUG-S" || !strings.Contains(pg.Body, `id="on-hand" aria-describedby="k-on">7<`) {
		t.Fatalf("adjust: %d at %s\n%.3000s", pg.Status, pg.URL, pg.Body)
	}
	ledger := regexp.MustCompile(`(?s)<table[^>]*id="ledger">.*?</table>`).FindString(pg.Body)
	if !strings.Contains(ledger, "first delivery") || !strings.Contains(ledger, "DN-42") || !strings.Contains(ledger, "+7") {
		t.Fatalf("the ledger lacks the adjustment:\n%s", ledger)
	}
	// The same form sent again adjusts once.
	pg = owner.submit(stock, "/admin/stock/WT-MUG-S/adjust", adjust)
	if !strings.Contains(pg.Body, `id="on-hand" aria-describedby="k-on">7<`) {
		t.Fatalf("the adjustment sent twice counted twice:\n%.3000s", pg.Body)
	}
	pg = owner.submit(pg, "/admin/stock/WT-MUG-S/threshold", url.Values{"threshold": {"10"}})
	if !strings.Contains(pg.Body, `id="threshold" aria-describedby="k-th">10<`) {
		t.Fatalf("set the threshold:\n%.3000s", pg.Body)
	}
	if pg := owner.get("/admin/stock?low=1"); !strings.Contains(pg.Body, `href="/admin/stock/WT-MUG-S"`) {
		t.Fatalf("the low-stock list lacks a SKU below its threshold:\n%.3000s", pg.Body)
	}

	// The home page: the chart, drawn on the server, with its table.
	home := owner.get("/admin/")
	if home.Status != http.StatusOK || !strings.Contains(home.Body, `<svg class="chart"`) || !strings.Contains(home.Body, "<title id=\"chart-title\">") ||
		!strings.Contains(home.Body, `href="/admin/stock/WT-MUG-S"`) {
		t.Fatalf("home: %d\n%.3000s", home.Status, home.Body)
	}

	// Support may look but not change: no button, no form, and the
	// catalog refuses a forced POST (the 403 page).
	support := newVisitor(t, p, host)
	pg = support.signInStaff("sam@example.com", "/admin/products")
	if strings.Contains(pg.Body, `id="new-product"`) {
		t.Errorf("support sees the new product button")
	}
	if strings.Contains(pg.Body, `href="/admin/discounts"`) || !strings.Contains(pg.Body, `href="/admin/stock"`) {
		t.Errorf("support's navigation is not pricing-less with stock:\n%.2000s", pg.Body)
	}
	if pg := support.get("/admin/products/" + productID); strings.Contains(pg.Body, `id="save-product"`) || strings.Contains(pg.Body, `id="archive"`) {
		t.Errorf("support sees the product's save or archive buttons")
	}
	if pg := support.get("/admin/stock/WT-MUG-S"); strings.Contains(pg.Body, `id="adjust"`) {
		t.Errorf("support sees the adjust form")
	}
	forced := url.Values{"title": {"Support's mug"}, "v0.sku": {"WT-SUP"}, "v0.price": {"3"}, "idempotency_key": {"support-forced-create"}}
	if pg := support.post("/admin/products/new", forced); pg.Status != http.StatusForbidden || !strings.Contains(pg.Body, "<html") {
		t.Fatalf("support creating a product: %d\n%.2000s", pg.Status, pg.Body)
	}

	// Store B, made by signup, has its owner at once; its staff cannot
	// open store A's product by ID.
	r := p.Call(http.MethodPost, "/api/v1/tenants", map[string]string{"store_name": "Beta Beans", "subdomain": "beta",
		"email": "owner@beta.example", "password": staffPassword}, map[string]string{"Idempotency-Key": "web-admin-catalog-beta"})
	if r.Status != http.StatusCreated {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	beta := newVisitor(t, p, "beta.localhost")
	beta.signInStaff("owner@beta.example", "/admin/products")
	if pg := beta.get("/admin/products/" + productID); pg.Status != http.StatusNotFound || !strings.Contains(pg.Body, "<html") {
		t.Fatalf("store B's owner opening store A's product: %d", pg.Status)
	}
	// Store A's session is no key to store B's admin.
	owner.host = "beta.localhost"
	if pg := owner.get("/admin/products"); !strings.HasPrefix(pg.URL, "/admin/sign-in") {
		t.Fatalf("store A's session at store B's admin ended at %s (%d)", pg.URL, pg.Status)
	}

	// The product is in the shop, its description escaped.
	shop := newVisitor(t, p, host).get("/p/web-test-mug")
	if shop.Status != http.StatusOK || !strings.Contains(shop.Body, "<h1>Web Test Mug</h1>") || strings.Contains(shop.Body, "<b>for</b>") {
		t.Fatalf("the shop's product page: %d\n%.2000s", shop.Status, shop.Body)
	}
}

package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

// The checkout, order and account pages of the storefront: a guest's
// checkout (approved, declined, refused fields, sent twice), the order
// page and its returns, and a customer's account from registration to
// sign-out, with the guest orders the account is given.

// stock is what the inventory admin API says of a SKU.
type stock struct {
	SKU       string `json:"sku"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

// stockOf reads sku's stock with the admin token.
func stockOf(t *testing.T, p *harness.Proc, sku string) stock {
	t.Helper()
	res := p.Call(http.MethodGet, "/api/v1/admin/inventory/"+url.PathEscape(sku), nil, p.Admin("Host", "localhost"))
	if res.Status != http.StatusOK {
		t.Fatalf("stock of %s: %d %s", sku, res.Status, res.Body)
	}
	var s stock
	res.JSON(t, &s)
	return s
}

// skuInStock returns a SKU of the demo store with at least n available,
// not one another test of this server uses (used).
func skuInStock(t *testing.T, p *harness.Proc, n int64, used ...string) string {
	t.Helper()
	res := p.Call(http.MethodGet, "/api/v1/admin/inventory?limit=100", nil, p.Admin("Host", "localhost"))
	var l struct{ Items []stock }
	res.JSON(t, &l)
	for _, s := range l.Items {
		if s.Available >= n && !strings.Contains(strings.Join(used, " "), s.SKU) {
			return s.SKU
		}
	}
	t.Fatalf("no SKU with %d available: %s", n, res.Body)
	return ""
}

// adminOrder is what the order admin API says of an order.
type adminOrder struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Email   string `json:"email"`
	Returns []struct {
		ID string `json:"id"`
	} `json:"returns"`
}

// ordersOf lists the store's orders placed with email (admin API).
func ordersOf(t *testing.T, p *harness.Proc, email string) []adminOrder {
	t.Helper()
	res := p.Call(http.MethodGet, "/api/v1/admin/orders?"+url.Values{"email": {email}}.Encode(), nil, p.Admin("Host", "localhost"))
	if res.Status != http.StatusOK {
		t.Fatalf("orders of %s: %d %s", email, res.Status, res.Body)
	}
	var l struct{ Items []adminOrder }
	res.JSON(t, &l)
	return l.Items
}

// fillCart puts qty of sku in v's cart through the cart pages.
func fillCart(v *visitor, sku string, qty int) {
	v.t.Helper()
	if pg := v.post("/cart/items", url.Values{"sku": {sku}, "quantity": {fmt.Sprint(qty)}}); pg.Status != http.StatusOK {
		v.t.Fatalf("add %s to the cart: %d at %s\n%.500s", sku, pg.Status, pg.URL, pg.Body)
	}
}

// address is a checkout form's fields; with overrides a field at a time.
func address(email, payment string, kv ...string) url.Values {
	f := url.Values{"email": {email}, "name": {"Ada Lovelace"}, "line1": {"12 Analytical Row"}, "line2": {""},
		"postal_code": {"10115"}, "city": {"Berlin"}, "country": {"DE"}, "shipping_method": {"standard"}, "payment": {payment}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// marked reports whether the page marks form field name as refused.
func marked(body, name string) bool {
	return regexp.MustCompile(`name="`+regexp.QuoteMeta(name)+`"[^>]*aria-invalid="true"`).MatchString(body) &&
		strings.Contains(body, `id="e-`+name+`"`)
}

var orderURLRe = regexp.MustCompile(`^/orders/([0-9a-f-]+)\?token=([A-Za-z0-9_-]+)$`)

// TestGuestCheckout: a guest checks out a cart with the approved test card
// and lands on the order page; the same form sent again (its key) is the
// same order; a declined card shows the form again with the cart intact
// and nothing reserved; refused fields are marked with what was typed
// kept; a tampered token or another order's ID is the styled 404; a
// shipped order takes one return request however often it is sent.
func TestGuestCheckout(t *testing.T) {
	p := start(t)
	shop := newVisitor(t, p, "localhost")
	sku := skuInStock(t, p, 10)
	before := stockOf(t, p, sku)

	// Without a cart the checkout sends to the cart.
	if pg := shop.get("/checkout"); pg.URL != "/cart" {
		t.Fatalf("checkout without a cart ended at %s (%d)", pg.URL, pg.Status)
	}
	fillCart(shop, sku, 2)
	form := shop.get("/checkout")
	if form.Status != http.StatusOK || !strings.Contains(form.Body, sku) || !strings.Contains(form.Body, "Test card — approved (tok_visa)") ||
		!strings.Contains(form.Body, `id="pay-tok_declined"`) {
		t.Fatalf("checkout page: %d\n%s", form.Status, form.Body)
	}

	// Refused fields: marked, with everything typed kept; nothing placed.
	bad := shop.submit(form, "/checkout", address("ada@example.com", "tok_visa", "postal_code", "10115!!"))
	if bad.Status != http.StatusUnprocessableEntity || !marked(bad.Body, "postal_code") || !strings.Contains(bad.Body, `value="10115!!"`) ||
		!strings.Contains(bad.Body, `value="Ada Lovelace"`) || !strings.Contains(bad.Body, `value="tok_visa" checked`) {
		t.Fatalf("bad postal code: %d\n%s", bad.Status, bad.Body)
	}
	bad = shop.submit(bad, "/checkout", address("ada@example.com", "tok_visa", "country", "ZZ"))
	if bad.Status != http.StatusUnprocessableEntity || !marked(bad.Body, "country") || marked(bad.Body, "postal_code") {
		t.Fatalf("bad country: %d\n%s", bad.Status, bad.Body)
	}
	bad = shop.submit(bad, "/checkout", address("", "", "city", ""))
	if bad.Status != http.StatusUnprocessableEntity || !marked(bad.Body, "email") || !marked(bad.Body, "city") || !strings.Contains(bad.Body, `id="e-payment"`) {
		t.Fatalf("missing fields: %d\n%s", bad.Status, bad.Body)
	}

	// Declined: the form again with the decline, the cart as it was,
	// nothing reserved and no order standing.
	declined := shop.submit(bad, "/checkout", address("ada@example.com", "tok_declined"))
	if declined.Status != http.StatusPaymentRequired || !strings.Contains(declined.Body, `role="alert"`) ||
		!strings.Contains(declined.Body, "Your payment was declined") || !marked(declined.Body, "payment") ||
		!strings.Contains(declined.Body, `value="12 Analytical Row"`) || !strings.Contains(declined.Body, sku) {
		t.Fatalf("declined: %d\n%s", declined.Status, declined.Body)
	}
	if s := stockOf(t, p, sku); s.Reserved != before.Reserved || s.Available != before.Available {
		t.Fatalf("after a declined card: %+v, before %+v", s, before)
	}
	if pg := shop.get("/checkout"); pg.Status != http.StatusOK || !strings.Contains(pg.Body, sku) {
		t.Fatalf("cart after the decline: %d %s", pg.Status, pg.URL)
	}
	for _, o := range ordersOf(t, p, "ada@example.com") {
		if o.Status != "cancelled" {
			t.Fatalf("order after a decline: %+v", o)
		}
	}

	// Approved: the order page with the guest token and a thank-you.
	form = shop.get("/checkout")
	placed := shop.submit(form, "/checkout", address("ada@example.com", "tok_visa"))
	m := orderURLRe.FindStringSubmatch(placed.URL)
	if placed.Status != http.StatusOK || m == nil || !strings.Contains(placed.Body, "Thank you") ||
		!strings.Contains(placed.Body, "Confirmed") || !strings.Contains(placed.Body, "Order confirmed") ||
		!strings.Contains(placed.Body, "12 Analytical Row") || !strings.Contains(placed.Body, sku) {
		t.Fatalf("placed: %d at %s\n%s", placed.Status, placed.URL, placed.Body)
	}
	id, token := m[1], m[2]
	// The same form again (a double click, a resend): the same order.
	again := shop.submit(form, "/checkout", address("ada@example.com", "tok_visa"))
	if again.URL != placed.URL {
		t.Fatalf("the same form again ended at %s, want %s", again.URL, placed.URL)
	}
	confirmed := 0
	for _, o := range ordersOf(t, p, "ada@example.com") {
		if o.Status != "cancelled" {
			confirmed++
		}
	}
	if confirmed != 1 {
		t.Fatalf("%d orders after sending the form twice, want 1", confirmed)
	}
	if s := stockOf(t, p, sku); s.Available != before.Available-2 {
		t.Fatalf("stock after the order: %+v, before %+v", s, before)
	}
	// The cart became the order: the checkout has none any more.
	if pg := shop.get("/checkout"); pg.URL != "/cart" {
		t.Fatalf("checkout after the order ended at %s", pg.URL)
	}

	// Two sends of one form at once are one order too.
	fillCart(shop, sku, 1)
	form = shop.get("/checkout")
	hidden := hiddenFields(t, form.Body, "/checkout")
	body := address("twice@example.com", "tok_visa")
	for k, v := range hidden {
		body[k] = v
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, p.URL+"/checkout", strings.NewReader(body.Encode()))
			req.Host = shop.host
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if res, err := shop.hc.Do(req); err == nil {
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	if l := ordersOf(t, p, "twice@example.com"); len(l) != 1 {
		t.Fatalf("%d orders from one form sent twice at once, want 1: %+v", len(l), l)
	}

	// Someone else's view of the order: a tampered token, no token, or
	// the token of another order.
	stranger := newVisitor(t, p, "localhost")
	for _, path := range []string{
		"/orders/" + id + "?token=" + token[:len(token)-2] + "xy",
		"/orders/" + id + "?token=" + strings.Repeat("a", 200),
		"/orders/" + ordersOf(t, p, "twice@example.com")[0].ID + "?token=" + token,
		"/orders/not-an-order?token=" + token,
	} {
		if pg := stranger.get(path); pg.Status != http.StatusNotFound || !strings.Contains(pg.Body, "Page not found") || strings.Contains(pg.Body, "Analytical") {
			t.Fatalf("%s: %d\n%.500s", path, pg.Status, pg.Body)
		}
	}
	if pg := stranger.get("/orders/" + id); !strings.HasPrefix(pg.URL, "/account/sign-in") || strings.Contains(pg.Body, "Analytical") {
		t.Fatalf("an order without its token ended at %s (%d)", pg.URL, pg.Status)
	}

	// Returns: once shipped, the order page takes a return request.
	orderPage := "/orders/" + id + "?token=" + token
	if pg := stranger.get(orderPage); strings.Contains(pg.Body, `id="return-form"`) {
		t.Fatalf("an unshipped order offers returns:\n%s", pg.Body)
	}
	res := p.Call(http.MethodPost, "/api/v1/admin/orders/"+id+"/shipments", map[string]string{"carrier": "DHL", "tracking_number": "JD0146"},
		p.Admin("Host", "localhost", "Idempotency-Key", "ship-"+id))
	if res.Status != http.StatusCreated {
		t.Fatalf("ship: %d %s", res.Status, res.Body)
	}
	pg := stranger.get(orderPage)
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, "DHL") || !strings.Contains(pg.Body, "JD0146") || !strings.Contains(pg.Body, `id="return-form"`) {
		t.Fatalf("shipped order page: %d\n%s", pg.Status, pg.Body)
	}
	returns := "/orders/" + id + "/returns"
	tooMany := stranger.submit(pg, returns, url.Values{"qty_" + sku: {"3"}, "reason": {"damaged"}})
	if tooMany.Status != http.StatusUnprocessableEntity || !marked(tooMany.Body, "qty_"+sku) || !strings.Contains(tooMany.Body, `value="3"`) {
		t.Fatalf("returning more than shipped: %d\n%s", tooMany.Status, tooMany.Body)
	}
	asked := stranger.submit(tooMany, returns, url.Values{"qty_" + sku: {"1"}, "reason": {"damaged"}, "details": {"The mug's handle came off."}})
	if asked.Status != http.StatusOK || asked.URL != orderPage || !strings.Contains(asked.Body, "Your return request was sent") ||
		!strings.Contains(asked.Body, "The mug&#39;s handle came off.") {
		t.Fatalf("return request: %d at %s\n%s", asked.Status, asked.URL, asked.Body)
	}
	if again := stranger.submit(tooMany, returns, url.Values{"qty_" + sku: {"1"}, "reason": {"damaged"}, "details": {"The mug's handle came off."}}); again.URL != orderPage {
		t.Fatalf("the same return form again: %d at %s", again.Status, again.URL)
	}
	res = p.Call(http.MethodGet, "/api/v1/admin/orders/"+id, nil, p.Admin("Host", "localhost"))
	var o adminOrder
	res.JSON(t, &o)
	if len(o.Returns) != 1 {
		t.Fatalf("%d returns after sending one form twice, want 1", len(o.Returns))
	}
}

// TestCustomerAccount: a customer registers (a weak password refused
// first), is signed in, signs out and in again (wrong passwords, then too
// many), checks out with their email prefilled, finds the order in their
// account, and signs out, after which the account asks to sign in. A
// guest's order with the email of an account registered later shows in
// that account.
func TestCustomerAccount(t *testing.T) {
	p, mail := startWithMailbox(t)
	sku := skuInStock(t, p, 10)
	grace := newVisitor(t, p, "localhost")

	reg := grace.get("/account/register")
	weak := grace.submit(reg, "/account/register", url.Values{"name": {"Grace Hopper"}, "email": {"grace@example.com"}, "password": {"password123"}})
	if weak.Status != http.StatusUnprocessableEntity || !marked(weak.Body, "password") || !strings.Contains(weak.Body, `value="grace@example.com"`) ||
		strings.Contains(weak.Body, "password123") {
		t.Fatalf("weak password: %d\n%s", weak.Status, weak.Body)
	}
	const password = "cobol forever and a day"
	acct := grace.submit(weak, "/account/register", url.Values{"name": {"Grace Hopper"}, "email": {"grace@example.com"}, "password": {password}})
	if acct.URL != "/account" || acct.Status != http.StatusOK || !strings.Contains(acct.Body, "Grace Hopper") || !strings.Contains(acct.Body, "no orders yet") ||
		!strings.Contains(acct.Body, "Confirm your email to see your earlier guest orders") {
		t.Fatalf("registered: %d at %s\n%s", acct.Status, acct.URL, acct.Body)
	}
	out := grace.submit(acct, "/account/sign-out", nil)
	if out.URL != "/" || !strings.Contains(out.Body, "You are signed out") {
		t.Fatalf("signed out: %d at %s", out.Status, out.URL)
	}

	// Sign-in: wrong password, then the right one with a next that
	// leaves the site (ignored) and one that does not (followed).
	in := grace.get("/account/sign-in?next=//evil.example/x")
	wrong := grace.submit(in, "/account/sign-in", url.Values{"email": {"grace@example.com"}, "password": {"not it at all"}})
	if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.Body, "not right") || strings.Contains(wrong.Body, "not it at all") {
		t.Fatalf("wrong password: %d\n%s", wrong.Status, wrong.Body)
	}
	if pg := grace.submit(wrong, "/account/sign-in", url.Values{"email": {"grace@example.com"}, "password": {password}}); pg.URL != "/account" {
		t.Fatalf("signed in with a foreign next: ended at %s", pg.URL)
	}
	grace.submit(grace.get("/account"), "/account/sign-out", nil)
	in = grace.get("/account/sign-in?next=/checkout")
	if pg := grace.submit(in, "/account/sign-in", url.Values{"email": {"grace@example.com"}, "password": {password}}); pg.URL != "/cart" {
		// /checkout without a cart goes on to the cart.
		t.Fatalf("signed in with next=/checkout: ended at %s", pg.URL)
	}

	// The customer's checkout: email and saved address prefilled, the
	// order theirs.
	res := p.Call(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": "grace@example.com", "password": password}, map[string]string{"Host": "localhost"})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	res.JSON(t, &tok)
	res = p.Call(http.MethodPost, "/api/v1/me/addresses", map[string]any{"name": "Grace Hopper", "line1": "1 Harvard Yard", "city": "Cambridge",
		"postal_code": "02138", "country": "US", "is_default": true}, map[string]string{"Host": "localhost", "Authorization": "Bearer " + tok.AccessToken})
	if res.Status != http.StatusCreated {
		t.Fatalf("add an address: %d %s", res.Status, res.Body)
	}
	fillCart(grace, sku, 1)
	form := grace.get("/checkout")
	if !strings.Contains(form.Body, `value="grace@example.com"`) || !strings.Contains(form.Body, `value="1 Harvard Yard"`) ||
		!strings.Contains(form.Body, `<option value="US" selected>`) {
		t.Fatalf("checkout of a customer: email or address not prefilled\n%s", form.Body)
	}
	placed := grace.submit(form, "/checkout", address("grace@example.com", "tok_visa"))
	m := orderURLRe.FindStringSubmatch(placed.URL)
	if m == nil || !strings.Contains(placed.Body, "Thank you") {
		t.Fatalf("customer's order: %d at %s\n%s", placed.Status, placed.URL, placed.Body)
	}
	ref := strings.ToUpper(strings.ReplaceAll(m[1], "-", "")[24:])
	acct = grace.get("/account")
	if !strings.Contains(acct.Body, `href="/orders/`+m[1]+`"`) || !strings.Contains(acct.Body, "Order "+ref) {
		t.Fatalf("account without the order %s (%s):\n%s", m[1], ref, acct.Body)
	}
	// Their own order opens without the token.
	if pg := grace.get("/orders/" + m[1]); pg.Status != http.StatusOK || !strings.Contains(pg.Body, "Order "+ref) {
		t.Fatalf("own order without token: %d at %s", pg.Status, pg.URL)
	}
	grace.submit(acct, "/account/sign-out", nil)
	if pg := grace.get("/account"); !strings.HasPrefix(pg.URL, "/account/sign-in") {
		t.Fatalf("account after signing out ended at %s (%d)", pg.URL, pg.Status)
	}
	if pg := grace.get("/orders/" + m[1]); !strings.HasPrefix(pg.URL, "/account/sign-in") {
		t.Fatalf("own order after signing out ended at %s (%d)", pg.URL, pg.Status)
	}

	// A guest's order, then an account with its email: the account has it.
	linus := newVisitor(t, p, "localhost")
	fillCart(linus, sku, 1)
	guest := linus.submit(linus.get("/checkout"), "/checkout", address("Linus@Example.com", "tok_visa"))
	gm := orderURLRe.FindStringSubmatch(guest.URL)
	if gm == nil {
		t.Fatalf("guest order: %d at %s", guest.Status, guest.URL)
	}
	acct = linus.submit(linus.get("/account/register"), "/account/register",
		url.Values{"name": {"Linus"}, "email": {"linus@example.com"}, "password": {"penguins on thin ice"}})
	// Registered, not verified: anyone can register any address, so the
	// guest order stays the guest's until the mail's link is opened.
	time.Sleep(time.Second)
	if acct = linus.get("/account"); strings.Contains(acct.Body, gm[1]) || !strings.Contains(acct.Body, `id="verify-notice"`) {
		t.Fatalf("an unverified account shows the guest order or no notice:\n%s", acct.Body)
	}
	if again := linus.submit(acct, "/account/verify-email/resend", nil); again.URL != "/account" || !strings.Contains(again.Body, "moments ago") {
		t.Fatalf("resend at once: %d at %s\n%s", again.Status, again.URL, again.Body)
	}
	link := "/account/verify-email?token=" + url.QueryEscape(mail.token("identity.email_verification_requested.v1", "linus@example.com", 1))
	// A signed-out browser (a mail app) opens the link: the GET only
	// shows the button, the POST confirms.
	reader := newVisitor(t, p, "localhost")
	confirm := reader.get(link)
	if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, "verify-email-submit") {
		t.Fatalf("verification link: %d\n%s", confirm.Status, confirm.Body)
	}
	if again := reader.get(link); !strings.Contains(again.Body, "verify-email-submit") {
		t.Fatalf("opening the link twice used it up:\n%s", again.Body)
	}
	done := reader.submit(confirm, "/account/verify-email", url.Values{"token": {strings.TrimPrefix(link, "/account/verify-email?token=")}})
	if done.Status != http.StatusOK || !strings.Contains(done.Body, `id="verified"`) {
		t.Fatalf("verified: %d\n%s", done.Status, done.Body)
	}
	if twice := reader.submit(confirm, "/account/verify-email", url.Values{"token": {strings.TrimPrefix(link, "/account/verify-email?token=")}}); twice.Status != http.StatusUnprocessableEntity || !strings.Contains(twice.Body, `id="verify-failed"`) {
		t.Fatalf("a used link: %d\n%s", twice.Status, twice.Body)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(acct.Body, `href="/orders/`+gm[1]+`"`); acct = linus.get("/account") {
		if time.Now().After(deadline) {
			t.Fatalf("the guest order %s never showed in the verified account:\n%s", gm[1], acct.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(acct.Body, `id="verify-notice"`) {
		t.Fatalf("a verified account still asks to verify:\n%s", acct.Body)
	}

	// Forgot password: the same answer for any address; the mail's link
	// sets a new password (a weak one refused on its field) and signs in.
	forgot := newVisitor(t, p, "localhost")
	if in := forgot.get("/account/sign-in"); !strings.Contains(in.Body, `href="/account/forgot-password"`) {
		t.Fatalf("sign-in without a forgot-password link:\n%s", in.Body)
	}
	ask := forgot.get("/account/forgot-password")
	known := forgot.submit(ask, "/account/forgot-password", url.Values{"email": {"linus@example.com"}})
	unknown := forgot.submit(ask, "/account/forgot-password", url.Values{"email": {"nobody-here@example.com"}})
	if known.Status != http.StatusOK || unknown.Status != known.Status || !strings.Contains(known.Body, `id="reset-sent"`) || !strings.Contains(unknown.Body, `id="reset-sent"`) {
		t.Fatalf("forgot password answers differ: %d / %d\n%s\n---\n%s", known.Status, unknown.Status, known.Body, unknown.Body)
	}
	resetTok := mail.token("identity.password_reset_requested.v1", "linus@example.com", 1)
	resetForm := forgot.get("/account/reset-password?token=" + url.QueryEscape(resetTok))
	weakReset := forgot.submit(resetForm, "/account/reset-password", url.Values{"token": {resetTok}, "password": {"password123"}})
	if weakReset.Status != http.StatusUnprocessableEntity || !marked(weakReset.Body, "password") || strings.Contains(weakReset.Body, "password123") {
		t.Fatalf("weak reset: %d\n%s", weakReset.Status, weakReset.Body)
	}
	reset := forgot.submit(weakReset, "/account/reset-password", url.Values{"token": {resetTok}, "password": {"a brand new penguin"}})
	if reset.URL != "/account" || !strings.Contains(reset.Body, "password is changed") {
		t.Fatalf("reset: %d at %s\n%s", reset.Status, reset.URL, reset.Body)
	}
	if used := forgot.submit(resetForm, "/account/reset-password", url.Values{"token": {resetTok}, "password": {"yet another penguin"}}); used.Status != http.StatusUnprocessableEntity || !strings.Contains(used.Body, `id="reset-failed"`) {
		t.Fatalf("a used reset link: %d\n%s", used.Status, used.Body)
	}

	// Sign-in is throttled per account: then a 429 with a clear message.
	mallory := newVisitor(t, p, "localhost")
	in = mallory.get("/account/sign-in")
	var last page
	for i := range 8 {
		last = mallory.submit(in, "/account/sign-in", url.Values{"email": {"linus@example.com"}, "password": {fmt.Sprint("guess number ", i)}})
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	if last.Status != http.StatusTooManyRequests || !strings.Contains(last.Body, "Too many attempts") {
		t.Fatalf("throttled sign-in: %d\n%s", last.Status, last.Body)
	}
}

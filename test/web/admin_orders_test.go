package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

// adminOrdersShop is the default (demo) store of a fresh server with its
// owner, for the order and pricing pages' tests.
type adminOrdersShop struct {
	t          *testing.T
	p          *harness.Proc
	ownerToken string
}

const adminOrdersPassword = "correct horse battery staple"

// openAdminOrdersShop starts a server and creates the demo store's owner
// with the admin token, through the API.
func openAdminOrdersShop(t *testing.T) *adminOrdersShop {
	t.Helper()
	return adminOrdersShopOn(t, start(t))
}

// adminOrdersShopOn sets up the owner of the default store of p.
func adminOrdersShopOn(t *testing.T, p *harness.Proc) *adminOrdersShop {
	t.Helper()
	r := p.Call("POST", "/api/v1/admin/identity/owners", map[string]any{
		"email": "owner@orders.test", "password": adminOrdersPassword, "name": "Olga Owner",
	}, p.Admin("Host", "localhost"))
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("create the owner: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	return &adminOrdersShop{t: t, p: p, ownerToken: out.AccessToken}
}

// api calls the store's API at localhost with token ("" for a guest).
func (s *adminOrdersShop) api(method, path string, body any, token string, extra ...string) harness.Response {
	s.t.Helper()
	h := map[string]string{"Host": "localhost"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return s.p.Call(method, path, body, h)
}

// invite makes a staff member of role through an invitation and returns
// their email.
func (s *adminOrdersShop) invite(role string) string {
	s.t.Helper()
	email := role + "@orders.test"
	r := s.api("POST", "/api/v1/admin/staff/invitations", map[string]any{"email": email, "role": role}, s.ownerToken)
	var inv struct {
		Token string `json:"token"`
	}
	r.JSON(s.t, &inv)
	if inv.Token == "" {
		s.t.Fatalf("invite %s: %d %s", role, r.Status, r.Body)
	}
	r = s.api("POST", "/api/v1/staff/invitations/accept", map[string]any{"token": inv.Token, "password": adminOrdersPassword, "name": "Sam " + role}, "")
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		s.t.Fatalf("accept the %s invitation: %d %s", role, r.Status, r.Body)
	}
	return email
}

// signIn is a browser signed in to the admin as the staff member email.
func (s *adminOrdersShop) signIn(email string) *visitor {
	s.t.Helper()
	v := newVisitor(s.t, s.p, "localhost")
	pg := v.post("/admin/sign-in", url.Values{"email": {email}, "password": {adminOrdersPassword}, "next": {"/admin/orders"}})
	if pg.Status != http.StatusOK || strings.HasPrefix(pg.URL, "/admin/sign-in") {
		s.t.Fatalf("sign in as %s: %d at %s\n%.500s", email, pg.Status, pg.URL, pg.Body)
	}
	return v
}

// order places an order of 2 of a SKU in stock as a guest and returns its
// ID, token and SKU, once the order is confirmed.
func (s *adminOrdersShop) order() (id, token, sku string) {
	s.t.Helper()
	var stock struct {
		Items []struct {
			SKU       string `json:"sku"`
			Available int64  `json:"available"`
		} `json:"items"`
	}
	s.api("GET", "/api/v1/admin/inventory?limit=50", nil, s.ownerToken).JSON(s.t, &stock)
	for _, it := range stock.Items {
		if it.Available >= 10 {
			sku = it.SKU
			break
		}
	}
	if sku == "" {
		s.t.Fatalf("no demo SKU in stock: %+v", stock)
	}
	body := map[string]any{
		"items": []map[string]any{{"sku": sku, "quantity": 2}},
		"email": "ada@example.com",
		"shipping_address": map[string]any{
			"name": "Ada Lovelace", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE",
		},
		"payment": map[string]any{"provider": "fake", "token": "tok_visa"},
	}
	r := s.api("POST", "/api/v1/checkout", body, "", "Idempotency-Key", fmt.Sprintf("admin-orders-%d", time.Now().UnixNano()))
	var o struct {
		ID     string `json:"id"`
		Token  string `json:"token"`
		Status string `json:"status"`
	}
	r.JSON(s.t, &o)
	if r.Status != http.StatusCreated || o.ID == "" {
		s.t.Fatalf("checkout: %d %s", r.Status, r.Body)
	}
	s.waitFor("the order is confirmed", func() (bool, string) {
		r := s.api("GET", "/api/v1/orders/"+o.ID+"?token="+url.QueryEscape(o.Token), nil, "")
		return strings.Contains(string(r.Body), `"status":"confirmed"`), string(r.Body)
	})
	return o.ID, o.Token, sku
}

// waitFor polls fn until it reports done, for up to 30 s.
func (s *adminOrdersShop) waitFor(what string, fn func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, saw := fn()
		if done {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not within 30s; last saw %.500s", what, saw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// adminOrdersMarked reports whether the page shows field as refused, with value kept.
func adminOrdersMarked(pg page, field, value string) bool {
	return strings.Contains(pg.Body, `id="e-`+field+`"`) && strings.Contains(pg.Body, `aria-describedby="e-`+field+`"`) &&
		strings.Contains(pg.Body, `name="`+field+`" type="text" value="`+value+`"`)
}

// TestAdminOrderFlow: the owner ships an order from its page (the guest
// sees the tracking number), refunds part of it, is refused more than is
// left (marked, the amount kept); a support member sees the order with no
// refund form and a forced refund is the 403 page; an unknown order is
// the styled 404.
func TestAdminOrderFlow(t *testing.T) {
	t.Parallel()
	s := openAdminOrdersShop(t)
	id, token, sku := s.order()
	owner := s.signIn("owner@orders.test")

	list := owner.get("/admin/orders?email=" + url.QueryEscape("ada@example.com") + "&status=confirmed")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, `href="/admin/orders/`+id+`"`) {
		t.Fatalf("the order list lacks %s: %d\n%.2000s", id, list.Status, list.Body)
	}
	if pg := owner.get("/admin/orders?from=03/01/2026"); pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, `id="e-from"`) {
		t.Errorf("a bad date filter: %d", pg.Status)
	}

	orderPath := "/admin/orders/" + id
	pg := owner.get(orderPath)
	if pg.Status != http.StatusOK || !strings.Contains(pg.Body, `id="ship-form"`) || !strings.Contains(pg.Body, `id="cancel-form"`) {
		t.Fatalf("order page: %d\n%.3000s", pg.Status, pg.Body)
	}
	// Missing tracking number: marked, the carrier kept.
	bad := owner.submit(pg, orderPath+"/ship", url.Values{"carrier": {"DHL"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="e-tracking_number"`) || !strings.Contains(bad.Body, `value="DHL"`) {
		t.Errorf("ship without a tracking number: %d", bad.Status)
	}
	shipped := owner.submit(pg, orderPath+"/ship", url.Values{"carrier": {"DHL"}, "tracking_number": {"JD014600006281230704"}})
	if shipped.Status != http.StatusOK || shipped.URL != orderPath || !strings.Contains(shipped.Body, "JD014600006281230704 recorded") {
		t.Fatalf("ship: %d at %s\n%.2000s", shipped.Status, shipped.URL, shipped.Body)
	}
	// The same form sent again (a reload) records no second shipment.
	again := owner.submit(pg, orderPath+"/ship", url.Values{"carrier": {"DHL"}, "tracking_number": {"JD014600006281230704"}})
	if again.Status != http.StatusOK || strings.Count(again.Body, `class="card stack shipment"`) != 1 {
		t.Errorf("the ship form sent twice: %d, %d shipments", again.Status, strings.Count(again.Body, `class="card stack shipment"`))
	}
	var guest struct {
		Status    string `json:"status"`
		Shipments []struct {
			Carrier        string `json:"carrier"`
			TrackingNumber string `json:"tracking_number"`
		} `json:"shipments"`
	}
	r := s.api("GET", "/api/v1/orders/"+id+"?token="+url.QueryEscape(token), nil, "")
	if err := json.Unmarshal(r.Body, &guest); err != nil || len(guest.Shipments) != 1 || guest.Shipments[0].TrackingNumber != "JD014600006281230704" {
		t.Fatalf("the guest's order: %d %s", r.Status, r.Body)
	}

	// A partial refund, then more than is left.
	pg = owner.get(orderPath)
	if !strings.Contains(pg.Body, `id="refund-form"`) || strings.Contains(pg.Body, `id="cancel-form"`) {
		t.Fatalf("a shipped order's page: refund form %v, cancel form %v", strings.Contains(pg.Body, `id="refund-form"`), strings.Contains(pg.Body, `id="cancel-form"`))
	}
	refunded := owner.submit(pg, orderPath+"/refunds", url.Values{"amount": {"1.50"}, "reason": {"late delivery"}})
	if refunded.Status != http.StatusOK || refunded.URL != orderPath || !strings.Contains(refunded.Body, "Refunded EUR 1.50") ||
		!strings.Contains(refunded.Body, "1.50") {
		t.Fatalf("partial refund: %d at %s\n%.2000s", refunded.Status, refunded.URL, refunded.Body)
	}
	over := owner.submit(refunded, orderPath+"/refunds", url.Values{"amount": {"9999"}})
	if over.Status != http.StatusUnprocessableEntity || !adminOrdersMarked(over, "amount", "9999") || !strings.Contains(over.Body, "more than can still be refunded") {
		t.Errorf("over-refund: %d\n%.3000s", over.Status, over.Body)
	}
	if bad := owner.submit(refunded, orderPath+"/refunds", url.Values{"amount": {"1.234"}}); bad.Status != http.StatusUnprocessableEntity || !adminOrdersMarked(bad, "amount", "1.234") {
		t.Errorf("a refund with three decimals: %d", bad.Status)
	}

	// Two returns of one unit each: the first received with nothing
	// restocked and the default refund (the line's total), the second
	// rejected.
	for i := range 2 {
		r := s.api("POST", "/api/v1/orders/"+id+"/returns?token="+url.QueryEscape(token),
			map[string]any{"lines": []map[string]any{{"sku": sku, "quantity": 1}}, "reason": fmt.Sprintf("return %d", i)}, "")
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("request return %d: %d %s", i, r.Status, r.Body)
		}
	}
	pg = owner.get(orderPath)
	receives := regexp.MustCompile(`action="(/admin/orders/[^"]+/returns/[^"]+)/receive"`).FindAllStringSubmatch(pg.Body, -1)
	if len(receives) != 2 {
		t.Fatalf("%d receive forms for two returns", len(receives))
	}
	received := owner.submit(pg, receives[0][1]+"/receive", url.Values{"restock": nil})
	if received.Status != http.StatusOK || !strings.Contains(received.Body, "Return received.") || !strings.Contains(received.Body, "not restocked") {
		t.Errorf("receive a return: %d\n%.3000s", received.Status, received.Body)
	}
	rejected := owner.submit(received, receives[1][1]+"/reject", nil)
	if rejected.Status != http.StatusOK || !strings.Contains(rejected.Body, "Return rejected.") || strings.Contains(rejected.Body, "/receive") {
		t.Errorf("reject a return: %d", rejected.Status)
	}
	var afterReturns struct {
		Refunded struct {
			Amount int64 `json:"amount"`
		} `json:"refunded"`
		Returns []struct {
			Status string `json:"status"`
		} `json:"returns"`
	}
	s.api("GET", "/api/v1/orders/"+id+"?token="+url.QueryEscape(token), nil, "").JSON(t, &afterReturns)
	if len(afterReturns.Returns) != 2 || afterReturns.Returns[0].Status != "received" || afterReturns.Returns[1].Status != "rejected" ||
		afterReturns.Refunded.Amount <= 150 {
		t.Errorf("the returns as the guest sees them: %+v", afterReturns)
	}

	// Support reads the order but may not refund.
	support := s.signIn(s.invite("support"))
	spg := support.get(orderPath)
	if spg.Status != http.StatusOK || !strings.Contains(spg.Body, "JD014600006281230704") {
		t.Fatalf("support's order page: %d\n%.2000s", spg.Status, spg.Body)
	}
	if strings.Contains(spg.Body, `id="refund-form"`) || strings.Contains(spg.Body, `id="ship-form"`) {
		t.Error("support is offered the refund or ship form")
	}
	forced := support.post(orderPath+"/refunds", url.Values{"amount": {"1.00"}, "idempotency_key": {"support-forced-refund"}})
	if forced.Status != http.StatusForbidden || !strings.Contains(forced.Body, "<html") {
		t.Errorf("support's forced refund: %d\n%.1000s", forced.Status, forced.Body)
	}
	if pg := owner.get("/admin/orders/no-such-order"); pg.Status != http.StatusNotFound || !strings.Contains(pg.Body, "<html") {
		t.Errorf("unknown order: %d", pg.Status)
	}
}

// TestAdminPricingPages: the owner creates a coupon discount that a quote
// then applies; a tax rate of 150% is marked with the typed value kept; a
// shipping method is created, edited and deleted; support may not read
// pricing (the 403 page).
func TestAdminPricingPages(t *testing.T) {
	t.Parallel()
	s := openAdminOrdersShop(t)
	owner := s.signIn("owner@orders.test")

	form := owner.get("/admin/discounts/new")
	if form.Status != http.StatusOK {
		t.Fatalf("new discount: %d\n%.1000s", form.Status, form.Body)
	}
	bad := owner.submit(form, "/admin/discounts", url.Values{"name": {"Spring"}, "code": {"SPRING10"}, "kind": {"percentage"},
		"percent": {"ten"}, "scope": {"order"}, "active": {"1"}})
	if bad.Status != http.StatusUnprocessableEntity || !adminOrdersMarked(bad, "percent", "ten") {
		t.Errorf("a discount of ten percent in words: %d", bad.Status)
	}
	created := owner.submit(form, "/admin/discounts", url.Values{"name": {"Spring"}, "code": {"spring10"}, "kind": {"percentage"},
		"percent": {"10"}, "scope": {"order"}, "active": {"1"}, "usage_limit": {"100"}})
	if created.Status != http.StatusOK || created.URL != "/admin/discounts" || !strings.Contains(created.Body, "SPRING10") {
		t.Fatalf("create the coupon: %d at %s\n%.2000s", created.Status, created.URL, created.Body)
	}
	var stock struct {
		Items []struct {
			SKU       string `json:"sku"`
			Available int64  `json:"available"`
		} `json:"items"`
	}
	s.api("GET", "/api/v1/admin/inventory?limit=50", nil, s.ownerToken).JSON(t, &stock)
	sku := ""
	for _, it := range stock.Items {
		if it.Available > 0 {
			sku = it.SKU
			break
		}
	}
	var q struct {
		Coupon   string `json:"coupon"`
		Discount struct {
			Amount int64 `json:"amount"`
		} `json:"discount"`
	}
	r := s.api("POST", "/api/v1/quote", map[string]any{"items": []map[string]any{{"sku": sku, "quantity": 1}}, "coupon": "spring10"}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("quote with the coupon: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &q)
	if q.Coupon != "SPRING10" || q.Discount.Amount <= 0 {
		t.Errorf("the coupon does not apply: %s", r.Body)
	}

	rates := owner.get("/admin/tax-rates/new")
	badRate := owner.submit(rates, "/admin/tax-rates", url.Values{"country": {"FR"}, "rate": {"150"}, "name": {"TVA"}})
	if badRate.Status != http.StatusUnprocessableEntity || !adminOrdersMarked(badRate, "rate", "150") || !strings.Contains(badRate.Body, `value="FR"`) {
		t.Errorf("a tax rate of 150%%: %d\n%.2000s", badRate.Status, badRate.Body)
	}
	taken := owner.submit(rates, "/admin/tax-rates", url.Values{"country": {"FR"}, "rate": {"20"}, "name": {"TVA"}})
	if taken.Status != http.StatusUnprocessableEntity || !strings.Contains(taken.Body, `id="e-region"`) {
		t.Errorf("a second rate for France: %d", taken.Status)
	}
	okRate := owner.submit(taken, "/admin/tax-rates", url.Values{"country": {"fr"}, "region": {"20R"}, "rate": {"2.1"}, "name": {"TVA Corse"}})
	if okRate.Status != http.StatusOK || !strings.Contains(okRate.Body, "2.1%") || !strings.Contains(okRate.Body, "TVA Corse (FR-20R)") {
		t.Errorf("a tax rate of 2.1%% for Corsica: %d\n%.2000s", okRate.Status, okRate.Body)
	}

	newMethod := owner.get("/admin/shipping-methods/new")
	made := owner.submit(newMethod, "/admin/shipping-methods", url.Values{"name": {"Bike courier"}, "code": {"bike"}, "price": {"7,50"},
		"countries": {"de, at"}, "active": {"1"}})
	if made.Status != http.StatusOK || !strings.Contains(made.Body, "Bike courier") || !strings.Contains(made.Body, "DE, AT") {
		t.Fatalf("create a shipping method: %d\n%.2000s", made.Status, made.Body)
	}
	m := regexp.MustCompile(`<a href="(/admin/shipping-methods/[^"/]+)">Bike courier</a>`).FindStringSubmatch(made.Body)
	if m == nil {
		t.Fatalf("no link to the bike courier:\n%.3000s", made.Body)
	}
	bikePath := m[1]
	edit := owner.get(bikePath)
	saved := owner.submit(edit, bikePath, url.Values{"name": {"Bike courier"}, "code": {"bike"}, "price": {"8"}, "countries": {"DE"}})
	if saved.Status != http.StatusOK || !strings.Contains(saved.Body, "8.00") || !strings.Contains(saved.Body, "inactive") {
		t.Errorf("edit the shipping method: %d\n%.2000s", saved.Status, saved.Body)
	}
	gone := owner.submit(owner.get(bikePath), bikePath+"/delete", nil)
	if gone.Status != http.StatusOK || strings.Contains(gone.Body, "Bike courier") {
		t.Errorf("delete the shipping method: %d", gone.Status)
	}
	if pg := owner.get(bikePath); pg.Status != http.StatusNotFound {
		t.Errorf("a deleted shipping method: %d", pg.Status)
	}

	support := s.signIn(s.invite("support"))
	if pg := support.get("/admin/discounts"); pg.Status != http.StatusForbidden {
		t.Errorf("support's discounts: %d", pg.Status)
	}
}

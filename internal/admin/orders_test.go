package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// orderTestStore is a store directory of one store, at shop.localhost.
type orderTestStore struct{}

func (orderTestStore) ResolveTenant(_ context.Context, host, _ string) (string, error) {
	if host == "shop.localhost" {
		return "t1", nil
	}
	return "", tenancy.ErrUnknown
}

// orderFakeAPI plays the order, payment, identity and pricing APIs the order
// and pricing pages call: one order, whose refunds are checked as the
// order service checks them, and every call recorded.
type orderFakeAPI struct {
	mu    sync.Mutex
	order orderapi.Order
	calls []orderFakeCall
}

type orderFakeCall struct {
	Method, Path, Query, Key, Token, Body string
}

func orderEUR(n int64) money.Money { return money.Money{Amount: n, Currency: "EUR"} }

func newOrderFakeAPI() *orderFakeAPI {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	return &orderFakeAPI{order: orderapi.Order{
		ID: "o1", Status: orderapi.StatusShipped, Email: "ada@example.com", CustomerID: "c1", Currency: "EUR",
		Lines: []orderapi.Line{{SKU: "MUG-1", Title: "Mug <blue>", Quantity: 2, UnitPrice: orderEUR(1000), Subtotal: orderEUR(2000),
			Discount: orderEUR(200), Tax: orderEUR(287), Total: orderEUR(1800)}},
		Subtotal: orderEUR(2000), Discount: orderEUR(200), Shipping: orderEUR(490), ShippingMethod: "standard", Tax: orderEUR(287), Total: orderEUR(2290),
		TaxInclusive: true, Captured: orderEUR(2290), Refunded: orderEUR(0), Coupon: "WELCOME10",
		ShippingAddress: orderapi.Address{Name: "Ada Lovelace", Line1: "Hauptstraße 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		Shipments: []orderapi.Shipment{{ID: "s1", Carrier: "DHL", TrackingNumber: "JD1", Status: orderapi.ShipmentShipped,
			Events: []orderapi.TrackingEvent{{At: at, Status: orderapi.ShipmentShipped, Note: "handed to DHL"}}, CreatedAt: at, UpdatedAt: at}},
		Returns: []orderapi.Return{
			{ID: "r1", Status: orderapi.ReturnRequested, Lines: []orderapi.ReturnLine{{SKU: "MUG-1", Quantity: 1}}, Reason: "chipped", CreatedAt: at, UpdatedAt: at},
			{ID: "r2", Status: orderapi.ReturnRefundDeclined, Lines: []orderapi.ReturnLine{{SKU: "MUG-1", Quantity: 1, Restock: true}}, RefundAmount: orderEUR(900), CreatedAt: at, UpdatedAt: at},
		},
		Timeline:  []orderapi.TimelineEntry{{At: at, Status: "confirmed"}, {At: at, Status: "shipped", Note: "shipment JD1"}},
		CreatedAt: at, UpdatedAt: at,
	}}
}

func (f *orderFakeAPI) problem(w http.ResponseWriter, status int, code, detail string, fields ...string) {
	var errs []map[string]any
	for i := 0; i+1 < len(fields); i += 2 {
		errs = append(errs, map[string]any{"location": fields[i], "message": fields[i+1]})
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "code": code, "detail": detail, "errors": errs})
}

func (f *orderFakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, orderFakeCall{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Idempotency-Key"), token, string(b)})
	if token == "" {
		f.problem(w, http.StatusUnauthorized, "unauthorized", "sign in")
		return
	}
	out := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /api/v1/admin/orders":
		l := f.order
		l.Shipments, l.Returns = nil, nil
		out(orderapi.OrderList{Items: []orderapi.Order{l}, NextCursor: "c2"})
	case "GET /api/v1/admin/orders/o1":
		out(f.order)
	case "GET /api/v1/admin/payments/o1":
		out(paymentapi.Payment{ID: "p1", OrderID: "o1", Provider: "fake", Status: paymentapi.StatusCaptured,
			Amount: f.order.Total, Captured: f.order.Captured, Refunded: f.order.Refunded})
	case "GET /api/v1/admin/customers/c1":
		out(identityapi.Customer{ID: "c1", Email: "ada@example.com", Name: "Ada L."})
	case "POST /api/v1/admin/orders/o1/refunds":
		if token != "owner" {
			f.problem(w, http.StatusForbidden, "forbidden", "your role may not do this")
			return
		}
		var in orderapi.RefundCreate
		_ = json.Unmarshal(b, &in)
		if in.Amount.Amount > f.order.Captured.Amount-f.order.Refunded.Amount {
			f.problem(w, http.StatusConflict, "refund_exceeds_captured", "the refund is more than was captured and not yet refunded")
			return
		}
		f.order.Refunded.Amount += in.Amount.Amount
		out(f.order)
	case "POST /api/v1/admin/orders/o1/shipments":
		var in orderapi.ShipmentCreate
		_ = json.Unmarshal(b, &in)
		if in.TrackingNumber == "BAD" {
			f.problem(w, http.StatusUnprocessableEntity, "validation_failed", "validation failed", "body.tracking_number", "not a tracking number")
			return
		}
		f.order.Shipments = append(f.order.Shipments, orderapi.Shipment{ID: "s2", Carrier: in.Carrier, TrackingNumber: in.TrackingNumber, Status: orderapi.ShipmentShipped})
		out(f.order)
	case "POST /api/v1/admin/orders/o1/returns/r1/receive", "POST /api/v1/admin/orders/o1/shipments/s1/events":
		out(f.order)
	case "GET /api/v1/admin/pricing/tax-rates":
		out(pricingapi.TaxRateList{Items: []pricingapi.TaxRate{{ID: "tr1", Country: "DE", RateBP: 1900, Name: "MwSt"}}})
	case "POST /api/v1/admin/pricing/tax-rates":
		var in pricingapi.TaxRateInput
		_ = json.Unmarshal(b, &in)
		if in.Country == "XX" {
			f.problem(w, http.StatusUnprocessableEntity, "validation_failed", "validation failed", "body.country", "unknown country")
			return
		}
		out(pricingapi.TaxRate{ID: "tr2", Country: in.Country, RateBP: in.RateBP, Name: in.Name})
	case "GET /api/v1/admin/pricing/discounts":
		out(pricingapi.DiscountList{Items: []pricingapi.Discount{f.discount(), {ID: "d2", Name: "Five off", Kind: pricingapi.KindFixed,
			Amount: &money.Money{Amount: 500, Currency: "EUR"}, Scope: pricingapi.ScopeOrder, Active: true}}})
	case "GET /api/v1/admin/pricing/discounts/d1":
		out(f.discount())
	case "PATCH /api/v1/admin/pricing/discounts/d1":
		out(f.discount())
	case "GET /api/v1/admin/pricing/discounts/d404":
		f.problem(w, http.StatusNotFound, "not_found", "no such item")
	default:
		f.problem(w, http.StatusNotFound, "order_not_found", "no such order")
	}
}

// discount is a product coupon with every optional field set.
func (f *orderFakeAPI) discount() pricingapi.Discount {
	starts := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	limit := int64(50)
	return pricingapi.Discount{ID: "d1", Name: "Spring", Code: "SPRING10", Kind: pricingapi.KindPercentage, PercentBP: 1250,
		Scope: pricingapi.ScopeProduct, ProductIDs: []string{"p1", "p2"}, StartsAt: &starts, UsageLimit: &limit, Used: 3,
		MinSubtotal: &money.Money{Amount: 2000, Currency: "EUR"}, Active: true}
}

// lastCall returns the last call to path.
func (f *orderFakeAPI) lastCall(t *testing.T, method, path string) orderFakeCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].Method == method && f.calls[i].Path == path {
			return f.calls[i]
		}
	}
	t.Fatalf("no %s %s", method, path)
	return orderFakeCall{}
}

// orderBrowser is a cookie jar on the admin of a test Service.
type orderBrowser struct {
	t   *testing.T
	url string
	hc  *http.Client
}

// testOrderAdmin serves the order and pricing pages of a Service whose APIs are
// api, with a test-only route that signs in a staff member of a role
// (their access token is the role's name).
func testOrderAdmin(t *testing.T, api http.Handler) func(role string) *orderBrowser {
	t.Helper()
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	sm := scs.New()
	sm.Store = memstore.New()
	s := &Service{log: slog.New(slog.DiscardHandler), deps: Deps{
		Orders: orderapi.NewClient(apiSrv.URL, nil), Payments: paymentapi.NewClient(apiSrv.URL, nil),
		Identity: identityapi.NewClient(apiSrv.URL, nil), Pricing: pricingapi.NewClient(apiSrv.URL, nil),
	}}
	var err error
	s.kit, err = page.New(page.Options{Service: "admin", Prefix: "/admin", Tenants: orderTestStore{}, Sessions: sm, SignInPath: "/admin/sign-in",
		Stores: func(context.Context) (page.Store, error) {
			return page.Store{ID: "t1", Name: "Shop", Currency: "EUR", Locale: "en-GB"}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.kit.Handler(h)) }
	s.orderRoutes(route)
	s.pricingRoutes(route)
	route("GET /test/sign-in/{role}", func(w http.ResponseWriter, r *http.Request) {
		role := r.PathValue("role")
		err := s.kit.SignIn(w, r, page.Principal{Kind: "staff", ID: role, Name: role, Role: role,
			Tokens: page.Tokens{Access: role, Expires: time.Now().Add(time.Hour)}})
		if err != nil {
			t.Error(err)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return func(role string) *orderBrowser {
		jar, _ := cookiejar.New(nil)
		b := &orderBrowser{t: t, url: srv.URL, hc: &http.Client{Jar: &orderHostJar{jar}, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
		if st, _ := b.do("GET", "/test/sign-in/"+role, nil); st != http.StatusOK {
			t.Fatalf("sign in as %s: %d", role, st)
		}
		return b
	}
}

// orderHostJar keeps cookies for shop.localhost whatever the URL's host.
type orderHostJar struct{ jar *cookiejar.Jar }

func (j *orderHostJar) u(u *url.URL) *url.URL {
	c := *u
	c.Host = "shop.localhost"
	return &c
}
func (j *orderHostJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.jar.SetCookies(j.u(u), cs) }
func (j *orderHostJar) Cookies(u *url.URL) []*http.Cookie        { return j.jar.Cookies(j.u(u)) }

// do sends a request to the admin at shop.localhost; redirects are not
// followed (the status and Location are the answer).
func (b *orderBrowser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.url+path, body)
	req.Host = "shop.localhost"
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if loc := res.Header.Get("Location"); loc != "" {
		return res.StatusCode, loc
	}
	return res.StatusCode, string(raw)
}

var orderKeyRe = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

// TestOrderPage renders an order with every part (lines, shipment with
// its tracking forms, a requested and a refund-declined return, payment,
// customer) and checks the actions its role allows.
func TestOrderPage(t *testing.T) {
	t.Parallel()
	api := newOrderFakeAPI()
	as := testOrderAdmin(t, api)
	owner := as("owner")

	st, body := owner.do("GET", "/admin/orders/o1", nil)
	if st != http.StatusOK {
		t.Fatalf("order page: %d %s", st, body)
	}
	for _, want := range []string{
		"Mug &lt;blue&gt;", "Ada L.", "Hauptstraße 1", "WELCOME10", `id="refund-form"`, `id="ship-form"`,
		`action="/admin/orders/o1/shipments/s1/events"`, `action="/admin/orders/o1/returns/r1/receive"`,
		`action="/admin/orders/o1/returns/r1/reject"`, "Retry the refund", "handed to DHL", `id="payment-captured"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="cancel-form"`) {
		t.Error("a shipped order offers to cancel")
	}
	if keys := orderKeyRe.FindAllStringSubmatch(body, -1); len(keys) < 6 || keys[0][1] == keys[1][1] {
		t.Errorf("each form needs its own Idempotency-Key: %v", keys)
	}

	support := as("support")
	st, body = support.do("GET", "/admin/orders/o1", nil)
	if st != http.StatusOK || strings.Contains(body, `id="refund-form"`) || strings.Contains(body, `id="ship-form"`) || strings.Contains(body, "/receive") {
		t.Errorf("support sees actions: %d", st)
	}
	if st, _ := support.do("POST", "/admin/orders/o1/refunds", url.Values{"amount": {"1"}, "idempotency_key": {"support-refund-1"}}); st != http.StatusForbidden {
		t.Errorf("support's refund: %d, want the 403 page", st)
	}

	if st, _ := owner.do("GET", "/admin/orders/nope", nil); st != http.StatusNotFound {
		t.Errorf("unknown order: %d", st)
	}
}

// TestOrderActions posts the order's forms: each call carries the form's
// key, bad input and the API's refusals answer 422 with the field marked
// and the values kept, success 303 back to the order.
func TestOrderActions(t *testing.T) {
	t.Parallel()
	api := newOrderFakeAPI()
	owner := testOrderAdmin(t, api)("owner")

	st, loc := owner.do("POST", "/admin/orders/o1/refunds", url.Values{"amount": {"12,50"}, "reason": {"late"}, "idempotency_key": {"refund-key-1"}})
	if st != http.StatusSeeOther || loc != "/admin/orders/o1" {
		t.Fatalf("refund: %d %s", st, loc)
	}
	if c := api.lastCall(t, "POST", "/api/v1/admin/orders/o1/refunds"); !strings.Contains(c.Body, `"amount":1250`) || !strings.Contains(c.Body, `"key":"refund-key-1"`) || c.Token != "owner" {
		t.Errorf("refund sent %+v", c)
	}

	// Shipping included: 0 typed + 4.90.
	if st, _ := owner.do("POST", "/admin/orders/o1/refunds", url.Values{"include_shipping": {"1"}, "idempotency_key": {"refund-key-2"}}); st != http.StatusSeeOther {
		t.Fatalf("shipping refund: %d", st)
	}
	if c := api.lastCall(t, "POST", "/api/v1/admin/orders/o1/refunds"); !strings.Contains(c.Body, `"amount":490`) {
		t.Errorf("shipping refund sent %s", c.Body)
	}

	// More than is left: marked, typed value kept.
	st, body := owner.do("POST", "/admin/orders/o1/refunds", url.Values{"amount": {"999.99"}, "idempotency_key": {"refund-key-3"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `value="999.99"`) || !strings.Contains(body, "at most 5.50 EUR") ||
		!strings.Contains(body, `aria-describedby="e-amount"`) {
		t.Errorf("over-refund: %d %s", st, body)
	}
	for _, bad := range []string{"12.345", "-3", "ten", ""} {
		if st, _ := owner.do("POST", "/admin/orders/o1/refunds", url.Values{"amount": {bad}}); st != http.StatusUnprocessableEntity {
			t.Errorf("refund of %q: %d", bad, st)
		}
	}

	// Ship: required fields, the API's field refusal, then success with the key.
	st, body = owner.do("POST", "/admin/orders/o1/ship", url.Values{"carrier": {"DHL"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-tracking_number"`) || !strings.Contains(body, `value="DHL"`) {
		t.Errorf("ship without a tracking number: %d", st)
	}
	st, body = owner.do("POST", "/admin/orders/o1/ship", url.Values{"carrier": {"DHL"}, "tracking_number": {"BAD"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "not a tracking number") {
		t.Errorf("ship refused by the API: %d", st)
	}
	if st, _ := owner.do("POST", "/admin/orders/o1/ship", url.Values{"carrier": {"UPS"}, "tracking_number": {"1Z9"}, "idempotency_key": {"ship-key-1"}}); st != http.StatusSeeOther {
		t.Fatalf("ship: %d", st)
	}
	if c := api.lastCall(t, "POST", "/api/v1/admin/orders/o1/shipments"); c.Key != "ship-key-1" {
		t.Errorf("ship sent key %q", c.Key)
	}

	// Tracking: delivered, with the form's key.
	if st, _ := owner.do("POST", "/admin/orders/o1/shipments/s1/events", url.Values{"status": {"delivered"}, "idempotency_key": {"track-key-1"}}); st != http.StatusSeeOther {
		t.Fatalf("deliver: %d", st)
	}
	if c := api.lastCall(t, "POST", "/api/v1/admin/orders/o1/shipments/s1/events"); c.Key != "track-key-1" || !strings.Contains(c.Body, `"delivered"`) {
		t.Errorf("deliver sent %+v", c)
	}
	if st, _ := owner.do("POST", "/admin/orders/o1/shipments/s1/events", url.Values{"status": {"lost"}}); st != http.StatusUnprocessableEntity {
		t.Errorf("tracking event lost: %d", st)
	}

	// A return received with its line not restocked and a typed refund.
	if st, _ := owner.do("POST", "/admin/orders/o1/returns/r1/receive", url.Values{"refund": {"9"}, "idempotency_key": {"receive-key-1"}}); st != http.StatusSeeOther {
		t.Fatalf("receive: %d", st)
	}
	if c := api.lastCall(t, "POST", "/api/v1/admin/orders/o1/returns/r1/receive"); c.Key != "receive-key-1" ||
		!strings.Contains(c.Body, `"restock":[]`) || !strings.Contains(c.Body, `"amount":900`) {
		t.Errorf("receive sent %+v", c)
	}
	st, body = owner.do("POST", "/admin/orders/o1/returns/r1/receive", url.Values{"restock": {"OTHER"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "choose lines of this return") {
		t.Errorf("receive of a line not returned: %d", st)
	}
}

// TestOrderList checks the filters reach the API and bad dates are marked.
func TestOrderList(t *testing.T) {
	t.Parallel()
	api := newOrderFakeAPI()
	owner := testOrderAdmin(t, api)("owner")
	st, body := owner.do("GET", "/admin/orders?status=shipped&email=ada%40example.com&from=2026-03-01&to=2026-03-31", nil)
	if st != http.StatusOK || !strings.Contains(body, `href="/admin/orders/o1"`) || !strings.Contains(body, "cursor=c2") {
		t.Fatalf("list: %d %s", st, body)
	}
	q, _ := url.ParseQuery(api.lastCall(t, "GET", "/api/v1/admin/orders").Query)
	if q.Get("status") != "shipped" || q.Get("email") != "ada@example.com" || q.Get("created_from") != "2026-03-01T00:00:00Z" ||
		q.Get("created_to") != "2026-04-01T00:00:00Z" {
		t.Errorf("list asked %v", q)
	}
	st, body = owner.do("GET", "/admin/orders?from=yesterday", nil)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-from"`) || !strings.Contains(body, `value="yesterday"`) {
		t.Errorf("bad date: %d", st)
	}
}

// TestTaxRateForm: a rate above 100% is marked before any call, the API's
// refusals are marked on their field, a good rate goes in basis points.
func TestTaxRateForm(t *testing.T) {
	t.Parallel()
	api := newOrderFakeAPI()
	owner := testOrderAdmin(t, api)("owner")
	st, body := owner.do("POST", "/admin/tax-rates", url.Values{"country": {"de"}, "rate": {"150"}, "name": {"MwSt"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-rate"`) || !strings.Contains(body, `value="150"`) {
		t.Errorf("150%%: %d", st)
	}
	st, body = owner.do("POST", "/admin/tax-rates", url.Values{"country": {"XX"}, "rate": {"19"}, "name": {"MwSt"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "unknown country") || !strings.Contains(body, `id="e-country"`) {
		t.Errorf("refused country: %d", st)
	}
	if st, _ := owner.do("POST", "/admin/tax-rates", url.Values{"country": {"at"}, "rate": {"7.5"}, "name": {"USt"}, "idempotency_key": {"tax-key-1"}}); st != http.StatusSeeOther {
		t.Fatalf("create: %d", st)
	}
	if c := api.lastCall(t, "POST", "/api/v1/admin/pricing/tax-rates"); c.Key != "tax-key-1" || !strings.Contains(c.Body, `"rate_bp":750`) || !strings.Contains(c.Body, `"country":"AT"`) {
		t.Errorf("create sent %+v", c)
	}
	if st, _ := owner.do("GET", "/admin/discounts/d404", nil); st != http.StatusNotFound {
		t.Errorf("unknown discount: %d", st)
	}
	staff := testOrderAdmin(t, api)("staff")
	if st, body := staff.do("GET", "/admin/tax-rates", nil); st != http.StatusOK || strings.Contains(body, "/delete") || !strings.Contains(body, "19%") {
		t.Errorf("staff's tax rates: %d", st)
	}
	if st, _ := staff.do("GET", "/admin/tax-rates/new", nil); st != http.StatusForbidden {
		t.Errorf("staff's new tax rate: %d", st)
	}
}

// TestDiscountPages lists discounts and edits one: its form shows its
// values, kind, scope and code cannot change, and the update sends what
// the form says.
func TestDiscountPages(t *testing.T) {
	t.Parallel()
	api := newOrderFakeAPI()
	owner := testOrderAdmin(t, api)("owner")
	st, body := owner.do("GET", "/admin/discounts", nil)
	if st != http.StatusOK || !strings.Contains(body, "12.5%") || !strings.Contains(body, "€ 5.00") || !strings.Contains(body, "2 products") ||
		!strings.Contains(body, "3 of 50") || !strings.Contains(body, `data-confirm="Delete the discount Spring?"`) {
		t.Fatalf("discounts: %d %s", st, body)
	}
	st, body = owner.do("GET", "/admin/discounts/d1", nil)
	for _, want := range []string{`name="percent" type="text" value="12.5"`, `value="2026-03-01T09:00"`, "p1\np2", `name="min_subtotal" type="text" value="20.00"`,
		`name="active" value="1" checked`, "SPRING10"} {
		if !strings.Contains(body, want) {
			t.Errorf("discount form lacks %q", want)
		}
	}
	if st != http.StatusOK || strings.Contains(body, `name="kind"`) || strings.Contains(body, `name="code"`) || strings.Contains(body, `name="amount"`) {
		t.Errorf("discount form: %d, offers to change kind, code or amount", st)
	}
	st, _ = owner.do("POST", "/admin/discounts/d1", url.Values{"name": {"Spring"}, "percent": {"15"}, "product_ids": {"p1, p3"}, "priority": {"2"}})
	if st != http.StatusSeeOther {
		t.Fatalf("update: %d", st)
	}
	c := api.lastCall(t, "PATCH", "/api/v1/admin/pricing/discounts/d1")
	var u map[string]any
	_ = json.Unmarshal([]byte(c.Body), &u)
	if u["percent_bp"] != float64(1500) || u["active"] != false || u["priority"] != float64(2) || fmt.Sprint(u["product_ids"]) != "[p1 p3]" {
		t.Errorf("update sent %s", c.Body)
	}
	// The fields left blank are emptied, not kept as they were.
	if fmt.Sprint(u["clear"]) != "[ends_at min_subtotal starts_at usage_limit usage_limit_per_customer]" {
		t.Errorf("update clears %v, want every blank optional field", u["clear"])
	}
	st, body = owner.do("POST", "/admin/discounts/d1", url.Values{"name": {"Spring"}, "percent": {"15"}, "product_ids": {""}, "ends_at": {"2026-02-01T00:00"}, "starts_at": {"2026-03-01T00:00"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-ends_at"`) {
		t.Errorf("ends before it starts: %d", st)
	}
}

func TestFormReaders(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"19": 1900, "7.5": 750, "0": 0, "100": 10000, "12,25%": 1225} {
		f := page.EmptyForm(url.Values{"p": {in}})
		if got, ok := readPercent(f, "p"); !ok || got != want {
			t.Errorf("readPercent(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"100.01", "abc", "1.234", "", "-1"} {
		if _, ok := readPercent(page.EmptyForm(url.Values{"p": {in}}), "p"); ok {
			t.Errorf("readPercent(%q) passed", in)
		}
	}
	for bp, want := range map[int64]string{1900: "19", 750: "7.5", 1225: "12.25", 0: "0", 5: "0.05"} {
		if got := percentText(bp); got != want {
			t.Errorf("percentText(%d) = %q, want %q", bp, got, want)
		}
	}
	if got := splitList("a, b;c\n d\r\n"); strings.Join(got, "|") != "a|b|c|d" {
		t.Errorf("splitList: %q", got)
	}
	f := page.EmptyForm(url.Values{"at": {"2026-03-01T09:30"}})
	if got := readTime(f, "at"); got == nil || !got.Equal(time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)) || timeText(got) != "2026-03-01T09:30" {
		t.Errorf("readTime: %v", got)
	}
}

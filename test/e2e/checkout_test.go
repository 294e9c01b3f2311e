package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

// The checkout tests run the real binary on SQLite and, when
// MERCATO_TEST_POSTGRES is set, on a scratch PostgreSQL database, and
// check what the issue asks of the commerce core: no oversold stock, no
// second order or charge for a retried request, nothing left reserved or
// authorized by a failed or interrupted checkout.

// engines returns the database shapes to run on: name → extra flags. The
// tests pay with the fake provider's tokens, so on PostgreSQL (no longer
// the laptop shape) they enable it, as a test deployment would.
func engines(t *testing.T) map[string]func(t *testing.T) []string {
	m := map[string]func(t *testing.T) []string{
		"sqlite": func(*testing.T) []string { return nil },
	}
	if pg := os.Getenv("MERCATO_TEST_POSTGRES"); pg != "" {
		m["postgres"] = func(t *testing.T) []string { return []string{"-db=" + scratchDatabase(t, pg), "-payment.fake=true"} }
	}
	return m
}

// shop is a running Mercato with demo data, on one engine.
type shop struct {
	t    *testing.T
	p    *harness.Proc
	data string
	args []string
}

// openShop starts Mercato with the demo store on the engine's flags. On
// PostgreSQL the demo data is seeded first with `mercato seed -demo`, as an
// operator would.
func openShop(t *testing.T, engineFlags []string, extra ...string) *shop {
	t.Helper()
	s := &shop{t: t, data: t.TempDir()}
	s.args = append([]string{"-data=" + s.data}, engineFlags...)
	if harness.UsesPostgres(engineFlags) {
		harness.HoldPostgres(t)
	}
	if len(engineFlags) > 0 {
		out, err := exec.Command(binary, append([]string{"seed", "-demo", "-log.level=warn"}, s.args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("seed -demo: %v\n%s", err, out)
		}
	}
	s.p = harness.Start(t, binary, nil, append(append([]string{}, s.args...), extra...)...)
	if s.p.Token == "" {
		raw, err := os.ReadFile(s.data + "/admin-token")
		if err != nil {
			t.Fatalf("read admin token: %v", err)
		}
		s.p.Token = strings.TrimSpace(string(raw))
	}
	return s
}

// restart starts the shop's binary again on the same data, with extra flags.
func (s *shop) restart(extra ...string) {
	s.t.Helper()
	token := s.p.Token
	s.p = harness.Start(s.t, binary, nil, append(append([]string{}, s.args...), extra...)...)
	s.p.Token = token
}

func (s *shop) admin() map[string]string { return s.p.Admin() }

// newSKU creates an active product with one variant at €12.90 and gives it
// stock, then waits until pricing quotes it (pricing learns of products
// from catalog events).
func (s *shop) newSKU(stock int64) string {
	s.t.Helper()
	sku := "T-" + randomHex(4)
	r := s.p.Call("POST", "/api/v1/admin/products", map[string]any{
		"title": "Test product " + sku, "status": "active",
		"variants": []map[string]any{{"sku": sku, "price": map[string]any{"amount": 1290, "currency": "EUR"}}},
	}, s.admin())
	if r.Status != http.StatusCreated {
		s.t.Fatalf("create product: %d %s", r.Status, r.Body)
	}
	if stock > 0 {
		r = s.p.Call("POST", "/api/v1/admin/inventory/"+sku+"/adjustments", map[string]any{"delta": stock, "reason": "test stock"}, s.admin())
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			s.t.Fatalf("adjust stock: %d %s", r.Status, r.Body)
		}
	}
	// Pricing and carts learn of products from catalog events: wait for both.
	items := []map[string]any{{"sku": sku, "quantity": 1}}
	deadline := time.Now().Add(15 * time.Second)
	for _, probe := range []struct{ path, what string }{{"/api/v1/quote", "pricing"}, {"/api/v1/carts", "the cart service"}} {
		for {
			r = s.p.Call("POST", probe.path, map[string]any{"items": items}, nil)
			if r.Status == http.StatusOK || r.Status == http.StatusCreated {
				break
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("%s never learnt of %s: %d %s", probe.what, sku, r.Status, r.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return sku
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// checkoutBody is a valid guest checkout of items (sku → quantity) paid
// with token.
func checkoutBody(email, token string, items map[string]int) map[string]any {
	lines := []map[string]any{}
	for sku, q := range items {
		lines = append(lines, map[string]any{"sku": sku, "quantity": q})
	}
	return map[string]any{
		"items": lines,
		"email": email,
		"shipping_address": map[string]any{
			"name": "Ada Lovelace", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE",
		},
		"payment": map[string]any{"provider": "fake", "token": token},
	}
}

// checkout posts body with a fresh Idempotency-Key, or key when given.
func (s *shop) checkout(body any, key string) harness.Response {
	s.t.Helper()
	if key == "" {
		key = "k-" + randomHex(8)
	}
	return s.p.Call("POST", "/api/v1/checkout", body, map[string]string{"Idempotency-Key": key})
}

type stockLevel struct {
	SKU       string `json:"sku"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

func (s *shop) stock(sku string) stockLevel {
	s.t.Helper()
	r := s.p.Call("GET", "/api/v1/admin/inventory/"+sku, nil, s.admin())
	if r.Status != http.StatusOK {
		s.t.Fatalf("stock of %s: %d %s", sku, r.Status, r.Body)
	}
	var l stockLevel
	r.JSON(s.t, &l)
	return l
}

type order struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Token        string `json:"token"`
	CancelReason string `json:"cancel_reason"`
	Total        money  `json:"total"`
	Captured     money  `json:"captured"`
	Refunded     money  `json:"refunded"`
	TotalDue     money  `json:"total_due"`
	Lines        []struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	} `json:"lines"`
}

type money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

type payment struct {
	OrderID  string `json:"order_id"`
	Status   string `json:"status"`
	Amount   money  `json:"amount"`
	Captured money  `json:"captured"`
	Refunded money  `json:"refunded"`
}

// payment returns the order's payment, or false when it has none.
func (s *shop) payment(orderID string) (payment, bool) {
	s.t.Helper()
	r := s.p.Call("GET", "/api/v1/admin/payments/"+orderID, nil, s.admin())
	if r.Status == http.StatusNotFound {
		return payment{}, false
	}
	if r.Status != http.StatusOK {
		s.t.Fatalf("payment of %s: %d %s", orderID, r.Status, r.Body)
	}
	var p payment
	r.JSON(s.t, &p)
	return p, true
}

// ordersOf lists the admin view of every order placed with email.
func (s *shop) ordersOf(email string) []order {
	s.t.Helper()
	r := s.p.Call("GET", "/api/v1/admin/orders?limit=100&email="+email, nil, s.admin())
	if r.Status != http.StatusOK {
		s.t.Fatalf("list orders: %d %s", r.Status, r.Body)
	}
	var l struct {
		Items []order `json:"items"`
	}
	r.JSON(s.t, &l)
	return l.Items
}

func TestLastUnitRace(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			sku := s.newSKU(10)
			const buyers = 200
			type outcome struct {
				status int
				body   []byte
			}
			outcomes := make([]outcome, buyers)
			var wg sync.WaitGroup
			for i := range buyers {
				wg.Go(func() {
					r := s.checkout(checkoutBody(fmt.Sprintf("buyer%d@example.com", i), "tok_visa", map[string]int{sku: 1}), "")
					outcomes[i] = outcome{r.Status, r.Body}
				})
			}
			wg.Wait()
			confirmed, sold := 0, 0
			for _, o := range outcomes {
				switch o.status {
				case http.StatusCreated:
					var ord order
					if err := json.Unmarshal(o.body, &ord); err != nil || ord.Status != "confirmed" {
						t.Fatalf("201 without a confirmed order: %s", o.body)
					}
					confirmed++
				case http.StatusConflict:
					var p problem
					if err := json.Unmarshal(o.body, &p); err != nil || p.Code != "out_of_stock" || !strings.Contains(p.Detail, sku) {
						t.Fatalf("409 is not out_of_stock naming %s: %s", sku, o.body)
					}
					sold++
				default:
					t.Fatalf("unexpected answer %d %s", o.status, o.body)
				}
			}
			if confirmed != 10 || sold != buyers-10 {
				t.Fatalf("confirmed %d, out_of_stock %d; want 10 and %d", confirmed, sold, buyers-10)
			}
			if l := s.stock(sku); l.Available != 0 || l.OnHand != 0 || l.Reserved != 0 {
				t.Errorf("after the race: %+v, want on hand, reserved and available 0", l)
			}
			// The ledger explains the stock: every on-hand change adds up.
			r := s.p.Call("GET", "/api/v1/admin/inventory/movements?limit=100&sku="+sku, nil, s.admin())
			var mv struct {
				Items []struct {
					DeltaOnHand   int64 `json:"delta_on_hand"`
					DeltaReserved int64 `json:"delta_reserved"`
				} `json:"items"`
			}
			r.JSON(t, &mv)
			var onHand, reserved int64
			for _, m := range mv.Items {
				onHand += m.DeltaOnHand
				reserved += m.DeltaReserved
			}
			if onHand != 0 || reserved != 0 || len(mv.Items) == 0 {
				t.Errorf("ledger sums: on hand %d, reserved %d over %d movements; want 0 and 0", onHand, reserved, len(mv.Items))
			}
		})
	}
}

func TestCheckoutIdempotency(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			sku := s.newSKU(50)
			email := "retry-" + strings.ToLower(randomHex(3)) + "@example.com"
			body := checkoutBody(email, "tok_visa", map[string]int{sku: 2})
			key := "retry-" + randomHex(8)
			ids := make([]string, 20)
			tokens := make([]string, 20)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() {
					r := s.checkout(body, key)
					if r.Status != http.StatusCreated {
						t.Errorf("attempt %d: %d %s", i, r.Status, r.Body)
						return
					}
					var o order
					_ = json.Unmarshal(r.Body, &o)
					ids[i], tokens[i] = o.ID, o.Token
				})
			}
			wg.Wait()
			for i, id := range ids {
				if id == "" || id != ids[0] || tokens[i] == "" || tokens[i] != tokens[0] {
					t.Fatalf("order IDs %v, tokens %v: want one order, every answer with its token", ids, tokens)
				}
			}
			if r := s.p.Call("GET", "/api/v1/orders/"+ids[0]+"?token="+tokens[0], nil, nil); r.Status != http.StatusOK {
				t.Errorf("the guest's token does not open the order: %d %s", r.Status, r.Body)
			}
			if r := s.p.Call("GET", "/api/v1/orders/"+ids[0]+"?token=wrong", nil, nil); r.Status != http.StatusNotFound {
				t.Errorf("a wrong token: %d, want 404", r.Status)
			}
			if got := s.ordersOf(email); len(got) != 1 {
				t.Fatalf("%d orders for %s, want 1", len(got), email)
			}
			pay, ok := s.payment(ids[0])
			if !ok || pay.Status != "authorized" {
				t.Fatalf("payment %+v (found %v), want one authorization", pay, ok)
			}
			if l := s.stock(sku); l.OnHand != 48 || l.Reserved != 0 {
				t.Errorf("stock %+v, want 2 sold once", l)
			}
			// The same key with another body is refused, not a second order.
			r := s.checkout(checkoutBody(email, "tok_visa", map[string]int{sku: 3}), key)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("same key, other body: %d %s", r.Status, r.Body)
			}
			// No key: refused before anything happens.
			r = s.p.Call("POST", "/api/v1/checkout", body, nil)
			if r.Status/100 != 4 {
				t.Errorf("no Idempotency-Key: %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestFailedPaymentsLeaveStock(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			sku := s.newSKU(5)
			before := s.stock(sku)
			for _, tc := range []struct{ token, code string }{
				{"tok_declined", "payment_declined"},
				{"tok_insufficient_funds", "payment_declined"},
				{"tok_timeout", "payment_timeout"},
			} {
				email := "fail-" + strings.ToLower(randomHex(3)) + "@example.com"
				r := s.checkout(checkoutBody(email, tc.token, map[string]int{sku: 2}), "")
				var p problem
				r.JSON(t, &p)
				if r.Status/100 != 4 && r.Status != http.StatusGatewayTimeout || p.Code != tc.code {
					t.Errorf("%s: %d %s, want code %s", tc.token, r.Status, r.Body, tc.code)
				}
				if tc.token == "tok_insufficient_funds" && !strings.Contains(string(r.Body), "insufficient_funds") {
					t.Errorf("%s: the reason is not named: %s", tc.token, r.Body)
				}
				if got := s.stock(sku); got != before {
					t.Errorf("%s: stock %+v, want as before %+v", tc.token, got, before)
				}
				for _, o := range s.ordersOf(email) {
					if o.Status != "cancelled" {
						t.Errorf("%s: order %s is %s, want cancelled", tc.token, o.ID, o.Status)
					}
					if pay, ok := s.payment(o.ID); ok && (pay.Status == "authorized" || pay.Captured.Amount != 0) {
						t.Errorf("%s: payment left %+v", tc.token, pay)
					}
				}
			}
		})
	}
}

func TestBadCheckoutsChangeNothing(t *testing.T) {
	t.Parallel()
	s := openShop(t, nil)
	sku := s.newSKU(5)
	before := s.stock(sku)
	valid := func() map[string]any { return checkoutBody("bad@example.com", "tok_visa", map[string]int{sku: 1}) }
	with := func(f func(b map[string]any)) map[string]any { b := valid(); f(b); return b }
	address := func(b map[string]any) map[string]any { return b["shipping_address"].(map[string]any) }
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unknown sku", checkoutBody("bad@example.com", "tok_visa", map[string]int{"NO-SUCH-SKU": 1}), 422, "unknown_sku"},
		{"zero quantity", checkoutBody("bad@example.com", "tok_visa", map[string]int{sku: 0}), 422, ""},
		{"negative quantity", checkoutBody("bad@example.com", "tok_visa", map[string]int{sku: -1}), 422, ""},
		{"absurd quantity", checkoutBody("bad@example.com", "tok_visa", map[string]int{sku: 10001}), 422, ""},
		{"unknown coupon", with(func(b map[string]any) { b["coupon"] = "NOPE" }), 422, "unknown_coupon"},
		{"expired coupon", with(func(b map[string]any) { b["coupon"] = "SUMMER24" }), 422, "coupon_expired"},
		{"missing city", with(func(b map[string]any) { delete(address(b), "city") }), 422, ""},
		{"bad country", with(func(b map[string]any) { address(b)["country"] = "XX" }), 422, ""},
		{"bad email", with(func(b map[string]any) { b["email"] = "not-an-email" }), 422, ""},
		{"no items", with(func(b map[string]any) { b["items"] = []any{} }), 422, ""},
		{"unknown shipping method", with(func(b map[string]any) { b["shipping_method"] = "teleport" }), 422, "unknown_shipping_method"},
		{"provider not configured", with(func(b map[string]any) { b["payment"] = map[string]any{"provider": "stripe", "token": "tok_visa"} }), 422, "unknown_provider"},
		{"unknown cart", map[string]any{"cart_id": "cart_nope", "email": "bad@example.com", "shipping_address": address(valid()), "payment": valid()["payment"]}, 422, "cart_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.checkout(tt.body, "")
			var p problem
			r.JSON(t, &p)
			if r.Status != tt.status || (tt.code != "" && p.Code != tt.code) || p.Code == "" {
				t.Errorf("%d %s; want %d %s", r.Status, r.Body, tt.status, tt.code)
			}
		})
	}
	if got := s.stock(sku); got != before {
		t.Errorf("stock %+v after bad checkouts, want %+v", got, before)
	}
	if got := s.ordersOf("bad@example.com"); len(got) != 0 {
		t.Errorf("bad checkouts left %d orders", len(got))
	}
}

// TestCrashMidSaga kills the process right after the reservation, and
// right after the authorization, of a checkout (a hidden fault-injection
// flag makes it exit there), starts it again, and checks that the saga is
// finished: the order confirmed or cancelled, nothing held, nothing
// authorized without a confirmed order.
func TestCrashMidSaga(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			engine := flags(t)
			for _, step := range []string{"reserve", "authorize"} {
				t.Run(step, func(t *testing.T) {
					s := openShop(t, engine, "-order.crash-after="+step)
					sku := s.newSKU(5)
					email := "crash-" + step + "-" + strings.ToLower(randomHex(3)) + "@example.com"
					req, _ := json.Marshal(checkoutBody(email, "tok_visa", map[string]int{sku: 2}))
					hreq, _ := http.NewRequest("POST", s.p.URL+"/api/v1/checkout", strings.NewReader(string(req)))
					hreq.Header.Set("Content-Type", "application/json")
					hreq.Header.Set("Idempotency-Key", "crash-"+randomHex(6))
					if resp, err := http.DefaultClient.Do(hreq); err == nil {
						resp.Body.Close()
						t.Fatalf("the checkout answered %d: the process should have died after %s", resp.StatusCode, step)
					}
					if err := s.p.WaitExit(30 * time.Second); err == nil {
						t.Fatal("the process exited with status 0: the fault was not injected")
					}
					s.restart("-order.saga-lease=1s")
					deadline := time.Now().Add(30 * time.Second)
					for {
						orders := s.ordersOf(email)
						if len(orders) == 1 && (orders[0].Status == "confirmed" || orders[0].Status == "cancelled") {
							o := orders[0]
							l := s.stock(sku)
							pay, hasPay := s.payment(o.ID)
							switch o.Status {
							case "confirmed":
								if l.OnHand != 3 || l.Reserved != 0 || !hasPay || pay.Status != "authorized" || pay.Amount != o.Total {
									t.Errorf("confirmed after restart, but stock %+v, payment %+v (found %v)", l, pay, hasPay)
								}
							case "cancelled":
								if l.OnHand != 5 || l.Reserved != 0 || (hasPay && pay.Status == "authorized") {
									t.Errorf("cancelled after restart, but stock %+v, payment %+v", l, pay)
								}
							}
							t.Logf("after a crash after %s the order ended %s (%s)", step, o.Status, o.CancelReason)
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("orders %+v not finished 30 s after restart", orders)
						}
						time.Sleep(200 * time.Millisecond)
					}
					s.p.Stop()
				})
			}
		})
	}
}

// TestOrderLifecycle walks an order through everything after checkout,
// over HTTP: a cart with a coupon, checkout, the guest's view, shipment
// (capture), tracking to delivery, a return of one unit received with
// restock and refund, a staff refund of shipping, a refund beyond what was
// captured refused; and a second order cancelled before shipment. The
// money invariant total_due = total − captured + refunded holds throughout.
func TestOrderLifecycle(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			sku := s.newSKU(10)
			adm := s.admin()
			check := func(o order) {
				t.Helper()
				if o.TotalDue.Amount != o.Total.Amount-o.Captured.Amount+o.Refunded.Amount {
					t.Fatalf("total_due %d ≠ total %d − captured %d + refunded %d", o.TotalDue.Amount, o.Total.Amount, o.Captured.Amount, o.Refunded.Amount)
				}
			}
			decode := func(r harness.Response, want int) order {
				t.Helper()
				if r.Status != want {
					t.Fatalf("%d %s, want %d", r.Status, r.Body, want)
				}
				var o order
				r.JSON(t, &o)
				check(o)
				return o
			}

			r := s.p.Call("POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": sku, "quantity": 2}}}, nil)
			if r.Status != http.StatusCreated {
				t.Fatalf("create cart: %d %s", r.Status, r.Body)
			}
			var cart struct {
				ID string `json:"id"`
			}
			r.JSON(t, &cart)
			if r = s.p.Call("PATCH", "/api/v1/carts/"+cart.ID, map[string]any{"coupon": "WELCOME10"}, nil); r.Status != http.StatusOK {
				t.Fatalf("coupon on cart: %d %s", r.Status, r.Body)
			}
			body := checkoutBody("life@example.com", "tok_visa", nil)
			delete(body, "items")
			body["cart_id"] = cart.ID
			o := decode(s.checkout(body, ""), http.StatusCreated)
			if o.Status != "confirmed" || o.Token == "" || o.Captured.Amount != 0 {
				t.Fatalf("checkout: %+v", o)
			}
			token := o.Token
			// The cart learns it was checked out (from order.confirmed.v1).
			deadline := time.Now().Add(10 * time.Second)
			for {
				r = s.p.Call("GET", "/api/v1/carts/"+cart.ID, nil, nil)
				if strings.Contains(string(r.Body), `"status":"checked_out"`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("cart not checked out: %s", r.Body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if r = s.p.Call("GET", "/api/v1/orders/"+o.ID+"?token="+token, nil, nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), `"token"`) {
				t.Fatalf("guest view: %d %s (it must not repeat the token)", r.Status, r.Body)
			}

			var shipped struct {
				order
				Shipments []struct {
					ID string `json:"id"`
				} `json:"shipments"`
			}
			r = s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "00340434161234567890"}, adm)
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Fatalf("ship: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &shipped)
			check(shipped.order)
			if shipped.Status != "shipped" || shipped.Captured != shipped.Total || len(shipped.Shipments) != 1 {
				t.Fatalf("after shipment: %s", r.Body)
			}
			if pay, _ := s.payment(o.ID); pay.Captured != o.Total {
				t.Fatalf("payment after shipment: %+v", pay)
			}
			o = decode(s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/shipments/"+shipped.Shipments[0].ID+"/events", map[string]any{"status": "delivered", "location": "Berlin"}, adm), http.StatusOK)
			if o.Status != "delivered" {
				t.Fatalf("after delivery: %+v", o)
			}
			// The customer sees the tracking.
			if r = s.p.Call("GET", "/api/v1/orders/"+o.ID, nil, map[string]string{"X-Order-Token": token}); !strings.Contains(string(r.Body), "00340434161234567890") || !strings.Contains(string(r.Body), "delivered") {
				t.Fatalf("tracking not visible to the customer: %s", r.Body)
			}

			var returned struct {
				order
				Returns []struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				} `json:"returns"`
			}
			r = s.p.Call("POST", "/api/v1/orders/"+o.ID+"/returns?token="+token, map[string]any{"lines": []map[string]any{{"sku": sku, "quantity": 1}}, "reason": "broken"}, nil)
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Fatalf("request return: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &returned)
			if len(returned.Returns) != 1 || returned.Returns[0].Status != "requested" {
				t.Fatalf("return: %s", r.Body)
			}
			if r = s.p.Call("POST", "/api/v1/orders/"+o.ID+"/returns?token="+token, map[string]any{"lines": []map[string]any{{"sku": sku, "quantity": 5}}}, nil); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("returning more than shipped: %d %s", r.Status, r.Body)
			}
			before := s.stock(sku)
			o = decode(s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/returns/"+returned.Returns[0].ID+"/receive", map[string]any{"restock": []string{sku}}, adm), http.StatusOK)
			if o.Refunded.Amount <= 0 || o.Refunded.Amount > o.Captured.Amount {
				t.Fatalf("after the return: %+v", o)
			}
			if after := s.stock(sku); after.OnHand != before.OnHand+1 {
				t.Errorf("restock: on hand %d → %d, want +1", before.OnHand, after.OnHand)
			}
			// Staff refunds the shipping too, twice with one key (one refund),
			// then asks for more than is left.
			left := o.Captured.Amount - o.Refunded.Amount
			refund := map[string]any{"amount": map[string]any{"amount": 490, "currency": "EUR"}, "reason": "shipping", "key": "ship-refund"}
			o = decode(s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/refunds", refund, adm), http.StatusOK)
			o2 := decode(s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/refunds", refund, adm), http.StatusOK)
			if o2.Refunded != o.Refunded {
				t.Errorf("the same refund key refunded twice: %d then %d", o.Refunded.Amount, o2.Refunded.Amount)
			}
			r = s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/refunds", map[string]any{"amount": map[string]any{"amount": left, "currency": "EUR"}, "reason": "too much", "key": "too-much"}, adm)
			var p problem
			r.JSON(t, &p)
			if r.Status != http.StatusConflict || p.Code != "refund_exceeds_captured" {
				t.Errorf("refund beyond captured: %d %s", r.Status, r.Body)
			}
			if pay, _ := s.payment(o.ID); pay.Refunded != o.Refunded {
				t.Errorf("payment refunded %d, order says %d", pay.Refunded.Amount, o.Refunded.Amount)
			}

			// A second order, cancelled by the guest before shipment: stock
			// back, authorization voided.
			before = s.stock(sku)
			o = decode(s.checkout(checkoutBody("life@example.com", "tok_visa", map[string]int{sku: 3}), ""), http.StatusCreated)
			o = decode(s.p.Call("POST", "/api/v1/orders/"+o.ID+"/cancel?token="+o.Token, nil, nil), http.StatusOK)
			if o.Status != "cancelled" {
				t.Fatalf("guest cancel: %+v", o)
			}
			if after := s.stock(sku); after != before {
				t.Errorf("stock after cancel %+v, want %+v", after, before)
			}
			if pay, _ := s.payment(o.ID); pay.Status != "voided" {
				t.Errorf("payment after cancel: %+v", pay)
			}
		})
	}
}

// TestOneOrderPerCart checks out one cart from two tabs at once, with two
// different Idempotency-Keys: one order, one charge; the other is told the
// cart is checked out.
func TestOneOrderPerCart(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			sku := s.newSKU(10)
			for round := range 5 {
				r := s.p.Call("POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": sku, "quantity": 1}}}, nil)
				var cart struct {
					ID string `json:"id"`
				}
				r.JSON(t, &cart)
				email := fmt.Sprintf("tabs%d-%s@example.com", round, strings.ToLower(randomHex(3)))
				body := checkoutBody(email, "tok_visa", nil)
				delete(body, "items")
				body["cart_id"] = cart.ID
				statuses := make([]int, 2)
				var wg sync.WaitGroup
				for i := range statuses {
					wg.Go(func() { statuses[i] = s.checkout(body, "").Status })
				}
				wg.Wait()
				created, refused := 0, 0
				for _, st := range statuses {
					switch st {
					case http.StatusCreated:
						created++
					case http.StatusConflict:
						refused++
					}
				}
				if created != 1 || refused != 1 {
					t.Fatalf("round %d: statuses %v, want one 201 and one 409", round, statuses)
				}
				if n := len(s.ordersOf(email)); n != 1 {
					t.Fatalf("round %d: %d orders for one cart", round, n)
				}
			}
			if l := s.stock(sku); l.OnHand != 5 || l.Reserved != 0 {
				t.Errorf("stock %+v, want 5 sold once each", l)
			}
		})
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/test/harness"
)

// problemAt decodes a 422 and returns the message at location, or "".
func problemAt(t *testing.T, body []byte, location string) string {
	t.Helper()
	var p struct {
		Code   string `json:"code"`
		Errors []struct {
			Location string `json:"location"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode problem: %v: %s", err, body)
	}
	for _, e := range p.Errors {
		if e.Location == location {
			return e.Message
		}
	}
	return ""
}

// withBad marshals body and puts bad, raw bytes inside a JSON string, where
// the string "@BAD@" is.
func withBad(t *testing.T, body any, bad string) string {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("@BAD@")) {
		t.Fatalf("no @BAD@ in %s", raw)
	}
	return string(bytes.ReplaceAll(raw, []byte("@BAD@"), []byte(bad)))
}

// TestTextRules: one rule for text in every service. NUL, BEL, a bidi
// override and invalid UTF-8 get the same 422 in a product title, a
// shipping address line, a customer name, a store name, an employee name
// and a coupon code; a line break gets it in every single-line field; and
// nothing is written.
func TestTextRules(t *testing.T) {
	t.Parallel()
	s := openShop(t, nil)
	admin := s.admin()
	key := func() map[string]string { return map[string]string{"Idempotency-Key": "k-" + randomHex(8)} }
	email := "text-" + strings.ToLower(randomHex(4)) + "@example.com"
	checkout := checkoutBody(email, "tok_visa", map[string]int{"MUG-1": 1})
	checkout["shipping_address"].(map[string]any)["line1"] = "Haupt@BAD@straße 1"

	ops := []struct {
		name, method, path string
		body               any
		hdr                map[string]string
		location           string
		singleLine         bool // also refuses a line break, with the same message
	}{
		{"product title", "POST", "/api/v1/admin/products", map[string]any{"title": "M@BAD@ug",
			"variants": []map[string]any{{"sku": "TXT-1", "price": map[string]any{"amount": 100, "currency": "EUR"}}}}, admin, "body.title", true},
		{"shipping address line", "POST", "/api/v1/checkout", checkout, key(), "body.shipping_address.line1", true},
		{"customer name", "POST", "/api/v1/auth/register", map[string]any{"email": email, "password": "correct horse battery staple", "name": "A@BAD@da"}, nil, "body.name", true},
		{"store name", "PATCH", "/api/v1/admin/store", map[string]any{"name": "Sh@BAD@op"}, admin, "body.name", true},
		{"employee name", "POST", "/api/v1/admin/staff/employees", map[string]any{"name": "B@BAD@o", "role": "staff"}, admin, "body.name", true},
		{"coupon code", "POST", "/api/v1/admin/pricing/discounts", map[string]any{"name": "Ten", "kind": "percentage", "percent_bp": 1000, "code": "T@BAD@EN"}, admin, "body.code", false},
		{"cart coupon", "POST", "/api/v1/carts", map[string]any{"coupon": "T@BAD@EN"}, nil, "body.coupon", false},
	}
	bads := []struct {
		name, raw, location, message string
	}{
		{"NUL", `\u0000`, "", text.MsgControl},
		{"BEL", `\u0007`, "", text.MsgControl},
		{"U+202E escaped", `\u202e`, "", text.MsgControl},
		{"U+202E raw", "\u202e", "", text.MsgControl},
		{"U+2066", `\u2066`, "", text.MsgControl},
		{"DEL", `\u007f`, "", text.MsgControl},
		{"invalid UTF-8", "\xff", "body", text.MsgUTF8},
		{"lone surrogate", `\ud800`, "body", text.MsgUTF8},
	}
	storeName := func() string {
		var st struct {
			Name string `json:"name"`
		}
		s.p.Call("GET", "/api/v1/admin/store", nil, admin).JSON(t, &st)
		return st.Name
	}
	name := storeName()
	for _, op := range ops {
		for _, bad := range bads {
			t.Run(op.name+"/"+bad.name, func(t *testing.T) {
				r := s.p.Call(op.method, op.path, withBad(t, op.body, bad.raw), op.hdr)
				loc := bad.location
				if loc == "" {
					loc = op.location
				}
				if r.Status != http.StatusUnprocessableEntity || problemAt(t, r.Body, loc) != bad.message {
					t.Fatalf("%d %s, want 422 %q at %s", r.Status, r.Body, bad.message, loc)
				}
			})
		}
		if op.singleLine {
			for _, lb := range []string{`\n`, `\t`, `\r`} {
				t.Run(op.name+"/line break "+lb, func(t *testing.T) {
					r := s.p.Call(op.method, op.path, withBad(t, op.body, lb), op.hdr)
					if r.Status != http.StatusUnprocessableEntity || problemAt(t, r.Body, op.location) != text.MsgControl {
						t.Fatalf("%d %s, want 422 %q at %s", r.Status, r.Body, text.MsgControl, op.location)
					}
				})
			}
		}
	}
	// A multi-line field keeps its line breaks.
	r := s.p.Call("POST", "/api/v1/admin/products", map[string]any{"title": "Lines", "description": "one\ntwo\tthree",
		"variants": []map[string]any{{"sku": "TXT-LINES", "price": map[string]any{"amount": 100, "currency": "EUR"}}}}, admin)
	if r.Status != http.StatusCreated || !strings.Contains(string(r.Body), `one\ntwo\tthree`) {
		t.Fatalf("multi-line description: %d %s", r.Status, r.Body)
	}

	// Nothing was written by the refusals.
	if orders := s.ordersOf(email); len(orders) != 0 {
		t.Errorf("refused checkouts wrote %d orders", len(orders))
	}
	if r := s.p.Call("GET", "/api/v1/admin/products?limit=100", nil, admin); strings.Contains(string(r.Body), "TXT-1") {
		t.Errorf("a refused product was stored: %s", r.Body)
	}
	if got := storeName(); got != name {
		t.Errorf("store name %q after refused changes, want %q", got, name)
	}
}

// TestSharedValues: a value one service accepts is one the others accept:
// the catalog refuses a SKU inventory could never stock, and a SKU it takes
// can be stocked; a price must be in the store's currency and a cart has
// the store's currency before its first line; an employee's account must be
// a staff account of the same store.
func TestSharedValues(t *testing.T) {
	t.Parallel()
	s := openShop(t, nil)
	admin := s.admin()
	product := func(sku, currency string) harness.Response {
		return s.p.Call("POST", "/api/v1/admin/products", map[string]any{"title": "Shared " + sku, "status": "active",
			"variants": []map[string]any{{"sku": sku, "price": map[string]any{"amount": 100, "currency": currency}}}}, admin)
	}
	for _, sku := range []string{"../../etc/passwd", "A/B", "MUG 1", ".hidden", "KAFFEE-Ä", "MUG?x=1", strings.Repeat("A", 65)} {
		r := product(sku, "EUR")
		if r.Status != http.StatusUnprocessableEntity || problemAt(t, r.Body, "body.variants[0].sku") == "" {
			t.Errorf("SKU %q: %d %s, want 422 at body.variants[0].sku", sku, r.Status, r.Body)
		}
	}
	sku := "Shared_" + randomHex(3) + ".x-1"
	if r := product(sku, "EUR"); r.Status != http.StatusCreated {
		t.Fatalf("SKU %s: %d %s", sku, r.Status, r.Body)
	}
	r := s.p.Call("POST", "/api/v1/admin/inventory/"+sku+"/adjustments", map[string]any{"delta": 3, "reason": "shared values"}, admin)
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("stock %s: %d %s", sku, r.Status, r.Body)
	}

	usd := "USD-" + randomHex(3)
	if r := product(usd, "USD"); r.Status != http.StatusUnprocessableEntity || !strings.Contains(problemAt(t, r.Body, "body.variants[0].price.currency"), "EUR") {
		t.Errorf("USD price in a EUR store: %d %s", r.Status, r.Body)
	}
	r = s.p.Call("POST", "/api/v1/carts", map[string]any{}, nil)
	var c struct {
		Currency string `json:"currency"`
	}
	r.JSON(t, &c)
	if r.Status != http.StatusCreated || c.Currency != "EUR" {
		t.Errorf("new cart: %d %s, want the store's currency EUR", r.Status, r.Body)
	}

	other := isoSignup(t, s.p, "values-"+strings.ToLower(randomHex(3)))
	for name, acc := range map[string]string{
		"malformed":             "not-a-uuid",
		"random UUID":           "0190c3a2-7b7e-7000-8000-000000000001",
		"another store's owner": other.ownerID,
	} {
		r := s.p.Call("POST", "/api/v1/admin/staff/employees", map[string]any{"name": "Ref", "role": "staff", "account_id": acc}, admin)
		if r.Status != http.StatusUnprocessableEntity || problemAt(t, r.Body, "body.account_id") == "" {
			t.Errorf("%s account_id: %d %s, want 422 at body.account_id", name, r.Status, r.Body)
		}
	}
	r = s.p.Call("POST", "/api/v1/admin/staff/employees", map[string]any{"name": "Owner", "role": "owner", "account_id": other.ownerID}, other.as(other.owner))
	if r.Status != http.StatusCreated {
		t.Errorf("own store's account: %d %s", r.Status, r.Body)
	}
}

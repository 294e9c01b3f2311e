package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// internals are the marks of Go's own words in a message: a package prefix
// ("catalog: ", "payment: invalid input"), a Go type or the decoder's
// vocabulary.
var internals = []*regexp.Regexp{
	regexp.MustCompile(`^[a-z]+: `),
	regexp.MustCompile(`\b(tenant|identity|staff|catalog|inventory|cart|pricing|order|payment|sqldb|web|bus|auth|money|apiclient|json|strconv)(api)?: `),
	regexp.MustCompile(`\b(struct|int64|int32|uint64|float64|interface \{\}|unmarshal|Go value|Go struct)\b`),
	regexp.MustCompile(`\*[a-z]+\.[A-Z]`),
	regexp.MustCompile(`\binvalid input\b`),
}

// TestMessagesAreWrittenForUsers: every service's refusals, its own and
// those it passes on from another service, speak to the API's users: a
// detail and field messages with no package prefix, wrapped error chain or
// Go type name.
func TestMessagesAreWrittenForUsers(t *testing.T) {
	t.Parallel()
	s := openShop(t, nil)
	admin := s.admin()
	key := func() map[string]string { return map[string]string{"Idempotency-Key": "k-" + randomHex(8)} }
	sub := "msg-" + strings.ToLower(randomHex(3))
	badAddress := checkoutBody("buyer-"+strings.ToLower(randomHex(3))+"@example.com", "tok_visa", map[string]int{"MUG-1": 1})
	badAddress["shipping_address"] = map[string]any{"name": "", "line1": "", "city": "", "postal_code": "", "country": "XX"}
	fraction := checkoutBody("buyer-"+strings.ToLower(randomHex(3))+"@example.com", "tok_visa", map[string]int{"MUG-1": 1})
	fraction["items"] = []map[string]any{{"sku": "MUG-1", "quantity": 1.5}}

	cases := []struct {
		name, method, path string
		body               any
		hdr                map[string]string
	}{
		{"product with bad fields", "POST", "/api/v1/admin/products", map[string]any{"title": "", "slug": "Not A Slug",
			"variants": []map[string]any{{"sku": "../x", "price": map[string]any{"amount": -1, "currency": "EUR"}}}}, admin},
		{"product in another currency", "POST", "/api/v1/admin/products", map[string]any{"title": "Dollar mug",
			"variants": []map[string]any{{"sku": "USD-" + randomHex(3), "price": map[string]any{"amount": 100, "currency": "USD"}}}}, admin},
		{"category with bad name", "POST", "/api/v1/admin/categories", map[string]any{"name": ""}, admin},
		{"register with a short password", "POST", "/api/v1/auth/register", map[string]any{"email": "short-" + strings.ToLower(randomHex(3)) + "@example.com", "password": "short", "name": "Shorty"}, nil},
		{"register with a common password", "POST", "/api/v1/auth/register", map[string]any{"email": "common-" + strings.ToLower(randomHex(3)) + "@example.com", "password": "password123", "name": "Common"}, nil},
		{"register with a bad email", "POST", "/api/v1/auth/register", map[string]any{"email": "not-an-email", "password": "correct horse battery staple", "name": "Ada"}, nil},
		{"employee with a bad account", "POST", "/api/v1/admin/staff/employees", map[string]any{"name": "Ref", "role": "staff", "account_id": "not-a-uuid"}, admin},
		{"employee with a bad role", "POST", "/api/v1/admin/staff/employees", map[string]any{"name": "", "role": "boss", "email": "nope"}, admin},
		{"invalid discount", "POST", "/api/v1/admin/pricing/discounts", map[string]any{"name": "", "kind": "percentage", "percent_bp": 200000, "code": "BAD CODE"}, admin},
		{"invalid tax rate", "POST", "/api/v1/admin/pricing/tax-rates", map[string]any{"country": "XX", "rate_bp": -5, "name": ""}, admin},
		{"invalid signup", "POST", "/api/v1/tenants", map[string]any{"store_name": "", "subdomain": "-Bad-", "email": "x", "password": "correct horse battery staple"}, key()},
		{"signup with a weak owner password", "POST", "/api/v1/tenants", map[string]any{"store_name": "Weak", "subdomain": sub, "email": "owner@" + sub + ".test", "password": "short"}, key()},
		{"stock adjustment without a change", "POST", "/api/v1/admin/inventory/MUG-1/adjustments", map[string]any{"delta": 0, "reason": ""}, admin},
		{"stock adjustment of a bad SKU", "POST", "/api/v1/admin/inventory/..%2Fx/adjustments", map[string]any{"delta": 1, "reason": "x"}, admin},
		{"cart with an unknown SKU", "POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": "NOPE-" + randomHex(3), "quantity": 1}}}, nil},
		{"cart with a bad quantity", "POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": "MUG-1", "quantity": 0}}}, nil},
		{"cart with a malformed SKU", "POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": "../x", "quantity": 1}}}, nil},
		{"cart with a fractional quantity", "POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": "MUG-1", "quantity": 2.5}}}, nil},
		{"cart with a quantity of the wrong type", "POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": "MUG-1", "quantity": "two"}}}, nil},
		{"product with a price of the wrong type", "POST", "/api/v1/admin/products", map[string]any{"title": "Typed",
			"variants": []map[string]any{{"sku": "TYPED-1", "price": map[string]any{"amount": "lots", "currency": "EUR"}}}}, admin},
		{"checkout with a bad address", "POST", "/api/v1/checkout", badAddress, key()},
		{"checkout with a fractional quantity", "POST", "/api/v1/checkout", fraction, key()},
		{"dead letters of a bad group", "GET", "/api/v1/admin/dead-letters?group=a.b", nil, admin},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.p.Call(tc.method, tc.path, tc.body, tc.hdr)
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("%d %s, want a 4xx", r.Status, r.Body)
			}
			var p struct {
				Code   string `json:"code"`
				Detail string `json:"detail"`
				Errors []struct {
					Location string `json:"location"`
					Message  string `json:"message"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatalf("decode problem: %v: %s", err, r.Body)
			}
			if p.Code == "" || p.Detail == "" {
				t.Errorf("problem without code or detail: %s", r.Body)
			}
			texts := []string{p.Detail}
			for _, e := range p.Errors {
				if e.Message == "" {
					t.Errorf("%s: empty message: %s", e.Location, r.Body)
				}
				texts = append(texts, e.Message)
			}
			for _, text := range texts {
				for _, re := range internals {
					if re.MatchString(text) {
						t.Errorf("%q has Go internals (%s): %s", text, re, r.Body)
					}
				}
			}
		})
	}
}

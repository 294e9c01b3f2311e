package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

// waitFor polls fn until it reports done, failing the test at the deadline
// with fn's last description of what it saw.
func waitFor(t *testing.T, what string, fn func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, saw := fn()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s; last saw %s", what, saw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStoreSettingsReachCheckout changes each store setting that affects
// money (docs/stores-and-accounts.md: currency, tax-inclusive prices) with
// PATCH /api/v1/admin/store and sees it at checkout. A new store's settings
// agree between the store and pricing from the first moment, and it can
// check out at once with its default shipping method.
func TestStoreSettingsReachCheckout(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			p := s.p
			st := &isoStore{store: signup(t, p, "money")}
			own := st.as(st.owner)
			c := isoClient{t: t, p: p}

			type settings struct {
				Currency              string `json:"currency"`
				TaxInclusive          bool   `json:"tax_inclusive"`
				DefaultShippingMethod string `json:"default_shipping_method"`
			}
			var store, pricing settings
			c.must("GET", "/api/v1/admin/store", nil, own, http.StatusOK).JSON(t, &store)
			c.must("GET", "/api/v1/admin/pricing/settings", nil, own, http.StatusOK).JSON(t, &pricing)
			if store.Currency != "EUR" || !store.TaxInclusive || pricing.Currency != store.Currency || pricing.TaxInclusive != store.TaxInclusive {
				t.Fatalf("a new store's settings disagree: store %+v, pricing %+v", store, pricing)
			}
			c.must("POST", "/api/v1/admin/pricing/tax-rates", map[string]any{"country": "DE", "rate_bp": 1900, "name": "MwSt"}, own, http.StatusCreated)
			eurSKU, _, _ := c.sku(st, "", 20) // 12.90 EUR

			type totals struct {
				Currency     string `json:"currency"`
				TaxInclusive bool   `json:"tax_inclusive"`
				Total        money  `json:"total"`
				Tax          money  `json:"tax"`
			}
			// quoteUntil polls the quote of 2 × sku to Germany until want
			// says it shows the settings, then checks out the same basket
			// and returns the order's totals.
			checkoutWhen := func(sku string, want func(totals) bool) totals {
				t.Helper()
				items := []map[string]any{{"sku": sku, "quantity": 2}}
				waitFor(t, "the quote of "+sku+" shows the store settings", func() (bool, string) {
					r := p.Call("POST", "/api/v1/quote", map[string]any{"items": items, "country": "DE"}, st.as(""))
					var q totals
					if r.Status == http.StatusOK {
						r.JSON(t, &q)
					}
					return r.Status == http.StatusOK && want(q), fmt.Sprintf("%d %s", r.Status, r.Body)
				})
				r := p.Call("POST", "/api/v1/checkout", checkoutBody("ada@example.com", "tok_visa", map[string]int{sku: 2}), st.as("", "Idempotency-Key", "settings-"+randomHex(6)))
				if r.Status != http.StatusCreated {
					t.Fatalf("checkout of %s: %d %s", sku, r.Status, r.Body)
				}
				var o totals
				r.JSON(t, &o)
				return o
			}

			// A new store checks out at once: its default shipping method
			// (free), tax included in the prices.
			o := checkoutWhen(eurSKU, func(q totals) bool { return q.TaxInclusive })
			if o.Total != (money{2580, "EUR"}) || o.Tax != (money{412, "EUR"}) {
				t.Errorf("tax-inclusive order: total %+v tax %+v, want 2580 EUR with 412 tax in it", o.Total, o.Tax)
			}

			// Tax on top.
			c.must("PATCH", "/api/v1/admin/store", map[string]any{"tax_inclusive": false}, own, http.StatusOK)
			o = checkoutWhen(eurSKU, func(q totals) bool { return !q.TaxInclusive })
			if o.Total != (money{2580 + 490, "EUR"}) || o.Tax != (money{490, "EUR"}) {
				t.Errorf("tax-exclusive order: total %+v tax %+v, want 3070 EUR with 490 tax on top", o.Total, o.Tax)
			}
			c.must("GET", "/api/v1/admin/pricing/settings", nil, own, http.StatusOK).JSON(t, &pricing)
			if pricing.TaxInclusive {
				t.Errorf("pricing settings still say tax-inclusive: %+v", pricing)
			}

			// Another currency: prices in it sell, the old ones no longer.
			c.must("PATCH", "/api/v1/admin/store", map[string]any{"currency": "USD"}, own, http.StatusOK)
			usdSKU := "USD-" + randomHex(4)
			c.must("POST", "/api/v1/admin/products", map[string]any{"title": "Dollar tea", "status": "active",
				"variants": []map[string]any{{"sku": usdSKU, "price": map[string]any{"amount": 1000, "currency": "USD"}}}}, own, http.StatusCreated)
			c.must("POST", "/api/v1/admin/inventory/"+usdSKU+"/adjustments", map[string]any{"delta": 10, "reason": "stock"}, own, http.StatusOK, http.StatusCreated)
			o = checkoutWhen(usdSKU, func(q totals) bool { return q.Currency == "USD" })
			if o.Total != (money{2000 + 380, "USD"}) || o.Tax != (money{380, "USD"}) {
				t.Errorf("USD order: total %+v tax %+v, want 2380 USD with 380 tax", o.Total, o.Tax)
			}
			r := p.Call("POST", "/api/v1/quote", map[string]any{"items": []map[string]any{{"sku": eurSKU, "quantity": 1}}, "country": "DE"}, st.as(""))
			var pr problem
			r.JSON(t, &pr)
			if r.Status != http.StatusUnprocessableEntity || pr.Code != "currency_mismatch" {
				t.Errorf("EUR product in the USD store: %d %s, want 422 currency_mismatch", r.Status, r.Body)
			}
			// Pricing is no second owner of the store's settings.
			if r := p.Call("PUT", "/api/v1/admin/pricing/settings", map[string]any{"currency": "EUR", "default_country": "DE"}, own); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("currency through pricing: %d %s, want 422", r.Status, r.Body)
			}
		})
	}
}

// TestStoreDirectoryEdges: what a new user and a hostile client meet at
// the store directory: the internal resolve endpoint, tenant hints, plans,
// signup's URL and Idempotency-Key, API keys naming their store, CORS.
func TestStoreDirectoryEdges(t *testing.T) {
	t.Parallel()
	s := openShop(t, nil)
	p := s.p

	// The internal resolve endpoint is no map of the stores for anyone.
	for _, q := range []string{"?host=localhost", "?id=default", ""} {
		for name, hdr := range map[string]map[string]string{"anonymous": nil, "the admin token": s.admin()} {
			if r := p.Call("GET", "/internal/v1/tenants/resolve"+q, nil, hdr); r.Status != http.StatusUnauthorized || strings.Contains(string(r.Body), "tenant_id") {
				t.Errorf("resolve%s as %s: %d %s, want 401", q, name, r.Status, r.Body)
			}
		}
	}

	// Bad tenant hints are 400 or 404, never 5xx.
	for _, tt := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"250-character host", map[string]string{"Host": strings.Repeat("a", 250)}, 400},
		{"valid unknown 250-character host", map[string]string{"Host": strings.Repeat(strings.Repeat("a", 61)+".", 4) + "io"}, 404},
		{"300-character tenant ID", map[string]string{"X-Mercato-Tenant": strings.Repeat("t", 300)}, 400},
		{"unknown tenant ID", map[string]string{"X-Mercato-Tenant": "nobody-here"}, 404},
	} {
		if r := p.Call("GET", "/api/v1/products", nil, tt.hdr); r.Status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.Status, r.Body, tt.status)
		}
	}
	for name, raw := range map[string]string{
		"HTTP/1.0 without Host": "GET /api/v1/products HTTP/1.0\r\n\r\n",
		"empty Host":            "GET /api/v1/products HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n",
	} {
		if status := rawStatus(t, p, raw); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, status)
		}
	}
	if strings.Contains(p.Stderr.String(), "level=ERROR") {
		t.Errorf("bad hints were logged as errors:\n%s", p.Stderr)
	}

	// A signup naming a plan is refused; the docs' literal Idempotency-Key
	// works for two people; the store URL has the port the server answers on.
	body := func(sub string) map[string]any {
		return map[string]any{"store_name": "Tea & Co", "subdomain": sub, "email": "owner@" + sub + ".example", "password": "correct horse battery staple"}
	}
	greedy := body("greedy")
	greedy["plan"] = "enterprise"
	if r := p.Call("POST", "/api/v1/tenants", greedy, nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("signup choosing enterprise: %d %s, want 422", r.Status, r.Body)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.URL, "http://"))
	var first, second, retry struct {
		URL   string `json:"url"`
		Store struct {
			ID   string `json:"id"`
			Plan string `json:"plan"`
		} `json:"store"`
		AccessToken string `json:"access_token"`
	}
	key := map[string]string{"Idempotency-Key": "signup-1"}
	if r := p.Call("POST", "/api/v1/tenants", body("tea"), key); r.Status != http.StatusCreated {
		t.Fatalf("first reader's signup: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &first)
	}
	if first.URL != "http://tea.localhost:"+port || first.Store.Plan != "free" {
		t.Errorf("signup answer: url %q plan %q, want http://tea.localhost:%s on free", first.URL, first.Store.Plan, port)
	}
	if r := p.Call("POST", "/api/v1/tenants", body("coffee"), key); r.Status != http.StatusCreated {
		t.Errorf("second reader's signup with the guide's key: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &second)
	}
	if r := p.Call("POST", "/api/v1/tenants", body("tea"), key); r.Status != http.StatusOK {
		t.Errorf("first reader's retry: %d %s", r.Status, r.Body)
	} else if r.JSON(t, &retry); retry.Store.ID != first.Store.ID || second.Store.ID == first.Store.ID {
		t.Errorf("retry found %s, second store %s; first %s", retry.Store.ID, second.Store.ID, first.Store.ID)
	}
	tea := store{id: first.Store.ID, host: "tea.localhost", owner: first.AccessToken}

	// X-Mercato-Tenant takes the subdomain as well as the ID.
	for _, hint := range []string{first.Store.ID, "tea"} {
		var got struct {
			ID string `json:"id"`
		}
		r := p.Call("GET", "/api/v1/admin/store", nil, map[string]string{"X-Mercato-Tenant": hint, "Authorization": "Bearer " + tea.owner})
		if r.Status != http.StatusOK {
			t.Errorf("X-Mercato-Tenant %s: %d %s", hint, r.Status, r.Body)
			continue
		}
		if r.JSON(t, &got); got.ID != first.Store.ID {
			t.Errorf("X-Mercato-Tenant %s found %s", hint, got.ID)
		}
	}

	// An API key finds its store on any host: the default store's, an
	// unknown one, none at all.
	r := p.Call("POST", "/api/v1/admin/store/api-keys", map[string]any{"name": "storefront", "kind": "secret"}, tea.as(tea.owner))
	var k struct {
		Key string `json:"key"`
	}
	r.JSON(t, &k)
	if k.Key == "" {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	for _, hdr := range []map[string]string{
		{"X-Mercato-Api-Key": k.Key},
		{"Authorization": "Bearer " + k.Key, "Host": "api.example.com"},
		{"X-Mercato-Api-Key": k.Key, "Host": "tea.localhost"},
	} {
		var got struct {
			ID string `json:"id"`
		}
		r := p.Call("GET", "/api/v1/admin/store", nil, hdr)
		if r.Status != http.StatusOK {
			t.Errorf("API key with %v: %d %s", hdr, r.Status, r.Body)
			continue
		}
		if r.JSON(t, &got); got.ID != first.Store.ID {
			t.Errorf("API key with %v found store %s", hdr, got.ID)
		}
	}
	if r := p.Call("GET", "/api/v1/admin/store", nil, map[string]string{"X-Mercato-Api-Key": k.Key, "X-Mercato-Tenant": "default"}); r.Status != http.StatusUnauthorized {
		t.Errorf("the key in another store named by X-Mercato-Tenant: %d, want 401", r.Status)
	}

	// CORS: nothing open by default; the store lists its origins.
	preflight := func(origin string) harness.Response {
		return p.Call("OPTIONS", "/api/v1/products", nil, map[string]string{"Host": "tea.localhost", "Origin": origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
	}
	if r := preflight("https://tea.example"); r.Status == http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight before any origin is allowed: %d %v", r.Status, r.Header)
	}
	c := isoClient{t: t, p: p}
	c.must("PATCH", "/api/v1/admin/store", map[string]any{"cors_origins": []string{"https://tea.example"}}, tea.as(tea.owner), http.StatusOK)
	waitFor(t, "the allowed origin reaches the platform", func() (bool, string) {
		r := preflight("https://tea.example")
		return r.Status == http.StatusNoContent && r.Header.Get("Access-Control-Allow-Origin") == "https://tea.example", fmt.Sprintf("%d %v", r.Status, r.Header)
	})
	if r := preflight("https://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", r.Status, r.Header)
	}
	if r := p.Call("GET", "/api/v1/products", nil, map[string]string{"Host": "tea.localhost", "Origin": "https://tea.example"}); r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "https://tea.example" {
		t.Errorf("request from the allowed origin: %d %v", r.Status, r.Header)
	}
}

// rawStatus sends raw bytes to p and returns the answer's status.
func rawStatus(t *testing.T, p *harness.Proc, raw string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

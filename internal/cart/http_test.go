package cart

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// httpFixture is the cart served through the real web platform.
type httpFixture struct {
	*fixture
	url string
}

func newHTTPFixture(t *testing.T, db *sqldb.DB) *httpFixture {
	t.Helper()
	f := newFixture(t, db)
	srv := webtest.New(t, func(api *web.API) { f.svc.Routes(api) })
	return &httpFixture{fixture: f, url: srv.URL}
}

type req struct {
	method, path, body string
	admin              bool
	tenant             string
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

func (f *httpFixture) do(t testing.TB, r req) (int, []byte) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(t.Context(), r.method, f.url+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.admin {
		hr.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	}
	if r.tenant != "" {
		hr.Header.Set(tenancy.Header, r.tenant)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// json sends r, wants status want and decodes the answer into out.
func (f *httpFixture) json(r req, want int, out any) { f.jsonT(f.t, r, want, out) }

// jsonT is json failing t (a subtest).
func (f *httpFixture) jsonT(t testing.TB, r req, want int, out any) {
	t.Helper()
	status, b := f.do(t, r)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", r.method, r.path, b, err)
		}
	}
}

func TestHTTPCart(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newHTTPFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1250, "MUG-1"))
		f.feed("default", catalogapi.SubjectProductCreated, product("p2", t0, 300, "TEA-1"))

		var c cartapi.Cart
		f.json(req{method: "POST", path: "/api/v1/carts"}, 201, &c) // no body at all
		if c.Status != "open" || !strings.HasPrefix(c.ID, "cart_") || c.Lines == nil {
			t.Fatalf("cart = %+v", c)
		}
		base := "/api/v1/carts/" + c.ID
		f.json(req{method: "POST", path: base + "/items", body: `{"sku":"MUG-1","quantity":2}`}, 201, &c)
		f.json(req{method: "POST", path: base + "/items", body: `{"sku":"MUG-1","quantity":1}`}, 201, &c)
		f.json(req{method: "POST", path: base + "/items", body: `{"sku":"TEA-1","quantity":1}`}, 201, &c)
		checkLines(t, c, lineWant{"MUG-1", 3, 1250, true}, lineWant{"TEA-1", 1, 300, true})
		f.json(req{method: "PATCH", path: base + "/items/" + c.Lines[1].ID, body: `{"quantity":5}`}, 200, &c)
		checkLines(t, c, lineWant{"MUG-1", 3, 1250, true}, lineWant{"TEA-1", 5, 300, true})
		f.json(req{method: "DELETE", path: base + "/items/" + c.Lines[0].ID}, 200, &c)
		checkLines(t, c, lineWant{"TEA-1", 5, 300, true})
		f.json(req{method: "PATCH", path: base, body: `{"coupon":"save10","email":"ann@example.com"}`}, 200, &c)
		f.json(req{method: "GET", path: base}, 200, &c)
		if c.Coupon != "SAVE10" || c.Totals == nil || c.Totals.Discount.Amount != 150 || c.Totals.Total.Amount != 1350 {
			t.Errorf("cart = %+v totals %+v", c, c.Totals)
		}

		// The typed client other services use.
		client := cartapi.NewClient(f.url, nil)
		got, err := client.Get(tenantCtx(t, "default"), c.ID)
		if err != nil || got.ID != c.ID || len(got.Lines) != 1 || got.Totals == nil || got.Totals.Total.Amount != 1350 {
			t.Fatalf("client get = %+v, %v", got, err)
		}
		_, err = client.Get(tenantCtx(t, "acme"), c.ID)
		if !errors.Is(err, cartapi.ErrNotFound) {
			t.Errorf("client get under acme: %v, want ErrNotFound", err)
		}
		// Lines only (totals=false): the same cart, pricing not asked, even
		// when it is down.
		f.pricing.fail(errors.New("connection refused"))
		f.pricing.mu.Lock()
		quotes := len(f.pricing.calls)
		f.pricing.mu.Unlock()
		lines, err := client.Lines(tenantCtx(t, "default"), c.ID)
		f.pricing.mu.Lock()
		asked := len(f.pricing.calls) - quotes
		f.pricing.mu.Unlock()
		f.pricing.fail(nil)
		if err != nil || lines.ID != c.ID || lines.Totals != nil || lines.TotalsError != nil || asked != 0 {
			t.Fatalf("client lines = %+v, %v (pricing asked %d times)", lines, err, asked)
		}
		if got.Totals = nil; !reflect.DeepEqual(got, lines) {
			t.Errorf("lines only\n%+v\nwhere the cart is\n%+v", lines, got)
		}
		if _, err := client.Lines(tenantCtx(t, "acme"), c.ID); !errors.Is(err, cartapi.ErrNotFound) {
			t.Errorf("client lines under acme: %v, want ErrNotFound", err)
		}
		_, err = client.Get(tenantCtx(t, "default"), "cart_nope")
		if !errors.Is(err, cartapi.ErrNotFound) {
			t.Errorf("client get unknown: %v, want ErrNotFound", err)
		}

		// Pricing down: 200 with lines, subtotal and totals_error.
		f.pricing.fail(errors.New("connection refused"))
		var raw map[string]any
		f.json(req{method: "GET", path: base}, 200, &raw)
		if raw["totals"] != nil || raw["totals_error"].(map[string]any)["code"] != "pricing_unavailable" || raw["subtotal"] == nil {
			t.Errorf("cart with pricing down = %v", raw)
		}
		f.pricing.fail(nil)

		// Create with items and fields in one go.
		f.json(req{method: "POST", path: "/api/v1/carts", body: `{"email":"bob@example.com","country":"DE","shipping_method":"standard",` +
			`"items":[{"sku":"TEA-1","quantity":1},{"sku":"TEA-1","quantity":1}]}`}, 201, &c)
		checkLines(t, c, lineWant{"TEA-1", 2, 300, true})
		if c.Totals == nil || c.Totals.Shipping.Amount != 490 {
			t.Errorf("totals = %+v", c.Totals)
		}
	}, Migrations...)
}

func TestHTTPErrors(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newHTTPFixture(t, db)
		f.feed("default", catalogapi.SubjectProductCreated, product("p1", t0, 1000, "MUG-1"))
		var c, done cartapi.Cart
		f.json(req{method: "POST", path: "/api/v1/carts", body: `{"items":[{"sku":"MUG-1","quantity":1}]}`}, 201, &c)
		f.json(req{method: "POST", path: "/api/v1/carts", body: `{"items":[{"sku":"MUG-1","quantity":1}]}`}, 201, &done)
		f.confirm("default", "order-1", done.ID)
		base := "/api/v1/carts/" + c.ID
		line := base + "/items/" + c.Lines[0].ID

		tests := []struct {
			name     string
			r        req
			status   int
			code     string
			location string
		}{
			{"unknown cart", req{method: "GET", path: "/api/v1/carts/cart_nope"}, 404, "cart_not_found", ""},
			{"other tenant", req{method: "GET", path: base, tenant: "acme"}, 404, "cart_not_found", ""},
			{"other tenant add", req{method: "POST", path: base + "/items", body: `{"sku":"MUG-1","quantity":1}`, tenant: "acme"}, 404, "cart_not_found", ""},
			{"unknown line", req{method: "DELETE", path: base + "/items/nope"}, 404, "line_not_found", ""},
			{"unknown sku", req{method: "POST", path: base + "/items", body: `{"sku":"NOPE","quantity":1}`}, 422, "unknown_sku", "body.sku"},
			{"zero quantity", req{method: "POST", path: base + "/items", body: `{"sku":"MUG-1","quantity":0}`}, 422, "invalid_quantity", "body.quantity"},
			{"huge quantity", req{method: "POST", path: base + "/items", body: `{"sku":"MUG-1","quantity":10001}`}, 422, "invalid_quantity", "body.quantity"},
			{"line over max", req{method: "POST", path: base + "/items", body: `{"sku":"MUG-1","quantity":10000}`}, 422, "invalid_quantity", "body.quantity"},
			{"patch zero", req{method: "PATCH", path: line, body: `{"quantity":0}`}, 422, "invalid_quantity", "body.quantity"},
			{"create unknown sku", req{method: "POST", path: "/api/v1/carts", body: `{"items":[{"sku":"NOPE","quantity":1}]}`}, 422, "unknown_sku", "body.items[0].sku"},
			{"bad email", req{method: "PATCH", path: base, body: `{"email":"nope"}`}, 422, "validation_failed", "body.email"},
			{"bad country", req{method: "PATCH", path: base, body: `{"country":"germany"}`}, 422, "validation_failed", "body.country"},
			{"unknown coupon", req{method: "PATCH", path: base, body: `{"coupon":"BOGUS"}`}, 422, "unknown_coupon", "body.coupon"},
			{"malformed", req{method: "POST", path: base + "/items", body: `{"sku":`}, 400, "malformed_request", ""},
			{"checked out add", req{method: "POST", path: "/api/v1/carts/" + done.ID + "/items", body: `{"sku":"MUG-1","quantity":1}`}, 409, "cart_checked_out", ""},
			{"checked out patch", req{method: "PATCH", path: "/api/v1/carts/" + done.ID, body: `{"email":"a@example.com"}`}, 409, "cart_checked_out", ""},
			{"checked out remove", req{method: "DELETE", path: "/api/v1/carts/" + done.ID + "/items/" + done.Lines[0].ID}, 409, "cart_checked_out", ""},
			{"admin list without token", req{method: "GET", path: "/api/v1/admin/carts"}, 401, "unauthorized", ""},
			{"admin bad cursor", req{method: "GET", path: "/api/v1/admin/carts?cursor=zz", admin: true}, 422, "invalid_cursor", "query.cursor"},
			{"admin bad status", req{method: "GET", path: "/api/v1/admin/carts?status=gone", admin: true}, 422, "validation_failed", "query.status"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var p problem
				f.jsonT(t, tt.r, tt.status, &p)
				if p.Code != tt.code {
					t.Errorf("code = %q, want %q (%s)", p.Code, tt.code, p.Detail)
				}
				if tt.location != "" && (len(p.Errors) == 0 || p.Errors[0].Location != tt.location) {
					t.Errorf("errors = %+v, want location %s", p.Errors, tt.location)
				}
			})
		}
		// Nothing of the above changed either cart.
		var after cartapi.Cart
		f.json(req{method: "GET", path: base}, 200, &after)
		if !after.UpdatedAt.Equal(c.UpdatedAt) || after.Email != "" || after.Coupon != "" || after.Lines[0].Quantity != 1 {
			t.Errorf("cart changed: %+v", after)
		}
		f.json(req{method: "GET", path: "/api/v1/carts/" + done.ID}, 200, &after)
		if after.Status != cartapi.StatusCheckedOut || after.OrderID != "order-1" || after.Lines[0].Quantity != 1 {
			t.Errorf("checked-out cart = %+v", after)
		}

		var l cartapi.CartList
		f.json(req{method: "GET", path: "/api/v1/admin/carts?status=open", admin: true}, 200, &l)
		if len(l.Items) != 1 || l.Items[0].ID != c.ID {
			t.Errorf("admin list = %+v", l)
		}
	}, Migrations...)
}

func TestClientPassesProblems(t *testing.T) {
	f := newHTTPFixture(t, sqldbtest.Open(t, "", Migrations...))
	_, err := cartapi.NewClient(f.url, nil).Get(tenantCtx(t, "globex"), "x")
	var ae *apiclient.Error
	if !errors.Is(err, cartapi.ErrNotFound) || !errors.As(err, &ae) || ae.Code != "cart_not_found" {
		t.Fatalf("err = %v", err)
	}
}

package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// httpFixture is the catalog served through the real web platform on SQLite.
type httpFixture struct {
	t   *testing.T
	url string
	db  *sqldb.DB
	svc *Service
}

func newHTTPFixture(t *testing.T) *httpFixture {
	t.Helper()
	return newHTTPFixtureConfig(t, Config{CacheTTL: time.Minute, CacheBytes: 1 << 20})
}

// newHTTPFixtureConfig is newHTTPFixture with the service configured by cfg.
func newHTTPFixtureConfig(t *testing.T, cfg Config) *httpFixture {
	t.Helper()
	db := sqldbtest.Open(t, "", Migrations...)
	svc := newTestServiceConfig(t, db, cfg)
	srv := webtest.New(t, func(api *web.API) { svc.Routes(api) })
	return &httpFixture{t: t, url: srv.URL, db: db, svc: svc}
}

// req describes one request; zero values mean tenant "default", no token.
type req struct {
	method, path string
	body         string
	admin        bool
	token        string // overrides the admin token when set
	tenant       string
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

// problem is the error body every failure carries.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func (f *httpFixture) do(r req) resp {
	f.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(f.t.Context(), r.method, f.url+r.path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.admin {
		hr.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", r.token)
	}
	if r.tenant != "" {
		hr.Header.Set(tenancy.Header, r.tenant)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

// json sends r and decodes a want-status answer into out.
func (f *httpFixture) json(r req, want int, out any) {
	f.t.Helper()
	res := f.do(r)
	if res.status != want {
		f.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, res.status, want, res.body)
	}
	if out != nil {
		if err := json.Unmarshal(res.body, out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", r.method, r.path, res.body, err)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const mugBody = `{"title": "Mug", "status": "active", "variants": [{"sku": "MUG-1", "price": {"amount": 1200, "currency": "EUR"}}]}`

func TestHTTPBadInput(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)
	var mug catalogapi.Product
	f.json(req{method: "POST", path: "/api/v1/admin/products", body: mugBody, admin: true}, 201, &mug)
	var cat catalogapi.Category
	f.json(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name": "Coffee"}`, admin: true}, 201, &cat)
	f.json(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name": "Espresso", "parent_id": "` + cat.ID + `"}`, admin: true}, 201, nil)

	variant := func(v string) string {
		return `{"title": "Cup", "variants": [` + v + `]}`
	}
	huge := `{"title": "Cup", "description": "` + strings.Repeat("x", webtest.MaxBodyBytes+10) + `", "variants": [{"sku": "C", "price": {"amount": 1, "currency": "EUR"}}]}`
	const products = "/api/v1/admin/products"
	tests := []struct {
		name   string
		r      req
		status int
		code   string
		field  string // a location the problem must name
	}{
		{"malformed json", req{method: "POST", path: products, body: `{"title": "Cup", `, admin: true}, 400, "malformed_request", ""},
		{"not an object", req{method: "POST", path: products, body: `[1, 2]`, admin: true}, 422, "validation_failed", ""},
		{"missing title", req{method: "POST", path: products, body: `{"variants": [{"sku": "C", "price": {"amount": 1, "currency": "EUR"}}]}`, admin: true}, 422, "validation_failed", "body"},
		{"no variants", req{method: "POST", path: products, body: `{"title": "Cup", "variants": []}`, admin: true}, 422, "validation_failed", "body.variants"},
		{"negative price", req{method: "POST", path: products, body: variant(`{"sku": "C", "price": {"amount": -1, "currency": "EUR"}}`), admin: true}, 422, "validation_failed", "body.variants[0].price.amount"},
		{"unknown currency", req{method: "POST", path: products, body: variant(`{"sku": "C", "price": {"amount": 1, "currency": "ABC"}}`), admin: true}, 422, "validation_failed", "body.variants[0].price.currency"},
		{"lowercase currency", req{method: "POST", path: products, body: variant(`{"sku": "C", "price": {"amount": 1, "currency": "eur"}}`), admin: true}, 422, "validation_failed", "body.variants[0].price.currency"},
		{"empty sku", req{method: "POST", path: products, body: variant(`{"sku": "", "price": {"amount": 1, "currency": "EUR"}}`), admin: true}, 422, "validation_failed", "body.variants[0].sku"},
		{"duplicate sku in request", req{method: "POST", path: products, body: variant(`{"sku": "C", "price": {"amount": 1, "currency": "EUR"}}, {"sku": "C", "price": {"amount": 2, "currency": "EUR"}}`), admin: true}, 422, "validation_failed", "body.variants[1].sku"},
		{"duplicate sku of another product", req{method: "POST", path: products, body: variant(`{"sku": "C", "price": {"amount": 1, "currency": "EUR"}}, {"sku": "MUG-1", "price": {"amount": 2, "currency": "EUR"}}`), admin: true}, 422, "sku_taken", "body.variants[1].sku"},
		{"unknown category", req{method: "POST", path: products, body: `{"title": "Cup", "category_id": "nope", "variants": [{"sku": "C", "price": {"amount": 1, "currency": "EUR"}}]}`, admin: true}, 422, "validation_failed", "body.category_id"},
		{"taken slug", req{method: "POST", path: products, body: `{"title": "Cup", "slug": "mug", "variants": [{"sku": "C", "price": {"amount": 1, "currency": "EUR"}}]}`, admin: true}, 422, "slug_taken", "body.slug"},
		{"bad status", req{method: "POST", path: products, body: `{"title": "Cup", "status": "published", "variants": [{"sku": "C", "price": {"amount": 1, "currency": "EUR"}}]}`, admin: true}, 422, "validation_failed", "body.status"},
		{"oversized body", req{method: "POST", path: products, body: huge, admin: true}, 413, "body_too_large", ""},
		{"missing token", req{method: "POST", path: products, body: mugBody}, 401, "unauthorized", ""},
		{"wrong token", req{method: "POST", path: products, body: mugBody, token: "Bearer nope-nope-nope-nope"}, 401, "unauthorized", ""},
		{"wrong scheme", req{method: "DELETE", path: products + "/" + mug.ID, token: "Basic " + webtest.AdminToken}, 401, "unauthorized", ""},
		{"unknown tenant", req{method: "POST", path: products, body: mugBody, admin: true, tenant: "initech"}, 404, "unknown_tenant", ""},
		{"unknown tenant public", req{method: "GET", path: "/api/v1/products", tenant: "initech"}, 404, "unknown_tenant", ""},
		{"unknown product public", req{method: "GET", path: "/api/v1/products/no-such-thing"}, 404, "product_not_found", ""},
		{"unknown product admin get", req{method: "GET", path: products + "/nope", admin: true}, 404, "product_not_found", ""},
		{"unknown product patch", req{method: "PATCH", path: products + "/nope", body: `{"title": "X"}`, admin: true}, 404, "product_not_found", ""},
		{"unknown product delete", req{method: "DELETE", path: products + "/nope", admin: true}, 404, "product_not_found", ""},
		{"patch malformed", req{method: "PATCH", path: products + "/" + mug.ID, body: `{"title": `, admin: true}, 400, "malformed_request", ""},
		{"patch negative price", req{method: "PATCH", path: products + "/" + mug.ID, body: `{"variants": [{"sku": "MUG-1", "price": {"amount": -5, "currency": "EUR"}}]}`, admin: true}, 422, "validation_failed", "body.variants[0].price.amount"},
		{"patch empty title", req{method: "PATCH", path: products + "/" + mug.ID, body: `{"title": ""}`, admin: true}, 422, "validation_failed", "body.title"},
		{"patch without token", req{method: "PATCH", path: products + "/" + mug.ID, body: `{"title": "Hacked"}`}, 401, "unauthorized", ""},
		{"delete without token", req{method: "DELETE", path: products + "/" + mug.ID}, 401, "unauthorized", ""},
		{"bad cursor", req{method: "GET", path: "/api/v1/products?cursor=garbage"}, 422, "invalid_cursor", "query.cursor"},
		{"bad sort", req{method: "GET", path: "/api/v1/products?sort=cheapest"}, 422, "validation_failed", "query.sort"},
		{"negative limit", req{method: "GET", path: "/api/v1/products?limit=-1"}, 422, "validation_failed", "query.limit"},
		{"price range upside down", req{method: "GET", path: "/api/v1/products?min_price=500&max_price=100"}, 422, "validation_failed", "query.max_price"},
		{"category cycle", req{method: "PATCH", path: "/api/v1/admin/categories/" + cat.ID, body: `{"parent_id": "` + cat.ID + `"}`, admin: true}, 422, "validation_failed", "body.parent_id"},
		{"delete category with children", req{method: "DELETE", path: "/api/v1/admin/categories/" + cat.ID, admin: true}, 409, "category_has_children", ""},
		{"unknown category delete", req{method: "DELETE", path: "/api/v1/admin/categories/nope", admin: true}, 404, "category_not_found", ""},
		{"category without token", req{method: "POST", path: "/api/v1/admin/categories", body: `{"name": "Tea"}`}, 401, "unauthorized", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each case checks no row appeared, in one database.
			before := rowCounts(t, f.db)
			res := f.do(tt.r)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.status, tt.status, res.body)
			}
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("content type %q", ct)
			}
			var p problem
			if err := json.Unmarshal(res.body, &p); err != nil {
				t.Fatalf("decode problem %s: %v", res.body, err)
			}
			if p.Status != tt.status || p.Code != tt.code || p.Title == "" || p.Detail == "" {
				t.Errorf("problem = %+v, want status %d code %s with title and detail", p, tt.status, tt.code)
			}
			if tt.field != "" && !slices.ContainsFunc(p.Errors, func(e struct {
				Location string `json:"location"`
				Message  string `json:"message"`
			}) bool {
				return e.Location == tt.field
			}) {
				t.Errorf("errors %+v do not name %s", p.Errors, tt.field)
			}
			if after := rowCounts(t, f.db); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("rows written: %v -> %v", before, after)
			}
		})
	}
	// And the product the failed requests aimed at is untouched.
	var got catalogapi.Product
	f.json(req{method: "GET", path: "/api/v1/products/mug"}, 200, &got)
	if got.Title != "Mug" || got.Variants[0].Price.Amount != 1200 || !got.UpdatedAt.Equal(mug.UpdatedAt) {
		t.Errorf("mug changed: %+v", got)
	}
}

func TestHTTPJourney(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)

	var coffee, espresso catalogapi.Category
	f.json(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name": "Coffee"}`, admin: true}, 201, &coffee)
	f.json(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name": "Espresso", "parent_id": "` + coffee.ID + `"}`, admin: true}, 201, &espresso)
	var tree catalogapi.CategoryList
	f.json(req{method: "GET", path: "/api/v1/categories"}, 200, &tree)
	if len(tree.Items) != 1 || len(tree.Items[0].Children) != 1 || tree.Items[0].Children[0].Slug != "espresso" {
		t.Errorf("tree = %+v", tree)
	}

	// The smallest create works and takes defaults.
	res := f.do(req{method: "POST", path: "/api/v1/admin/products", body: mugBody, admin: true})
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var mug catalogapi.Product
	if err := json.Unmarshal(res.body, &mug); err != nil {
		t.Fatal(err)
	}
	if mug.Slug != "mug" || mug.Status != "active" || mug.Variants[0].ID == "" || res.header.Get("Location") != "/api/v1/admin/products/"+mug.ID {
		t.Errorf("created %+v, location %q", mug, res.header.Get("Location"))
	}
	// Money has the shape {"amount": 1200, "currency": "EUR"} on the wire.
	var raw map[string]any
	f.json(req{method: "GET", path: "/api/v1/products/mug"}, 200, &raw)
	if price := raw["variants"].([]any)[0].(map[string]any)["price"]; fmt.Sprint(price) != "map[amount:1200 currency:EUR]" {
		t.Errorf("price on the wire = %v", price)
	}
	// Same title again: slug gets -2.
	var mug2 catalogapi.Product
	f.json(req{method: "POST", path: "/api/v1/admin/products", body: strings.Replace(mugBody, "MUG-1", "MUG-2", 1), admin: true}, 201, &mug2)
	if mug2.Slug != "mug-2" {
		t.Errorf("second mug slug = %q", mug2.Slug)
	}

	// 25 more products, in two categories, with a spread of prices.
	for i := range 25 {
		cat := coffee.ID
		if i%2 == 1 {
			cat = espresso.ID
		}
		body := mustJSON(t, catalogapi.ProductCreate{
			Title: fmt.Sprintf("Bean %02d", i), Status: catalogapi.StatusActive, CategoryID: cat,
			Variants: []catalogapi.VariantInput{
				{SKU: fmt.Sprintf("B%02d-250", i), Price: eur(int64(1000 + i*10)), Options: map[string]string{"Size": "250 g"}},
				{SKU: fmt.Sprintf("B%02d-1K", i), Price: eur(int64(3000 + i*10)), Options: map[string]string{"Size": "1 kg"}},
			},
		})
		f.json(req{method: "POST", path: "/api/v1/admin/products", body: body, admin: true}, 201, nil)
	}

	// Walk every list in pages of 10.
	walk := func(query string) []catalogapi.Product {
		t.Helper()
		var all []catalogapi.Product
		cursor := ""
		for pages := 0; ; pages++ {
			q := query + "&limit=10"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			var raw map[string]json.RawMessage
			f.json(req{method: "GET", path: "/api/v1/products?" + q}, 200, &raw)
			var l catalogapi.ProductList
			f.json(req{method: "GET", path: "/api/v1/products?" + q}, 200, &l)
			if len(l.Items) > 10 || pages > 10 {
				t.Fatalf("%s: page %d has %d items", query, pages, len(l.Items))
			}
			all = append(all, l.Items...)
			if l.NextCursor == "" {
				if nc, ok := raw["next_cursor"]; ok && string(nc) != "null" {
					t.Errorf("last page next_cursor = %s", nc)
				}
				return all
			}
			cursor = l.NextCursor
		}
	}
	titles := func(ps []catalogapi.Product) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Title)
		}
		return out
	}
	if all := walk("sort=newest"); len(all) != 27 || all[0].Title != "Bean 24" || all[26].Slug != "mug" {
		t.Errorf("newest: %d items, %v", len(all), titles(all))
	}
	if all := walk("sort=price_asc"); len(all) != 27 || all[0].Title != "Bean 00" || all[26].Title != "Bean 24" {
		t.Errorf("price_asc: %v", titles(all))
	}
	if all := walk("sort=price_desc"); all[0].Title != "Bean 24" || all[26].Title != "Bean 00" {
		t.Errorf("price_desc: %v", titles(all))
	}
	if all := walk("sort=title"); all[0].Title != "Bean 00" || all[26].Title != "Mug" {
		t.Errorf("title: %v", titles(all))
	}
	if all := walk("category=coffee"); len(all) != 25 {
		t.Errorf("coffee with espresso: %d products", len(all))
	}
	if all := walk("category=" + espresso.ID); len(all) != 12 {
		t.Errorf("espresso: %d products", len(all))
	}
	if all := walk("min_price=1100&max_price=1200&sort=price_asc"); len(all) != 13 || all[0].Title != "Bean 10" {
		t.Errorf("price range: %v", titles(all))
	}

	// Patch: title and a new variant list keeping MUG-1's ID.
	var patched catalogapi.Product
	f.json(req{method: "PATCH", path: "/api/v1/admin/products/" + mug.ID, admin: true,
		body: `{"title": "Big Mug", "variants": [{"sku": "MUG-1", "price": {"amount": 1400, "currency": "EUR"}}, {"sku": "MUG-1-XL", "price": {"amount": 1900, "currency": "EUR"}}]}`},
		200, &patched)
	if patched.Title != "Big Mug" || patched.Slug != "mug" || len(patched.Variants) != 2 || patched.Variants[0].ID != mug.Variants[0].ID {
		t.Errorf("patched = %+v", patched)
	}
	var byID catalogapi.Product
	f.json(req{method: "GET", path: "/api/v1/products/" + mug.ID}, 200, &byID)
	if byID.Title != "Big Mug" || byID.PriceFrom.Amount != 1400 {
		t.Errorf("public after patch = %+v", byID)
	}

	// Archive: 204, then gone publicly, still visible to admins.
	if res := f.do(req{method: "DELETE", path: "/api/v1/admin/products/" + mug.ID, admin: true}); res.status != 204 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	for _, key := range []string{"mug", mug.ID} {
		if res := f.do(req{method: "GET", path: "/api/v1/products/" + key}); res.status != 404 {
			t.Errorf("archived product by %s: %d", key, res.status)
		}
	}
	var archived catalogapi.Product
	f.json(req{method: "GET", path: "/api/v1/admin/products/" + mug.ID, admin: true}, 200, &archived)
	if archived.Status != catalogapi.StatusArchived {
		t.Errorf("admin sees status %s", archived.Status)
	}
	var adminList catalogapi.ProductList
	f.json(req{method: "GET", path: "/api/v1/admin/products?status=archived", admin: true}, 200, &adminList)
	if len(adminList.Items) != 1 || adminList.Items[0].ID != mug.ID {
		t.Errorf("admin archived list = %d items", len(adminList.Items))
	}
	// archived -> active is refused; archived -> draft is fine.
	f.json(req{method: "PATCH", path: "/api/v1/admin/products/" + mug.ID, body: `{"status": "active"}`, admin: true}, 409, nil)
	f.json(req{method: "PATCH", path: "/api/v1/admin/products/" + mug.ID, body: `{"status": "draft"}`, admin: true}, 200, nil)

	// The events of mug, in order, each a full snapshot for tenant default.
	var events []string
	for _, r := range readOutbox(t, f.db) {
		var data catalogapi.ProductUpdated // all three payloads have this shape
		if err := json.Unmarshal(r.env.Data, &data); err != nil {
			t.Fatal(err)
		}
		if r.tenant != "default" || r.env.Tenant != "default" {
			t.Errorf("event tenant %s/%s", r.tenant, r.env.Tenant)
		}
		if data.Product.ID == mug.ID {
			events = append(events, r.subject+":"+string(data.Product.Status)+":"+data.Product.Title)
		}
	}
	want := []string{
		"catalog.product_created.v1:active:Mug",
		"catalog.product_updated.v1:active:Big Mug",
		"catalog.product_archived.v1:archived:Big Mug",
		"catalog.product_updated.v1:draft:Big Mug",
	}
	if !slices.Equal(events, want) {
		t.Errorf("events of mug:\n got %v\nwant %v", events, want)
	}

	// Categories: a category with products cannot go; an empty one can.
	f.json(req{method: "DELETE", path: "/api/v1/admin/categories/" + espresso.ID, admin: true}, 409, nil)
	var tea catalogapi.Category
	f.json(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name": "Tea"}`, admin: true}, 201, &tea)
	f.json(req{method: "PATCH", path: "/api/v1/admin/categories/" + tea.ID, body: `{"name": "Green tea", "position": 3}`, admin: true}, 200, &tea)
	if tea.Name != "Green tea" || tea.Slug != "tea" || tea.Position != 3 {
		t.Errorf("patched category %+v", tea)
	}
	if res := f.do(req{method: "DELETE", path: "/api/v1/admin/categories/" + tea.ID, admin: true}); res.status != 204 {
		t.Errorf("delete empty category: %d %s", res.status, res.body)
	}
	f.json(req{method: "GET", path: "/api/v1/admin/categories/" + tea.ID, admin: true}, 404, nil)
}

func TestHTTPTenantIsolation(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)
	var p catalogapi.Product
	f.json(req{method: "POST", path: "/api/v1/admin/products", body: mugBody, admin: true, tenant: "acme"}, 201, &p)
	var c catalogapi.Category
	f.json(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name": "Mugs"}`, admin: true, tenant: "acme"}, 201, &c)
	// The same SKU and slug in another tenant are fine.
	var other catalogapi.Product
	f.json(req{method: "POST", path: "/api/v1/admin/products", body: mugBody, admin: true, tenant: "globex"}, 201, &other)
	if other.Slug != "mug" || other.ID == p.ID {
		t.Errorf("globex's mug: %+v", other)
	}

	before := rowCounts(t, f.db)
	for _, r := range []req{
		{method: "GET", path: "/api/v1/products/" + p.ID, tenant: "globex"},
		{method: "GET", path: "/api/v1/admin/products/" + p.ID, admin: true, tenant: "globex"},
		{method: "PATCH", path: "/api/v1/admin/products/" + p.ID, body: `{"title": "Mine"}`, admin: true, tenant: "globex"},
		{method: "DELETE", path: "/api/v1/admin/products/" + p.ID, admin: true, tenant: "globex"},
		{method: "GET", path: "/api/v1/admin/categories/" + c.ID, admin: true, tenant: "globex"},
		{method: "PATCH", path: "/api/v1/admin/categories/" + c.ID, body: `{"name": "Mine"}`, admin: true, tenant: "globex"},
		{method: "DELETE", path: "/api/v1/admin/categories/" + c.ID, admin: true, tenant: "globex"},
		{method: "GET", path: "/api/v1/products/" + p.ID}, // default tenant
	} {
		if res := f.do(r); res.status != 404 {
			t.Errorf("%s %s as %q: %d, want 404", r.method, r.path, r.tenant, res.status)
		}
	}
	if after := rowCounts(t, f.db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows written: %v -> %v", before, after)
	}
	var l catalogapi.ProductList
	f.json(req{method: "GET", path: "/api/v1/products"}, 200, &l)
	if len(l.Items) != 0 {
		t.Errorf("default tenant lists %d products", len(l.Items))
	}
	var tree catalogapi.CategoryList
	f.json(req{method: "GET", path: "/api/v1/categories", tenant: "globex"}, 200, &tree)
	if len(tree.Items) != 0 {
		t.Errorf("globex sees %d categories", len(tree.Items))
	}
	var mine catalogapi.Product
	f.json(req{method: "GET", path: "/api/v1/products/mug", tenant: "acme"}, 200, &mine)
	if mine.ID != p.ID || mine.Title != "Mug" {
		t.Errorf("acme's mug = %+v", mine)
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)
	if _, err := f.svc.SeedDemo(tenantCtx(t, "acme")); err != nil {
		t.Fatal(err)
	}
	c := catalogapi.NewClient(f.url, nil)
	ctx := tenantCtx(t, "acme")
	l, err := c.Products(ctx, catalogapi.ListParams{Limit: 5, Category: "tea", Sort: "price_asc"})
	if err != nil || len(l.Items) != 5 || l.NextCursor == "" || l.Items[0].Title != "Rooibos Vanilla" {
		t.Fatalf("client list = %d items, %v", len(l.Items), err)
	}
	p, err := c.Product(ctx, "kenya-nyeri-aa")
	if err != nil || len(p.Variants) != 4 {
		t.Fatalf("client get = %+v, %v", p, err)
	}
	if _, err := c.Product(tenantCtx(t, "globex"), "kenya-nyeri-aa"); !errors.Is(err, catalogapi.ErrNotFound) {
		t.Errorf("other tenant: err = %v, want ErrNotFound", err)
	}
}

// BenchmarkListProducts measures the public list through the whole HTTP
// stack, on SQLite, with the demo shop: the number to compare with a bare
// net/http handler.
func BenchmarkListProducts(b *testing.B) {
	db := sqldbtest.Open(b, "", Migrations...)
	svc, err := New(b.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.SeedDemo(tenantCtx(b, "default")); err != nil {
		b.Fatal(err)
	}
	srv := webtest.New(b, func(api *web.API) { svc.Routes(api) })
	client := srv.Client()
	b.ResetTimer()
	for b.Loop() {
		res, err := client.Get(srv.URL + "/api/v1/products?limit=20")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatal(res.Status)
		}
	}
}

// TestHTTPPageCache checks that cached public pages never outlive a write
// made in this process, and that errors are not cached.
func TestHTTPPageCache(t *testing.T) {
	f := newHTTPFixture(t)
	if f.svc.pages == nil {
		t.Fatal("the test service runs without the page cache: this test would prove nothing")
	}
	f.json(req{method: "GET", path: "/api/v1/products/cached-mug"}, http.StatusNotFound, nil)
	var p catalogapi.Product
	f.json(req{method: "POST", path: "/api/v1/admin/products", admin: true,
		body: `{"title":"Cached Mug","status":"active","variants":[{"sku":"CM-1","price":{"amount":900,"currency":"EUR"}}]}`}, http.StatusCreated, &p)
	f.json(req{method: "GET", path: "/api/v1/products/cached-mug"}, http.StatusOK, nil)

	var list catalogapi.ProductList
	f.json(req{method: "GET", path: "/api/v1/products"}, http.StatusOK, &list)
	f.json(req{method: "GET", path: "/api/v1/products"}, http.StatusOK, &list) // from the cache
	if len(list.Items) != 1 || list.Items[0].Title != "Cached Mug" {
		t.Fatalf("list = %+v", list.Items)
	}
	f.json(req{method: "PATCH", path: "/api/v1/admin/products/" + p.ID, admin: true, body: `{"title":"Renamed Mug"}`}, http.StatusOK, nil)
	f.json(req{method: "GET", path: "/api/v1/products"}, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].Title != "Renamed Mug" {
		t.Fatalf("after PATCH the list shows %+v: a stale cached page", list.Items)
	}
	// Another tenant's write does not touch this tenant's pages, and its
	// pages are its own.
	f.json(req{method: "GET", path: "/api/v1/products", tenant: "acme"}, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("tenant acme sees %d products of default", len(list.Items))
	}
	f.json(req{method: "DELETE", path: "/api/v1/admin/products/" + p.ID, admin: true}, http.StatusNoContent, nil)
	f.json(req{method: "GET", path: "/api/v1/products/cached-mug"}, http.StatusNotFound, nil)
	f.json(req{method: "GET", path: "/api/v1/products"}, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("archived product still listed: %+v", list.Items)
	}

	// Category writes change what a category's list holds: moving a
	// category under another, renaming its slug, moving a product.
	var kitchen, mugs, plates catalogapi.Category
	f.json(req{method: "POST", path: "/api/v1/admin/categories", admin: true, body: `{"name":"Kitchen"}`}, http.StatusCreated, &kitchen)
	f.json(req{method: "POST", path: "/api/v1/admin/categories", admin: true, body: `{"name":"Mugs"}`}, http.StatusCreated, &mugs)
	f.json(req{method: "POST", path: "/api/v1/admin/categories", admin: true, body: `{"name":"Plates"}`}, http.StatusCreated, &plates)
	var cup catalogapi.Product
	f.json(req{method: "POST", path: "/api/v1/admin/products", admin: true,
		body: `{"title":"Cup","status":"active","category_id":"` + mugs.ID + `","variants":[{"sku":"CUP-1","price":{"amount":500,"currency":"EUR"}}]}`}, http.StatusCreated, &cup)
	count := func(query string) int {
		t.Helper()
		var l catalogapi.ProductList
		f.json(req{method: "GET", path: "/api/v1/products?" + query}, http.StatusOK, &l)
		return len(l.Items)
	}
	for _, q := range []string{"category=kitchen", "category=mugs", "category=plates", "category=cups"} {
		count(q) // cached
	}
	f.json(req{method: "PATCH", path: "/api/v1/admin/categories/" + mugs.ID, admin: true, body: `{"parent_id":"` + kitchen.ID + `"}`}, http.StatusOK, nil)
	if n := count("category=kitchen"); n != 1 {
		t.Fatalf("after moving mugs under kitchen, kitchen lists %d products, want 1: a stale cached page", n)
	}
	f.json(req{method: "PATCH", path: "/api/v1/admin/categories/" + mugs.ID, admin: true, body: `{"slug":"cups"}`}, http.StatusOK, nil)
	if n, m := count("category=mugs"), count("category=cups"); n != 0 || m != 1 {
		t.Fatalf("after renaming mugs to cups: mugs lists %d, cups %d; want 0 and 1", n, m)
	}
	f.json(req{method: "PATCH", path: "/api/v1/admin/products/" + cup.ID, admin: true, body: `{"category_id":"` + plates.ID + `"}`}, http.StatusOK, nil)
	if n, m := count("category=plates"), count("category=kitchen"); n != 1 || m != 0 {
		t.Fatalf("after moving the cup to plates: plates lists %d, kitchen %d; want 1 and 0", n, m)
	}
}

// TestHTTPPageCacheKey checks that requests for the same page that spell
// its size differently (no limit or the default; limits at or past the
// maximum) share one cache entry, so varying limit cannot flood the cache.
// A page served from the cache is told apart by a change made in the
// database behind the service's back, which only a fresh read shows.
func TestHTTPPageCacheKey(t *testing.T) {
	f := newHTTPFixtureConfig(t, Config{Paging: kit.Paging{PageSize: 2, MaxPageSize: 3}, CacheTTL: time.Minute, CacheBytes: 1 << 20})
	for i := range 5 {
		f.json(req{method: "POST", path: "/api/v1/admin/products", admin: true,
			body: fmt.Sprintf(`{"title":"Mug %d","status":"active","variants":[{"sku":"KEY-%d","price":{"amount":900,"currency":"EUR"}}]}`, i, i)}, http.StatusCreated, nil)
	}
	generation := 0
	changeBehindCache := func() {
		t.Helper()
		generation++
		if _, err := f.db.Write().ExecContext(t.Context(), `UPDATE products SET description = $1`, fmt.Sprintf("gen %d", generation)); err != nil {
			t.Fatal(err)
		}
	}
	get := func(query string) []byte {
		t.Helper()
		res := f.do(req{method: "GET", path: "/api/v1/products" + query})
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, res.status, res.body)
		}
		return res.body
	}
	fresh := func(body []byte) bool { return strings.Contains(string(body), fmt.Sprintf(`"gen %d"`, generation)) }

	changeBehindCache()
	first := get("") // cached under page size 2
	changeBehindCache()
	if b := get("?limit=2"); fresh(b) || string(b) != string(first) {
		t.Errorf("limit=2 was read from the database, not the cached page of no limit: %s", b)
	}
	big := get("?limit=3") // another page size: a fresh read, cached under 3
	if !fresh(big) {
		t.Fatalf("limit=3 was served the page of size 2: %s", big)
	}
	changeBehindCache()
	for _, q := range []string{"?limit=4", "?limit=5000"} {
		if b := get(q); fresh(b) || string(b) != string(big) {
			t.Errorf("%s was read from the database, not the cached page of limit=3: %s", q, b)
		}
	}
	if b := get("?limit=1"); !fresh(b) {
		t.Errorf("limit=1 was served another size's cached page: %s", b)
	}
}

// TestHTTPInternalError checks that an unexpected failure answers a 500
// problem with code internal and none of the error's text.
func TestHTTPInternalError(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)
	var p catalogapi.Product
	f.json(req{method: "POST", path: "/api/v1/admin/products", body: mugBody, admin: true}, http.StatusCreated, &p)
	if _, err := f.db.Write().ExecContext(t.Context(), `DROP TABLE variants`); err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{
		{method: "GET", path: "/api/v1/admin/products/" + p.ID, admin: true},
		{method: "GET", path: "/api/v1/products"},
		{method: "GET", path: "/api/v1/products/mug"},
	} {
		res := f.do(r)
		if res.status != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500: %s", r.path, res.status, res.body)
		}
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("%s: content type %q", r.path, ct)
		}
		var pr problem
		if err := json.Unmarshal(res.body, &pr); err != nil {
			t.Fatalf("%s: decode problem %s: %v", r.path, res.body, err)
		}
		if pr.Status != 500 || pr.Code != "internal" || len(pr.Errors) != 0 {
			t.Errorf("%s: problem %+v, want status 500, code internal, no errors", r.path, pr)
		}
		for _, leak := range []string{"variants", "table", "sql", "catalog", "load"} {
			if strings.Contains(strings.ToLower(string(res.body)), leak) {
				t.Errorf("%s: the 500 shows internal text %q: %s", r.path, leak, res.body)
			}
		}
	}
}

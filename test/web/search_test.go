package web

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

var (
	searchFacetRe = regexp.MustCompile(`<section class="facet" id="facet-category">\s*<h2>Category</h2>\s*<ul><li><a href="([^"]+)">`)
	searchTotalRe = regexp.MustCompile(`id="search-total" role="status">([\d,.]+) products?<`)
)

// searchTotal is the number of products the results page says it found.
func searchTotal(t *testing.T, body string) string {
	t.Helper()
	m := searchTotalRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no total on the results page:\n%.3000s", body)
	}
	return m[1]
}

// waitSearchable waits until the search API finds q's product slug, and
// returns how long that took.
func waitSearchable(t *testing.T, p *harness.Proc, q, slug string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for {
		r := p.Call("GET", "/api/v1/search?q="+url.QueryEscape(q), nil, nil)
		var res struct {
			Items []struct {
				Slug string `json:"slug"`
			} `json:"items"`
		}
		if r.Status == 200 {
			r.JSON(t, &res)
			for _, it := range res.Items {
				if it.Slug == slug {
					return time.Since(start)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never found %s: %d %s", q, slug, r.Status, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitIndexed waits until search finds every active product of the demo
// store: the index learns the catalog from its events after the start.
func waitIndexed(t *testing.T, p *harness.Proc) {
	t.Helper()
	n, cursor := 0, ""
	for {
		r := p.Call("GET", "/api/v1/products?limit=100&cursor="+url.QueryEscape(cursor), nil, nil)
		var l struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		r.JSON(t, &l)
		n += len(l.Items)
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var res struct {
			Total int `json:"total"`
		}
		p.Call("GET", "/api/v1/search?limit=1", nil, nil).JSON(t, &res)
		if res.Total == n && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("search finds %d of the %d products 60 s after the start", res.Total, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSearchPages: the header's search box, the results page with its
// facets as links, sorts, pages and highlights (the product's own text,
// escaped), the suggestions the box's script reads, and a new product
// found within a second of its creation.
func TestSearchPages(t *testing.T) {
	p := start(t)
	shop := newVisitor(t, p, "localhost")
	waitIndexed(t, p)

	home := shop.get("/")
	if !strings.Contains(home.Body, `<form class="search-box" role="search" method="get" action="/search">`) {
		t.Fatalf("no search box on the home page:\n%.2000s", home.Body)
	}

	pg := shop.get("/search?q=cofee")
	if pg.Status != 200 || len(shopCards(t, pg.Body)) == 0 || !strings.Contains(pg.Body, "<mark>Coffee</mark>") {
		t.Fatalf("results for a typo: %d\n%.3000s", pg.Status, pg.Body)
	}
	total := searchTotal(t, pg.Body)
	if !strings.Contains(pg.Body, `id="search-q" type="search" name="q" value="cofee"`) {
		t.Error("the box does not keep what was searched")
	}

	// The first category's link narrows the results and is marked chosen;
	// its link then removes the filter.
	m := searchFacetRe.FindStringSubmatch(pg.Body)
	if m == nil {
		t.Fatalf("no category facet:\n%.4000s", pg.Body)
	}
	narrowed := shop.get(htmlUnescape(m[1]))
	if narrowed.Status != 200 || !strings.Contains(narrowed.Body, `aria-current="true" class="chosen"`) || searchTotal(t, narrowed.Body) == total {
		t.Fatalf("category filter: %d, total %s of %s\n%.3000s", narrowed.Status, searchTotal(t, narrowed.Body), total, narrowed.Body)
	}

	// Sorted by price, page after page, with no product twice.
	var prices []int64
	var slugs []string
	next := "/search?q=coffee&sort=price"
	for range 10 {
		pg := shop.get(next)
		for _, c := range shopCards(t, pg.Body) {
			prices, slugs = append(prices, c.price), append(slugs, c.slug)
		}
		m := shopNextRe.FindStringSubmatch(pg.Body)
		if m == nil {
			break
		}
		next = htmlUnescape(m[1])
	}
	if len(prices) <= searchPageSize || !slices.IsSorted(prices) {
		t.Errorf("prices over the pages = %v, want more than a page, ascending", prices)
	}
	sorted := slices.Clone(slugs)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(slugs) {
		t.Errorf("a product shown twice: %v", slugs)
	}

	// A product made now is found within a second; its title's markup is
	// shown as text.
	r := p.Call("POST", "/api/v1/admin/products", map[string]any{
		"title": "Tasting <b>Flight</b> Set", "description": "Three small bags to <i>compare</i> origins.", "status": "active",
		"variants": []map[string]any{{"sku": "FLIGHT-1", "price": map[string]any{"amount": 2500, "currency": "EUR"}}},
	}, p.Admin())
	if r.Status != 201 {
		t.Fatalf("create product: %d %s", r.Status, r.Body)
	}
	var made struct {
		Slug string `json:"slug"`
	}
	r.JSON(t, &made)
	if took := waitSearchable(t, p, "flight", made.Slug); took > time.Second {
		t.Errorf("the new product took %s to be found, want under 1s", took)
	}
	pg = shop.get("/search?q=flight")
	if !strings.Contains(pg.Body, "Tasting &lt;b&gt;<mark>Flight</mark>&lt;/b&gt; Set") || strings.Contains(pg.Body, "<b>Flight") ||
		!strings.Contains(pg.Body, "&lt;i&gt;compare&lt;/i&gt;") {
		t.Errorf("highlights are not the escaped text:\n%.3000s", pg.Body)
	}

	// The suggestions the box's script reads.
	sg := shop.get("/search/suggestions?q=" + url.QueryEscape("tasting fl"))
	var sug struct {
		Items []struct{ Title, URL string } `json:"items"`
	}
	if err := json.Unmarshal([]byte(sg.Body), &sug); err != nil || sg.Status != 200 || len(sug.Items) != 1 ||
		sug.Items[0].URL != "/p/"+made.Slug || sug.Items[0].Title != "Tasting <b>Flight</b> Set" {
		t.Errorf("suggestions: %d %s (%v)", sg.Status, sg.Body, err)
	}

	// Nothing found says so; an old cursor starts again.
	if pg := shop.get("/search?q=bicycle"); pg.Status != 200 || !strings.Contains(pg.Body, `id="no-results"`) {
		t.Errorf("no results: %d\n%.2000s", pg.Status, pg.Body)
	}
	if pg := shop.get("/search?q=coffee&cursor=stale"); pg.Status != 200 || strings.Contains(pg.URL, "cursor") {
		t.Errorf("a stale cursor: %d at %s", pg.Status, pg.URL)
	}
}

// searchPageSize is the storefront's results page size.
const searchPageSize = 12

// TestSearchRatings: a buyer's review reaches search through the review
// service's rating event: the product's hit carries the rating, the rating
// facet counts it and the "4 stars and up" filter finds it.
func TestSearchRatings(t *testing.T) {
	t.Parallel()
	s := openAdminOrdersShop(t)
	id, token, sku := s.order()
	var shipped struct {
		Shipments []struct {
			ID string `json:"id"`
		} `json:"shipments"`
	}
	s.api("POST", "/api/v1/admin/orders/"+id+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "SR1"}, s.ownerToken).JSON(t, &shipped)
	if len(shipped.Shipments) != 1 {
		t.Fatal("the order was not shipped")
	}
	if r := s.api("POST", "/api/v1/admin/orders/"+id+"/shipments/"+shipped.Shipments[0].ID+"/events", map[string]any{"status": "delivered"}, s.ownerToken); r.Status != 200 {
		t.Fatalf("deliver: %d %s", r.Status, r.Body)
	}
	// The review service learns of the delivery from the order's events.
	s.waitFor("the review is taken", func() (bool, string) {
		r := s.api("POST", "/api/v1/reviews", map[string]any{"order_id": id, "sku": sku, "rating": 5, "title": "Lovely"}, "",
			"X-Order-Token", token, "Idempotency-Key", "search-rating-"+id)
		return r.Status == 201 || r.Status == 200, string(r.Body)
	})
	slug, _ := productOf(t, s, sku)
	type result struct {
		Items []struct {
			Slug        string  `json:"slug"`
			Rating      float64 `json:"rating"`
			RatingCount int64   `json:"rating_count"`
		} `json:"items"`
		Facets struct {
			Rating []struct {
				Value string `json:"value"`
				Count int64  `json:"count"`
			} `json:"rating"`
		} `json:"facets"`
	}
	var res result
	s.waitFor("search knows the rating", func() (bool, string) {
		r := s.api("GET", "/api/v1/search?rating=4&limit=100", nil, "")
		res = result{}
		r.JSON(t, &res)
		for _, it := range res.Items {
			if it.Slug == slug && it.Rating == 5 && it.RatingCount == 1 {
				return true, ""
			}
		}
		return false, string(r.Body)
	})
	if len(res.Facets.Rating) == 0 || res.Facets.Rating[0].Value != "4" || res.Facets.Rating[0].Count < 1 {
		t.Errorf("rating facet = %+v", res.Facets.Rating)
	}
}

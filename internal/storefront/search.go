package storefront

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/search/searchapi"
)

// Searcher is what the storefront asks the search service:
// searchapi.Client.
type Searcher interface {
	Search(ctx context.Context, q searchapi.Query) (searchapi.Results, error)
	Suggest(ctx context.Context, q string, limit int) (searchapi.Suggestions, error)
}

// searchPageSize is how many products a results page shows: whole rows,
// as on a category page.
const searchPageSize = categoryPageSize

// searchRoutes: the results page and the suggestions the search box's
// script asks for as the visitor types.
func (s *Service) searchRoutes(route routeFunc) {
	route("GET /search", s.searchPage)
	route("GET /search/suggestions", s.searchSuggestions)
}

// searchData is the results page's data.
type searchData struct {
	Q          string
	Total      int64
	Hits       []searchHit
	Facets     []facetGroup
	Sorts      []page.Option
	Sort       string
	Keep       []page.Option // the filters the sort form carries along
	NextCursor string
	Filtered   bool
	ClearURL   string
	Size       int
}

// searchHit is a product found, with its highlights.
type searchHit struct {
	searchapi.Hit
	Lazy bool
}

// facetGroup is one facet: its buckets as links that add or remove the
// filter.
type facetGroup struct {
	Name, Label string
	Buckets     []facetLink
}

type facetLink struct {
	Label    string
	Count    int64
	URL      string
	Selected bool
}

// searchSorts are the orders the results page offers.
func searchSorts() []page.Option {
	return []page.Option{
		{Value: searchapi.SortRelevance, Label: "Best match"},
		{Value: searchapi.SortPrice, Label: "Price: low to high"},
		{Value: searchapi.SortPriceDesc, Label: "Price: high to low"},
		{Value: searchapi.SortNewest, Label: "Newest first"},
		{Value: searchapi.SortRating, Label: "Best rated"},
	}
}

// filterParams are the query parameters of the filters, in the order the
// page keeps them.
var filterParams = []string{"category", "price", "in_stock", "rating"}

// searchPage shows what the search service finds for ?q= with the facets
// as links (each adds its filter, or removes it when chosen), the sort as
// a GET form, highlights and cursor paging. Everything is a link or a GET
// form: it works without JavaScript.
func (s *Service) searchPage(w http.ResponseWriter, r *http.Request) {
	if s.deps.Search == nil {
		s.kit.NotFound(w, r)
		return
	}
	ctx := r.Context()
	in := r.URL.Query()
	q := searchapi.Query{Q: strings.TrimSpace(in.Get("q")), Category: in.Get("category"), Sort: in.Get("sort"),
		Cursor: in.Get("cursor"), Limit: searchPageSize, InStock: in.Get("in_stock") == "true"}
	q.Q = cutBytes(q.Q, 200)
	if !validSort(q.Sort) {
		q.Sort = searchapi.SortRelevance
	}
	if lo, hi, ok := parseRange(in.Get("price")); ok {
		q.PriceMin, q.PriceMax = lo, hi
	}
	if n, err := strconv.ParseInt(in.Get("rating"), 10, 64); err == nil && n >= 1 && n <= 5 {
		q.Rating = n
	}
	res, err := s.deps.Search.Search(ctx, q)
	if apiclient.IsCode(err, "invalid_cursor") {
		// An old link or another sort's cursor: the first page again.
		s.kit.Redirect(w, r, searchURL(in, "cursor", ""), "")
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	title := "Search"
	if q.Q != "" {
		title = "Search: " + q.Q
	}
	v := s.view(r, title)
	d := searchData{Q: q.Q, Total: res.Total, NextCursor: res.NextCursor, Sorts: searchSorts(), Sort: q.Sort, Size: imageSize}
	for i, h := range res.Items {
		d.Hits = append(d.Hits, searchHit{Hit: h, Lazy: i >= firstRow})
	}
	st, _ := page.StoreOf(ctx)
	d.Facets = facetGroups(in, res.Facets, func(minor int64) string {
		return v.Money(money.Money{Amount: minor, Currency: st.Currency})
	})
	for _, p := range append([]string{"q"}, filterParams...) {
		if val := in.Get(p); val != "" {
			d.Keep = append(d.Keep, page.Option{Value: val, Label: p})
			d.Filtered = d.Filtered || p != "q"
		}
	}
	words := url.Values{}
	if q.Q != "" {
		words.Set("q", q.Q)
	}
	d.ClearURL = "/search?" + words.Encode()
	v.Data = d
	s.kit.Render(w, r, http.StatusOK, "search", v)
}

func validSort(s string) bool {
	for _, o := range searchSorts() {
		if o.Value == s {
			return true
		}
	}
	return false
}

// parseRange reads a price bucket's value, "min-max" or "min-".
func parseRange(v string) (lo, hi int64, ok bool) {
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false
	}
	lo, err := strconv.ParseInt(a, 10, 64)
	if err != nil || lo < 0 {
		return 0, 0, false
	}
	if b == "" {
		return lo, 0, true
	}
	hi, err = strconv.ParseInt(b, 10, 64)
	if err != nil || hi <= lo {
		return 0, 0, false
	}
	return lo, hi, true
}

// searchURL is the results page's URL for the query in with param set to
// value (removed when empty), from the first page.
func searchURL(in url.Values, param, value string) string {
	out := url.Values{}
	for k, vs := range in {
		if k != "cursor" && len(vs) > 0 && vs[0] != "" {
			out.Set(k, vs[0])
		}
	}
	if value == "" {
		out.Del(param)
	} else {
		out.Set(param, value)
	}
	return "/search?" + out.Encode()
}

// facetGroups turns the facets into links: a bucket's link sets its
// filter, a chosen bucket's link removes it. A chosen filter whose bucket
// counts nothing now still shows, so that it can be removed. Prices are
// written with price (the store's currency and locale).
func facetGroups(in url.Values, f searchapi.Facets, price func(minor int64) string) []facetGroup {
	group := func(name, label string, buckets []searchapi.Bucket, fmtLabel func(searchapi.Bucket) string) facetGroup {
		g := facetGroup{Name: name, Label: label}
		chosen := in.Get(name)
		seen := false
		for _, b := range buckets {
			l := facetLink{Label: fmtLabel(b), Count: b.Count, Selected: b.Value == chosen}
			if l.Selected {
				seen = true
				l.URL = searchURL(in, name, "")
			} else {
				l.URL = searchURL(in, name, b.Value)
			}
			g.Buckets = append(g.Buckets, l)
		}
		if chosen != "" && !seen {
			g.Buckets = append(g.Buckets, facetLink{Label: fmtLabel(searchapi.Bucket{Value: chosen, Label: chosen}), URL: searchURL(in, name, ""), Selected: true})
		}
		return g
	}
	plain := func(b searchapi.Bucket) string { return b.Label }
	var out []facetGroup
	for _, g := range []facetGroup{
		group("category", "Category", f.Category, plain),
		group("price", "Price", f.Price, func(b searchapi.Bucket) string { return priceLabel(b, price) }),
		group("in_stock", "Availability", f.InStock, func(searchapi.Bucket) string { return "In stock" }),
		group("rating", "Rating", f.Rating, func(b searchapi.Bucket) string { return b.Value + " stars and up" }),
	} {
		if len(g.Buckets) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// searchSuggestions answers the search box's script with what the search
// service suggests for ?q=, as JSON ({"items":[{"title","url"}]}). The
// box works without it.
func (s *Service) searchSuggestions(w http.ResponseWriter, r *http.Request) {
	if s.deps.Search == nil {
		s.kit.NotFound(w, r)
		return
	}
	type item struct {
		Title string `json:"title"`
		URL   string `json:"url"`
	}
	out := struct {
		Items []item `json:"items"`
	}{Items: []item{}}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	q := cutBytes(strings.TrimSpace(r.URL.Query().Get("q")), 100)
	if q != "" {
		res, err := s.deps.Search.Suggest(r.Context(), q, 8)
		if err != nil {
			// The box works without suggestions: say so, with an empty list.
			s.log.WarnContext(r.Context(), "read search suggestions", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		for _, it := range res.Items {
			out.Items = append(out.Items, item{Title: it.Title, URL: "/p/" + url.PathEscape(it.Slug)})
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// priceLabel names a price bucket by its bounds: "under €10.00", "€10.00 to
// €25.00", "€100.00 and above"; its own label when its value is not a
// range.
func priceLabel(b searchapi.Bucket, price func(int64) string) string {
	lo, hi, ok := parseRange(b.Value)
	switch {
	case !ok:
		return b.Label
	case hi == 0:
		return price(lo) + " and above"
	case lo == 0:
		return "under " + price(hi)
	}
	return price(lo) + " to " + price(hi)
}

// cutBytes cuts s to at most n bytes, at a character boundary: the search
// API refuses longer words.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

package storefront

import (
	"net/url"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/search/searchapi"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi int64
		ok     bool
	}{
		{"1000-2500", 1000, 2500, true}, {"10000-", 10000, 0, true}, {"0-1000", 0, 1000, true},
		{"2500-1000", 0, 0, false}, {"-5-10", 0, 0, false}, {"abc", 0, 0, false}, {"", 0, 0, false}, {"5-x", 0, 0, false},
	} {
		lo, hi, ok := parseRange(tc.in)
		if lo != tc.lo || hi != tc.hi || ok != tc.ok {
			t.Errorf("parseRange(%q) = %d, %d, %v; want %d, %d, %v", tc.in, lo, hi, ok, tc.lo, tc.hi, tc.ok)
		}
	}
}

// TestFacetLinks: a bucket's link sets its filter and starts from the
// first page; the chosen one's link removes it, and stays shown when it
// counts nothing now.
func TestFacetLinks(t *testing.T) {
	in := url.Values{"q": {"tea"}, "category": {"c1"}, "cursor": {"abc"}, "sort": {"price"}}
	f := searchapi.Facets{
		Category: []searchapi.Bucket{{Value: "c1", Label: "Tea", Count: 3}, {Value: "c2", Label: "Green tea", Count: 1}},
		Price:    []searchapi.Bucket{{Value: "0-1000", Count: 2}, {Value: "10000-", Count: 1}},
	}
	in2 := url.Values{"q": {"tea"}, "rating": {"4"}}
	price := func(n int64) string { return "€" + strconv.FormatInt(n/100, 10) }
	got := facetGroups(in, f, price)
	if len(got) != 2 || got[0].Name != "category" || got[1].Name != "price" {
		t.Fatalf("groups = %+v", got)
	}
	cat := got[0].Buckets
	if !cat[0].Selected || cat[0].URL != "/search?q=tea&sort=price" || cat[1].Selected || cat[1].URL != "/search?category=c2&q=tea&sort=price" {
		t.Errorf("category links = %+v", cat)
	}
	if p := got[1].Buckets; p[0].Label != "under €10" || p[1].Label != "€100 and above" || p[0].URL != "/search?category=c1&price=0-1000&q=tea&sort=price" {
		t.Errorf("price links = %+v", p)
	}
	chosen := facetGroups(in2, searchapi.Facets{}, price)
	if len(chosen) != 1 || chosen[0].Name != "rating" || !chosen[0].Buckets[0].Selected || chosen[0].Buckets[0].URL != "/search?q=tea" {
		t.Errorf("a chosen filter counting nothing = %+v", chosen)
	}
}

func TestCutBytes(t *testing.T) {
	s := "é" + "ééé" // 2 bytes each
	if got := cutBytes(s, 5); got != "éé" || !utf8.ValidString(got) {
		t.Errorf("cutBytes = %q", got)
	}
	if got := cutBytes("tea", 200); got != "tea" {
		t.Errorf("cutBytes = %q", got)
	}
}

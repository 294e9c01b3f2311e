package browser

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestStorefrontSearch: the header's search box suggests titles as the
// visitor types (its datalist fills), Enter shows the results page with
// highlights, a facet narrows it and the sort reorders it; the pages pass
// the toolkit's checks (no sideways scroll, axe).
func TestStorefrontSearch(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	b := newBrowser(t, browserOptions{Timeout: 3 * time.Minute})
	ctx := b.ctx

	run(t, ctx, "open the home page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/"))
	arrive(t, ctx, "/", "#search-q")
	// The index learns the demo catalog from events after the start: the
	// suggestions come once it has.
	run(t, ctx, "type in the search box", chromedp.Click(chromedp.CSS("#search-q")), typeText("dark ho"))
	if _, err := poll(ctx, `document.querySelector('#search-suggestions option[value="Dark Horse Espresso"]') ? "yes" : ""`, shopWait); err != nil {
		t.Fatalf("no suggestion for %q: %v", value(t, ctx, "#search-q"), err)
	}
	run(t, ctx, "send the search", pressEnter())
	arrive(t, ctx, "/search", "#search-total")
	if got := text(t, ctx, ".hits li:first-child .t mark"); got == "" {
		t.Errorf("the first hit marks nothing: %q", text(t, ctx, ".hits li:first-child .t"))
	}
	checkPage(t, ctx, "search")

	// A broader search, narrowed by the first category and sorted by price.
	run(t, ctx, "search for coffee", chromedp.Navigate(s.base+"/search?q=coffee"))
	arrive(t, ctx, "/search", "#facet-category a")
	before := text(t, ctx, "#search-total")
	run(t, ctx, "choose the first category", chromedp.Click(chromedp.CSS("#facet-category li:first-child a")))
	arrive(t, ctx, "/search", "#facet-category a.chosen")
	if after := text(t, ctx, "#search-total"); after == before {
		t.Errorf("the category facet left %q", after)
	}
	run(t, ctx, "sort by price", chromedp.SetValue(chromedp.CSS("#f-sort"), "price"))
	where := arrive(t, ctx, "/search", `#f-sort option[value="price"][selected]`)
	if !strings.Contains(where, "category=") || !strings.Contains(where, "sort=price") {
		t.Errorf("the sorted page at %s lost the filter", where)
	}
	checkPage(t, ctx, "search-filtered")
}

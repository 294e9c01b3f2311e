package browser

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestReviewPages: the pages reviews add, with a review in place, at both
// widths, without sideways scrolling or a serious accessibility violation:
// the product page's rating and reviews, the product's reviews page, the
// delivered order's page, the buyer's review form, and the admin's review
// page. The review's HTML shows as text.
func TestReviewPages(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	// The admin token works until the store has an owner: the order is
	// shipped and delivered before.
	s.setStock(shopSKU, 20)
	id, token := s.guestOrder(shopSKU)
	var o struct {
		Shipments []struct {
			ID string `json:"id"`
		} `json:"shipments"`
		Lines []struct {
			ProductID string `json:"product_id"`
		} `json:"lines"`
	}
	s.admin(http.MethodPost, "/api/v1/admin/orders/"+id+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "BR-REVIEW-1"}, http.StatusCreated).JSON(t, &o)
	s.admin(http.MethodPost, "/api/v1/admin/orders/"+id+"/shipments/"+o.Shipments[0].ID+"/events", map[string]any{"status": "delivered"}, http.StatusOK)
	guest := map[string]string{"Host": "localhost", "X-Order-Token": token}
	deadline := time.Now().Add(shopWait)
	for {
		res := s.p.Call(http.MethodGet, "/api/v1/reviews/orders/"+id, nil, guest)
		if strings.Contains(string(res.Body), `"reviewable":["`+shopSKU+`"]`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the line never became reviewable: %d %s", res.Status, res.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rv struct {
		ID string `json:"id"`
	}
	res := s.p.Call(http.MethodPost, "/api/v1/reviews", map[string]any{"order_id": id, "sku": shopSKU, "rating": 4,
		"title": "<script>alert(1)</script> Fine beans", "body": "Fruity.\nGood as espresso too."}, guest)
	if res.Status != http.StatusCreated {
		t.Fatalf("review: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &rv)
	var p struct {
		Slug string `json:"slug"`
	}
	s.p.Call(http.MethodGet, "/api/v1/products/"+o.Lines[0].ProductID, nil, map[string]string{"Host": "localhost"}).JSON(t, &p)

	b := newBrowser(t, browserOptions{Timeout: 6 * time.Minute})
	ctx := b.ctx
	run(t, ctx, "open the product", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/p/"+p.Slug))
	arrive(t, ctx, "/p/"+p.Slug, "#reviews article.review")
	if got := text(t, ctx, "#reviews article.review strong"); got != "<script>alert(1)</script> Fine beans" {
		t.Errorf("the review's title shows as %q", got)
	}
	if got := text(t, ctx, "#rating"); !strings.Contains(got, "4.0 out of 5") {
		t.Errorf("the rating reads %q", got)
	}
	checkPage(t, ctx, "review-product")
	for _, pg := range []struct{ path, sel, name string }{
		{"/p/" + p.Slug + "/reviews", "#reviews article.review", "review-all"},
		{"/orders/" + id + "?token=" + url.QueryEscape(token), ".line-review", "review-order"},
		{"/orders/" + id + "/review?sku=" + url.QueryEscape(shopSKU) + "&token=" + url.QueryEscape(token), "form#review-form", "review-form"},
	} {
		run(t, ctx, "open "+pg.name, chromedp.Navigate(s.base+pg.path))
		arrive(t, ctx, strings.SplitN(pg.path, "?", 2)[0], pg.sel)
		checkPage(t, ctx, pg.name)
	}

	// The admin's review page, as the owner.
	run(t, ctx, "open the setup", chromedp.Navigate(s.base+"/admin/setup"))
	arrive(t, ctx, "/admin/setup", "form#setup")
	run(t, ctx, "set up the owner",
		chromedp.SendKeys(chromedp.CSS("#f-admin_token"), s.p.Token),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Olga Owner"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "olga@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), adminPassword),
		chromedp.Click(chromedp.CSS("#setup-submit")))
	arrive(t, ctx, "/admin/", "#h-revenue")
	run(t, ctx, "open the published reviews", chromedp.Navigate(s.base+"/admin/reviews?status=published"))
	arrive(t, ctx, "/admin/reviews", "#review-"+rv.ID)
	checkPage(t, ctx, "review-admin-list")
	run(t, ctx, "open the review", chromedp.Navigate(s.base+"/admin/reviews/"+rv.ID))
	arrive(t, ctx, "/admin/reviews/"+rv.ID, "form#hide-review")
	checkPage(t, ctx, "review-admin")
	b.checkOrigin(t, s.base)
}

package browser

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestOrderPageLive: a guest's order page open in the browser shows the
// shipment as the store ships the order, without a reload: the status
// (a live region) reads Shipped and the tracking number appears, in the
// same document.
func TestOrderPageLive(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	s.setStock(shopSKU, 20)
	id, token := s.guestOrder(shopSKU)

	b := newBrowser(t, browserOptions{Timeout: 3 * time.Minute})
	ctx := b.ctx
	orderPath := "/orders/" + url.PathEscape(id)
	run(t, ctx, "open the order page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+orderPath+"?token="+url.QueryEscape(token)))
	arrive(t, ctx, orderPath, "#order-status")
	if _, err := poll(ctx, `document.body.dataset.live === "on" ? "yes" : ""`, shopWait); err != nil {
		t.Fatalf("the page does not follow its order: %v", err)
	}
	if st := text(t, ctx, "#order-status"); st != "Confirmed" {
		t.Fatalf("status %q before the shipment, want Confirmed", st)
	}
	// A mark on this document: a reload would lose it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(window.liveMark = "same document")`)); err != nil {
		t.Fatalf("mark the document: %v", err)
	}

	const tracking = "JD014600006281230777"
	res := s.p.Call(http.MethodPost, "/api/v1/admin/orders/"+url.PathEscape(id)+"/shipments", map[string]string{"carrier": "DHL", "tracking_number": tracking},
		s.p.Admin("Host", "localhost", "Idempotency-Key", "browser-live-ship"))
	if res.Status != http.StatusCreated && res.Status != http.StatusOK {
		t.Fatalf("ship the order: %d %s", res.Status, res.Body)
	}
	if _, err := poll(ctx, `document.getElementById("order-status").textContent === "Shipped" && document.getElementById("shipments").textContent.includes(`+"`"+tracking+"`"+`) ? "yes" : ""`, shopWait); err != nil {
		t.Fatalf("the page did not show the shipment: %v\n%s", err, text(t, ctx, "main"))
	}
	if mark, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.liveMark || ""`)); err != nil || mark != "same document" {
		t.Errorf("the page was reloaded (mark %q, %v)", mark, err)
	}
	if tl := text(t, ctx, "#timeline"); !strings.Contains(strings.ToLower(tl), "ship") {
		t.Errorf("the history does not show the shipment: %q", tl)
	}
	checkPage(t, ctx, "order-live")
	b.checkOrigin(t, s.base)
}

// TestAdminLiveNotice: the owner on the admin's home page is told of a new
// order as it is placed, in the layout's live list, with a link to it.
func TestAdminLiveNotice(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	s.setStock(shopSKU, 20)
	res := s.p.Call(http.MethodPost, "/api/v1/admin/identity/owners",
		map[string]string{"email": "olga@example.com", "password": adminPassword, "name": "Olga Owner"}, s.p.Admin("Host", "localhost"))
	if res.Status != http.StatusCreated && res.Status != http.StatusOK {
		t.Fatalf("create the owner: %d %s", res.Status, res.Body)
	}
	b := newBrowser(t, browserOptions{Timeout: 3 * time.Minute})
	ctx := b.ctx
	run(t, ctx, "open the admin", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/admin/"))
	signInAdmin(t, ctx, "olga@example.com", "/admin/", "ul.live-notices[aria-live=polite]")
	if _, err := poll(ctx, `document.body.dataset.live === "on" ? "yes" : ""`, shopWait); err != nil {
		t.Fatalf("the admin does not listen for notices: %v", err)
	}
	id, _ := s.guestOrder(shopSKU)
	ref := strings.ToUpper(strings.ReplaceAll(id, "-", ""))
	ref = ref[len(ref)-8:]
	got, err := poll(ctx, `(() => { const a = document.querySelector(".live-notices li a"); return a ? a.textContent + " " + a.getAttribute("href") : ""; })()`, shopWait)
	if err != nil {
		t.Fatalf("no notice of the new order: %v", err)
	}
	if !strings.Contains(got, "New order "+ref) || !strings.HasSuffix(got, "/admin/orders/"+id) {
		t.Errorf("notice %q, want the order %s linked", got, ref)
	}
	checkPage(t, ctx, "admin-live-notice")
	b.checkOrigin(t, s.base)
}

package browser

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAdminAnalyticsLive: the owner's dashboard passes the page checks
// (axe, 375 px), and a new order's figures reach it without a reload.
func TestAdminAnalyticsLive(t *testing.T) {
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
	run(t, ctx, "open the admin", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/admin/analytics?period=7"))
	signInAdmin(t, ctx, "olga@example.com", "/admin/analytics", "#revenue-chart-title")
	if _, err := poll(ctx, `document.body.dataset.live === "on" ? "yes" : ""`, shopWait); err != nil {
		t.Fatalf("the dashboard does not listen: %v", err)
	}
	checkPage(t, ctx, "admin-analytics")
	before := text(t, ctx, `[aria-describedby="kpi-orders"]`)
	if _, err := poll(ctx, `(window.notReloaded = true) ? "yes" : ""`, shopWait); err != nil {
		t.Fatal(err)
	}
	s.guestOrder(shopSKU)
	got, err := poll(ctx, `(() => { const v = document.querySelector('[aria-describedby="kpi-orders"]'); return window.notReloaded && v && v.textContent !== `+"`"+before+"`"+` ? v.textContent : ""; })()`, shopWait)
	if err != nil {
		t.Fatalf("the dashboard's orders stayed %q: %v", before, err)
	}
	if strings.TrimSpace(got) == "" {
		t.Errorf("orders now %q", got)
	}
	b.checkOrigin(t, s.base)
}

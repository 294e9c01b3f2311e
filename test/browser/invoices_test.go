package browser

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestInvoicePages: the pages invoices add, with an invoice issued, at
// both widths, without sideways scrolling or a serious accessibility
// violation: the order page's Invoices, the admin's invoice list and an
// invoice's page.
func TestInvoicePages(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	s.setStock(shopSKU, 20)
	id, token := s.guestOrder(shopSKU)
	guest := map[string]string{"Host": "localhost", "X-Order-Token": token}
	var invoiceID string
	for deadline := time.Now().Add(shopWait); invoiceID == ""; {
		res := s.p.Call(http.MethodGet, "/api/v1/invoices/orders/"+id, nil, guest)
		var l struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		_ = json.Unmarshal(res.Body, &l)
		if len(l.Items) > 0 {
			invoiceID = l.Items[0].ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the order was never invoiced: %d %s", res.Status, res.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	b := newBrowser(t, browserOptions{Timeout: 6 * time.Minute})
	ctx := b.ctx
	run(t, ctx, "open the order", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/orders/"+id+"?token="+url.QueryEscape(token)))
	arrive(t, ctx, "/orders/"+id, "#invoices a[download]")
	if got := text(t, ctx, "#invoices li strong"); !strings.HasPrefix(got, "Invoice INV-") {
		t.Errorf("the order's invoice reads %q", got)
	}
	checkPage(t, ctx, "invoice-order")

	run(t, ctx, "open the setup", chromedp.Navigate(s.base+"/admin/setup"))
	arrive(t, ctx, "/admin/setup", "form#setup")
	run(t, ctx, "set up the owner",
		chromedp.SendKeys(chromedp.CSS("#f-admin_token"), s.p.Token),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Olga Owner"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "olga@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), adminPassword),
		chromedp.Click(chromedp.CSS("#setup-submit")))
	arrive(t, ctx, "/admin/", "#h-revenue")
	run(t, ctx, "open the invoices", chromedp.Navigate(s.base+"/admin/invoices"))
	arrive(t, ctx, "/admin/invoices", "table#invoices")
	checkPage(t, ctx, "invoice-admin-list")
	run(t, ctx, "open the invoice", chromedp.Navigate(s.base+"/admin/invoices/"+invoiceID))
	arrive(t, ctx, "/admin/invoices/"+invoiceID, "form#invoice-resend")
	checkPage(t, ctx, "invoice-admin")
	b.checkOrigin(t, s.base)
}

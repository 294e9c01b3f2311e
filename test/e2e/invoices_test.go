package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestInvoiceJourney: a guest's order is invoiced on confirmation; the
// guest downloads the PDF and the XML from the API and the storefront's
// order page, the same bytes each time; a refund issues a credit note
// referencing the invoice; staff find both, and a re-send emails the buyer.
func TestInvoiceJourney(t *testing.T) {
	t.Parallel()
	// With Mailpit (CI), the re-sent invoice goes out by SMTP, its PDF
	// attached; without it, the email is kept in the store's list.
	smtp := smtpFlags()
	s := openShop(t, nil, smtp...)
	sku := s.newSKU(5)
	to := "invoice-" + strings.ToLower(randomHex(4)) + "@example.com"
	r := s.checkout(checkoutBody(to, "tok_visa", map[string]int{sku: 2}), "")
	if r.Status != http.StatusCreated {
		t.Fatalf("checkout: %d %s", r.Status, r.Body)
	}
	var o struct {
		ID        string `json:"id"`
		Token     string `json:"token"`
		Shipments []struct {
			ID string `json:"id"`
		} `json:"shipments"`
	}
	r.JSON(t, &o)
	guest := map[string]string{"X-Order-Token": o.Token}
	type doc struct {
		ID            string `json:"id"`
		Kind          string `json:"kind"`
		Number        string `json:"number"`
		InvoiceNumber string `json:"invoice_number"`
		Total         struct {
			Amount int64 `json:"amount"`
		} `json:"total"`
	}
	docs := func(want int) []doc {
		t.Helper()
		var l struct {
			Items []doc `json:"items"`
		}
		waitFor(t, fmt.Sprintf("%d documents of the order", want), func() (bool, string) {
			r := s.p.Call("GET", "/api/v1/invoices/orders/"+o.ID, nil, guest)
			l.Items = nil
			_ = json.Unmarshal(r.Body, &l)
			return r.Status == http.StatusOK && len(l.Items) == want, fmt.Sprintf("%d %s", r.Status, r.Body)
		})
		return l.Items
	}
	inv := docs(1)[0]
	if inv.Kind != "invoice" || !strings.HasPrefix(inv.Number, "INV-") {
		t.Fatalf("invoice: %+v", inv)
	}

	// The same bytes from the API, twice, and from the storefront page.
	pdfPath := "/api/v1/invoices/orders/" + o.ID + "/" + inv.ID + "/pdf"
	a := s.p.Call("GET", pdfPath, nil, guest)
	b := s.p.Call("GET", pdfPath, nil, guest)
	if a.Status != http.StatusOK || a.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(a.Body, []byte("%PDF-")) ||
		!bytes.Equal(a.Body, b.Body) {
		t.Fatalf("pdf: %d %q, same twice: %v", a.Status, a.Header.Get("Content-Type"), bytes.Equal(a.Body, b.Body))
	}
	page := s.p.Call("GET", "/orders/"+o.ID+"?token="+url.QueryEscape(o.Token), nil, nil)
	link := "/orders/" + o.ID + "/invoices/" + inv.ID + "/pdf?token=" + url.QueryEscape(o.Token)
	if page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte(`id="invoices"`)) ||
		!bytes.Contains(page.Body, []byte(strings.ReplaceAll(link, "&", "&amp;"))) {
		t.Fatalf("order page: %d, no invoice link %s in it", page.Status, link)
	}
	c := s.p.Call("GET", link, nil, nil)
	if c.Status != http.StatusOK || !bytes.Equal(c.Body, a.Body) {
		t.Fatalf("storefront download: %d, same bytes: %v", c.Status, bytes.Equal(c.Body, a.Body))
	}
	if w := s.p.Call("GET", "/orders/"+o.ID+"/invoices/"+inv.ID+"/pdf?token=wrong", nil, nil); w.Status != http.StatusNotFound {
		t.Errorf("storefront download with a wrong token: %d", w.Status)
	}
	x := s.p.Call("GET", "/api/v1/invoices/orders/"+o.ID+"/"+inv.ID+"/xml", nil, guest)
	if x.Status != http.StatusOK || !bytes.Contains(x.Body, []byte("<cbc:ID>"+inv.Number+"</cbc:ID>")) {
		t.Fatalf("xml: %d %.300s", x.Status, x.Body)
	}

	// Shipped (captured), then partly refunded: a credit note.
	r = s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "00340434169999999998"}, s.admin())
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("ship: %d %s", r.Status, r.Body)
	}
	r = s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/refunds",
		map[string]any{"amount": map[string]any{"amount": 500, "currency": "EUR"}, "reason": "scratched box", "key": "inv-refund-1"}, s.admin())
	if r.Status != http.StatusOK {
		t.Fatalf("refund: %d %s", r.Status, r.Body)
	}
	cn := docs(2)[1]
	if cn.Kind != "credit_note" || cn.InvoiceNumber != inv.Number || cn.Total.Amount != 500 || !strings.HasPrefix(cn.Number, "CN-") {
		t.Fatalf("credit note: %+v", cn)
	}

	// Staff find the order's documents by the buyer's email, and re-send.
	var l struct {
		Items []doc `json:"items"`
	}
	r = s.p.Call("GET", "/api/v1/admin/invoices?q="+url.QueryEscape(to), nil, s.admin())
	r.JSON(t, &l)
	if r.Status != http.StatusOK || len(l.Items) != 2 || l.Items[0].ID != cn.ID {
		t.Fatalf("staff search: %d %s", r.Status, r.Body)
	}
	r = s.p.Call("POST", "/api/v1/admin/invoices/"+inv.ID+"/resend", nil, s.admin())
	if r.Status != http.StatusAccepted {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	if smtp == nil {
		s.emailTo("invoice_sent", to, "kept")
		return
	}
	s.emailTo("invoice_sent", to, "sent")
	if got := mailpitAttachments(t, to); len(got) != 1 || got[0].FileName != inv.Number+".pdf" || got[0].Size != len(a.Body) {
		t.Errorf("the invoice email's attachments: %+v, want %s.pdf of %d bytes", got, inv.Number, len(a.Body))
	}
}

type mailpitAttachment struct {
	FileName, ContentType string
	Size                  int
}

// mailpitAttachments lists the attachments of the one message Mailpit
// received for to.
func mailpitAttachments(t *testing.T, to string) []mailpitAttachment {
	t.Helper()
	api := strings.TrimSuffix(os.Getenv("MERCATO_TEST_MAILPIT"), "/")
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(api + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var l struct {
		Messages []struct {
			ID string
			To []struct{ Address string }
		} `json:"messages"`
	}
	get("/api/v1/messages?limit=1000", &l)
	for _, m := range l.Messages {
		if len(m.To) == 1 && m.To[0].Address == to {
			var full struct{ Attachments []mailpitAttachment }
			get("/api/v1/message/"+m.ID, &full)
			return full.Attachments
		}
	}
	t.Fatalf("Mailpit has no message to %s", to)
	return nil
}

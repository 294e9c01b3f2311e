package invoice

import (
	"bytes"
	"testing"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestClient walks the pages' invoice calls through the typed client
// against the real handlers: a wrong path, query or header fails here.
func TestClient(t *testing.T) {
	f := newFixture(t, sqldbtest.Open(t, "", Migrations...), Config{})
	o := oddOrder("o1")
	f.feed("acme", orderapi.SubjectConfirmed, confirmed(o))
	f.feed("acme", orderapi.SubjectRefunded, orderapi.Refunded{Order: o, Amount: eur(500)})
	c := invoiceapi.NewClient(f.url, nil)
	guest := tenantCtx(t, "acme")
	staff := apiclient.WithToken(guest, webtest.AdminToken)

	mine, err := c.OrderDocuments(guest, "o1", "tok-o1")
	if err != nil || len(mine.Items) != 2 {
		t.Fatalf("the guest's documents: %+v, %v", mine, err)
	}
	if l, err := c.OrderDocuments(guest, "o1", "tok-wrong"); err != nil || len(l.Items) != 0 {
		t.Errorf("with a wrong token: %+v, %v", l, err)
	}
	pdf, err := c.OrderFile(guest, "o1", mine.Items[0].ID, "pdf", "tok-o1")
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("the guest's pdf: %.10q, %v", pdf, err)
	}
	if _, err := c.OrderFile(guest, "o1", mine.Items[0].ID, "xml", "tok-wrong"); !apiclient.IsCode(err, "invoice_not_found") {
		t.Errorf("xml with a wrong token: %v", err)
	}
	l, err := c.List(staff, invoiceapi.KindCreditNote, "o1", "", 5)
	if err != nil || len(l.Items) != 1 || l.Items[0].Total.Amount != 500 {
		t.Fatalf("list: %+v, %v", l, err)
	}
	d, err := c.Get(staff, l.Items[0].ID)
	if err != nil || d.Number != "CN-2026-000001" {
		t.Errorf("get: %+v, %v", d, err)
	}
	xml, err := c.File(staff, d.ID, "xml")
	if err != nil || !bytes.Contains(xml, []byte("CN-2026-000001")) {
		t.Errorf("xml: %.100s, %v", xml, err)
	}
	if r, err := c.Resend(staff, d.ID, "resend-key-1"); err != nil || r.Email != o.Email {
		t.Errorf("resend: %+v, %v", r, err)
	}
	if _, err := c.Get(staff, "nope"); !apiclient.IsCode(err, "invoice_not_found") {
		t.Errorf("get an unknown one: %v", err)
	}
}

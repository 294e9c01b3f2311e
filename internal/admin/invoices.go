package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

// The Invoices section: the store's invoices and credit notes, searched by
// number, order or email; a document's page with its lines and sums, its
// PDF and XML, and a button that emails it to the buyer again. Every role
// of the staff may do all of it (the invoice service's access table,
// internal/invoice/http.go); nobody may change a document.
func (s *Service) invoiceRoutes(route routeFunc) {
	route("GET /admin/invoices", s.invoices)
	route("GET /admin/invoices/{id}", s.invoice)
	route("GET /admin/invoices/{id}/{format}", s.invoiceFile)
	route("POST /admin/invoices/{id}/resend", s.resendInvoice)
}

// invoiceKinds are the list's kind filter.
var invoiceKinds = []page.Option{
	{Value: "", Label: "Invoices and credit notes"},
	{Value: string(invoiceapi.KindInvoice), Label: "Invoices"},
	{Value: string(invoiceapi.KindCreditNote), Label: "Credit notes"},
}

// invoicesPage is the data of the document list.
type invoicesPage struct {
	Kinds     []page.Option
	Documents []invoiceapi.Invoice
	Next      string
	Filtered  bool
}

// KindLabel names a kind of document.
func (invoicesPage) KindLabel(k invoiceapi.Kind) string { return kindLabel(k) }

func kindLabel(k invoiceapi.Kind) string {
	if k == invoiceapi.KindCreditNote {
		return "Credit note"
	}
	return "Invoice"
}

// invoices lists the store's documents, newest first, filtered by the
// search form.
func (s *Service) invoices(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Invoices")
	if !ok {
		return
	}
	if s.deps.Invoices == nil {
		s.kit.NotFound(w, r)
		return
	}
	form := page.EmptyForm(r.URL.Query())
	kind := form.Get("kind")
	if kind != "" && kind != string(invoiceapi.KindInvoice) && kind != string(invoiceapi.KindCreditNote) {
		form.Fail("kind", "choose a kind from the list")
	}
	q := strings.TrimSpace(form.Get("q"))
	if len(q) > 254 {
		form.Fail("q", "at most 254 characters")
	}
	pf.view.Form = form
	d := invoicesPage{Kinds: invoiceKinds, Filtered: kind != "" || q != ""}
	pf.view.Data = d
	if form.Invalid() {
		s.kit.Render(w, r, http.StatusUnprocessableEntity, "invoices", pf.view)
		return
	}
	l, err := s.deps.Invoices.List(pf.ctx, invoiceapi.Kind(kind), q, form.Get("cursor"), 0)
	if apiclient.IsCode(err, "invalid_cursor") {
		s.kit.Redirect(w, r, "/admin/invoices", "")
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d.Documents, d.Next = l.Items, l.NextCursor
	pf.view.Data = d
	s.kit.Render(w, r, http.StatusOK, "invoices", pf.view)
}

// invoicePage is the data of a document's page.
type invoicePage struct {
	Doc invoiceapi.Invoice
}

// KindLabel names the document's kind.
func (p invoicePage) KindLabel() string { return kindLabel(p.Doc.Kind) }

// Percent writes a tax rate in basis points as a percentage.
func (invoicePage) Percent(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if r := bp % 100; r != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(100+r, 10)[1:], "0")
	}
	return s + " %"
}

// invoice shows one document.
func (s *Service) invoice(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Invoice")
	if !ok {
		return
	}
	if s.deps.Invoices == nil {
		s.kit.NotFound(w, r)
		return
	}
	d, err := s.deps.Invoices.Get(pf.ctx, r.PathValue("id"))
	if apiclient.IsCode(err, "invoice_not_found") {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	pf.view.Title = kindLabel(d.Kind) + " " + d.Number
	pf.view.Form = page.EmptyForm(nil)
	pf.view.Data = invoicePage{Doc: d}
	s.kit.Render(w, r, http.StatusOK, "invoice", pf.view)
}

// invoiceFile sends a document's PDF or XML as the invoice service stored
// it.
func (s *Service) invoiceFile(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	format := r.PathValue("format")
	if s.deps.Invoices == nil || format != "pdf" && format != "xml" {
		s.kit.NotFound(w, r)
		return
	}
	id := r.PathValue("id")
	d, err := s.deps.Invoices.Get(ctx, id)
	if err == nil {
		var body []byte
		if body, err = s.deps.Invoices.File(ctx, id, format); err == nil {
			sendFile(w, d.Number, format, body)
			return
		}
	}
	if apiclient.IsCode(err, "invoice_not_found") {
		s.kit.NotFound(w, r)
		return
	}
	s.kit.Fail(w, r, err)
}

// sendFile answers with a document's file, to be saved under its number.
func sendFile(w http.ResponseWriter, number, format string, body []byte) {
	page.Download(w, number+"."+format, invoiceapi.ContentType(format))
	_, _ = w.Write(body)
}

// resendInvoice asks for a document to be emailed to its buyer again.
func (s *Service) resendInvoice(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Invoice")
	if !ok {
		return
	}
	form := page.ParseForm(w, r)
	if s.deps.Invoices == nil {
		s.kit.NotFound(w, r)
		return
	}
	id := r.PathValue("id")
	rs, err := s.deps.Invoices.Resend(pf.ctx, id, form.Key())
	if apiclient.IsCode(err, "invoice_not_found") {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/invoices/"+url.PathEscape(id), "It is being sent to "+rs.Email+" again.")
}

package storefront

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

// invoiceRoutes: the downloads of an order's invoices and credit notes, for
// the guest holding the order's token or the customer it belongs to, as
// its page.
func (s *Service) invoiceRoutes(route routeFunc) {
	route("GET /orders/{id}/invoices/{iid}/{format}", s.invoiceFile)
}

// invoiceLink is a document of an order as its page lists it.
type invoiceLink struct {
	invoiceapi.Invoice
	// PDF and XML are the download links (with the guest's token).
	PDF, XML string
}

// Label names the document for people.
func (l invoiceLink) Label() string {
	if l.Kind == invoiceapi.KindCreditNote {
		return "Credit note " + l.Number
	}
	return "Invoice " + l.Number
}

// orderInvoices reads the order's invoice and credit notes for its buyer;
// none without an invoice service, or when it fails (logged).
func (s *Service) orderInvoices(ctx context.Context, o orderapi.Order, token string) []invoiceLink {
	if s.deps.Invoices == nil {
		return nil
	}
	l, err := s.deps.Invoices.OrderDocuments(ctx, o.ID, token)
	if err != nil {
		s.log.WarnContext(ctx, "read order invoices", "order_id", o.ID, "err", err)
		return nil
	}
	out := make([]invoiceLink, 0, len(l.Items))
	for _, d := range l.Items {
		link := func(format string) string {
			u := s.kit.Path("/orders/" + url.PathEscape(o.ID) + "/invoices/" + url.PathEscape(d.ID) + "/" + format)
			if token != "" {
				u += "?token=" + url.QueryEscape(token)
			}
			return u
		}
		out = append(out, invoiceLink{Invoice: d, PDF: link("pdf"), XML: link("xml")})
	}
	return out
}

// invoiceFile sends one of the order's documents as PDF or XML, as the
// invoice service stored it, to the order's buyer; anyone else finds
// nothing.
func (s *Service) invoiceFile(w http.ResponseWriter, r *http.Request) {
	format := r.PathValue("format")
	if s.deps.Invoices == nil || format != "pdf" && format != "xml" {
		s.kit.NotFound(w, r)
		return
	}
	id, iid, token := r.PathValue("id"), r.PathValue("iid"), r.URL.Query().Get("token")
	ctx, err := s.buyerContext(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if token == "" && apiclient.Token(ctx) == "" {
		s.kit.Redirect(w, r, "/account/sign-in?next="+url.QueryEscape("/orders/"+id), "")
		return
	}
	if len(id) > 100 || len(iid) > 100 || len(token) > 100 {
		s.kit.NotFound(w, r)
		return
	}
	var number string
	l, err := s.deps.Invoices.OrderDocuments(ctx, id, token)
	if err == nil {
		for _, d := range l.Items {
			if d.ID == iid {
				number = d.Number
			}
		}
		if number == "" {
			err = errNotYours
		}
	}
	var body []byte
	if err == nil {
		body, err = s.deps.Invoices.OrderFile(ctx, id, iid, format, token)
	}
	if errors.Is(err, errNotYours) || apiclient.IsCode(err, "invoice_not_found") {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.Download(w, number+"."+format, invoiceapi.ContentType(format))
	_, _ = w.Write(body)
}

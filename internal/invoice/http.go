package invoice

import (
	"context"
	"mime"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
)

// access is the invoice service's authorization table: the staff roles
// that may call each admin operation, by OperationID; the platform
// enforces it (web.Roles), and the admin and service tokens may call them
// all, a secret API key what a manager may. Everyone on the staff, support
// included, reads, downloads and re-sends documents (support answers
// customers about them). Nobody edits one: there is no such operation.
// The buyers' operations are public: the order token or the customer's
// access token proves the order is theirs.
var access = map[string][]auth.Role{
	"admin-list-invoices":   staffRoles,
	"admin-get-invoice":     staffRoles,
	"admin-get-invoice-pdf": staffRoles,
	"admin-get-invoice-xml": staffRoles,
	"admin-resend-invoice":  staffRoles,
}

// staffRoles is every role of the staff.
var staffRoles = []auth.Role{auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport}

// Routes registers the invoice operations: the buyer's under
// /api/v1/invoices/orders/{order_id}, and the admin API under
// /api/v1/admin/invoices, guarded by the roles in access.
func (s *Service) Routes(api *web.API) {
	api.Tag("invoices", "An order's invoice and credit notes, for its buyer: a signed-in customer with their access "+
		"token, a guest with the order token from checkout (X-Order-Token).")
	api.Tag("invoices admin", "The store's invoices and credit notes: issued from the order events, numbered without "+
		"gaps per series and year, never changed once issued; each as PDF and as EN 16931 UBL XML.")
	buyer := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"invoices"}
		return web.Public(op, web.CustomerToken)
	}
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"invoices admin"}
		// A copy: web.Roles keeps the slice.
		return web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	}
	const base, admin = "/api/v1/invoices/orders/{order_id}", "/api/v1/admin/invoices"

	huma.Register(api, buyer(huma.Operation{OperationID: "list-order-invoices", Method: http.MethodGet, Path: base,
		Summary: "List your invoices of an order", Description: "The order's invoice and credit notes, in the order they " +
			"were issued. An order that is not the caller's (or not invoiced yet) has none: the list is empty, as for an " +
			"order that exists nowhere."}), s.listOrderDocuments)
	huma.Register(api, web.Answers(buyer(fileOp(api, huma.Operation{OperationID: "get-order-invoice-pdf", Method: http.MethodGet,
		Path: base + "/{id}/pdf", Summary: "Download an invoice of your order as PDF",
		Description: "The PDF as issued: the same bytes at every download."}, FormatPDF)), ansNotFound), s.orderPDF)
	huma.Register(api, web.Answers(buyer(fileOp(api, huma.Operation{OperationID: "get-order-invoice-xml", Method: http.MethodGet,
		Path: base + "/{id}/xml", Summary: "Download an invoice of your order as UBL XML",
		Description: "The EN 16931 structured copy (UBL 2.1 Invoice or CreditNote) as issued."}, FormatXML)), ansNotFound), s.orderXML)

	huma.Register(api, adm(huma.Operation{OperationID: "admin-list-invoices", Method: http.MethodGet, Path: admin,
		Summary: "List invoices and credit notes", Description: "Newest first, paged by cursor. q finds a document by its " +
			"number, its order's ID or the buyer's email; kind keeps invoices or credit notes only."}), s.adminList)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-get-invoice", Method: http.MethodGet, Path: admin + "/{id}",
		Summary: "Get an invoice or credit note", Description: "The document as issued: seller, buyer, lines, shipping, " +
			"tax per rate and totals."}), ansNotFound), s.adminGet)
	huma.Register(api, web.Answers(adm(fileOp(api, huma.Operation{OperationID: "admin-get-invoice-pdf", Method: http.MethodGet,
		Path: admin + "/{id}/pdf", Summary: "Download an invoice or credit note as PDF",
		Description: "The PDF as issued: the same bytes at every download."}, FormatPDF)), ansNotFound), s.adminPDF)
	huma.Register(api, web.Answers(adm(fileOp(api, huma.Operation{OperationID: "admin-get-invoice-xml", Method: http.MethodGet,
		Path: admin + "/{id}/xml", Summary: "Download an invoice or credit note as UBL XML",
		Description: "The EN 16931 structured copy (UBL 2.1 Invoice or CreditNote) as issued."}, FormatXML)), ansNotFound), s.adminXML)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-resend-invoice", Method: http.MethodPost,
		Path: admin + "/{id}/resend", Summary: "Email an invoice or credit note to its buyer again", DefaultStatus: http.StatusAccepted,
		Description: "Announces invoice.resend_requested.v1; the notify service emails the buyer the PDF and a link to " +
			"the order's page, where the PDF and XML are. The answer names the address it goes to."}), ansNotFound), s.resend)
}

// fileOp declares op's 200 answer as a download of format.
func fileOp(api huma.API, op huma.Operation, f Format) huma.Operation {
	ct := invoiceapi.ContentType(string(f))
	op.Responses = map[string]*huma.Response{"200": {
		Description: "The file, with Content-Disposition naming it after the document's number.",
		Content:     map[string]*huma.MediaType{ct: {Schema: &huma.Schema{Type: "string", Format: "binary"}}},
	}}
	return op
}

// buyerOf is the caller as a Buyer: a customer of this store by their
// access token, and the order token if one came.
func buyerOf(ctx context.Context, query, header string) Buyer {
	var b Buyer
	if p, ok := auth.From(ctx); ok && p.Kind == auth.KindCustomer {
		b.CustomerID = p.Subject
	}
	b.OrderToken = header
	if b.OrderToken == "" {
		b.OrderToken = query
	}
	return b
}

type fileOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheControl       string `header:"Cache-Control"`
	Body               []byte
}

func download(f File, err error) (*fileOutput, error) {
	if err != nil {
		return nil, problems.Map(err)
	}
	return &fileOutput{ContentType: f.ContentType, ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}),
		CacheControl: "private, max-age=3600", Body: f.Body}, nil
}

type idPath struct {
	ID string `path:"id" maxLength:"100"`
}

type buyerFile struct {
	OrderID     string `path:"order_id" maxLength:"100"`
	ID          string `path:"id" maxLength:"100"`
	Token       string `query:"token" maxLength:"100" doc:"The order token from checkout."`
	HeaderToken string `header:"X-Order-Token" maxLength:"100" doc:"The order token from checkout (instead of ?token=)."`
}

func (s *Service) listOrderDocuments(ctx context.Context, in *struct {
	OrderID     string `path:"order_id" maxLength:"100"`
	Token       string `query:"token" maxLength:"100" doc:"The order token from checkout."`
	HeaderToken string `header:"X-Order-Token" maxLength:"100" doc:"The order token from checkout (instead of ?token=)."`
}) (*struct{ Body invoiceapi.InvoiceList }, error) {
	l, err := s.OrderDocuments(ctx, buyerOf(ctx, in.Token, in.HeaderToken), in.OrderID)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body invoiceapi.InvoiceList }{invoiceapi.InvoiceList{Items: l}}, nil
}

func (s *Service) orderPDF(ctx context.Context, in *buyerFile) (*fileOutput, error) {
	return download(s.OrderFile(ctx, buyerOf(ctx, in.Token, in.HeaderToken), in.OrderID, in.ID, FormatPDF))
}

func (s *Service) orderXML(ctx context.Context, in *buyerFile) (*fileOutput, error) {
	return download(s.OrderFile(ctx, buyerOf(ctx, in.Token, in.HeaderToken), in.OrderID, in.ID, FormatXML))
}

func (s *Service) adminList(ctx context.Context, in *struct {
	Q      string `query:"q" maxLength:"254" doc:"A document number, an order ID or the buyer's email."`
	Kind   string `query:"kind" enum:"invoice,credit_note" doc:"Only this kind of document."`
	Cursor string `query:"cursor" maxLength:"500"`
	Limit  int    `query:"limit" minimum:"0" doc:"Page size; capped at the service's maximum."`
}) (*struct{ Body invoiceapi.InvoiceList }, error) {
	l, err := s.List(ctx, invoiceapi.Kind(in.Kind), in.Q, in.Cursor, in.Limit)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body invoiceapi.InvoiceList }{l}, nil
}

func (s *Service) adminGet(ctx context.Context, in *idPath) (*struct{ Body invoiceapi.Invoice }, error) {
	d, err := s.Get(ctx, in.ID)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body invoiceapi.Invoice }{d}, nil
}

func (s *Service) adminPDF(ctx context.Context, in *idPath) (*fileOutput, error) {
	return download(s.File(ctx, in.ID, FormatPDF))
}

func (s *Service) adminXML(ctx context.Context, in *idPath) (*fileOutput, error) {
	return download(s.File(ctx, in.ID, FormatXML))
}

func (s *Service) resend(ctx context.Context, in *idPath) (*struct{ Body invoiceapi.Resend }, error) {
	r, err := s.Resend(ctx, in.ID)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body invoiceapi.Resend }{r}, nil
}

// The answers of invoice operations beyond the platform's (see problems).
var ansNotFound = web.Answer{Status: http.StatusNotFound, Code: "invoice_not_found",
	When: "no such document, or (to a buyer) not of their order: no order token or customer token, or another's"}

// problems maps the service's errors to their HTTP status and stable code.
// Anything else goes to the platform as a bare 500.
var problems = kit.Problems{
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "invoice_not_found", Detail: "no such invoice or credit note"},
}

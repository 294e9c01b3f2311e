package invoiceapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// OrderTokenHeader carries a guest's order token (the order service's).
const OrderTokenHeader = "X-Order-Token"

// Client calls the invoice API for the storefront and admin pages and other
// services. It is safe for concurrent use. Errors are *apiclient.Error for
// problem answers: test them with apiclient.IsCode(err, "invoice_not_found").
// A buyer's calls take the customer's access token from the context
// (apiclient.WithToken) or the order token given.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the API at baseURL (scheme and host, e.g.
// "http://invoice:8080"). A nil hc means a client with apiclient's default
// timeout.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New("invoice", baseURL, hc)}
}

const adminBase = "/api/v1/admin/invoices"

func orderBase(orderID string) string { return "/api/v1/invoices/orders/" + url.PathEscape(orderID) }

// OrderDocuments returns the buyer's invoice and credit notes of an order
// (GET /api/v1/invoices/orders/{order_id}); none when it is not theirs.
func (c *Client) OrderDocuments(ctx context.Context, orderID, orderToken string) (InvoiceList, error) {
	var out InvoiceList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: orderBase(orderID), Out: &out, Header: tokenHeader(orderToken)})
	return out, err
}

// OrderFile returns the PDF or XML ("pdf", "xml") of one of the buyer's
// documents of an order.
func (c *Client) OrderFile(ctx context.Context, orderID, id, format, orderToken string) ([]byte, error) {
	return c.raw(ctx, orderBase(orderID)+"/"+url.PathEscape(id)+"/"+format, tokenHeader(orderToken))
}

// List returns a page of the store's documents, newest first (GET
// /api/v1/admin/invoices): of kind ("" for both), matching q ("" for all)
// by number, order ID or email.
func (c *Client) List(ctx context.Context, kind Kind, q, cursor string, limit int) (InvoiceList, error) {
	v := url.Values{}
	if kind != "" {
		v.Set("kind", string(kind))
	}
	if q != "" {
		v.Set("q", q)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	path := adminBase
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out InvoiceList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	return out, err
}

// Get returns a document (GET /api/v1/admin/invoices/{id}).
func (c *Client) Get(ctx context.Context, id string) (Invoice, error) {
	var out Invoice
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: adminBase + "/" + url.PathEscape(id), Out: &out})
	return out, err
}

// File returns a document's PDF or XML ("pdf", "xml").
func (c *Client) File(ctx context.Context, id, format string) ([]byte, error) {
	return c.raw(ctx, adminBase+"/"+url.PathEscape(id)+"/"+format, nil)
}

// Resend asks for a document to be emailed to its buyer again (POST
// …/{id}/resend). A non-empty idempotencyKey makes a form sent twice one
// email (the platform keeps the first answer); without one, asking twice
// sends twice.
func (c *Client) Resend(ctx context.Context, id, idempotencyKey string) (Resend, error) {
	var out Resend
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: adminBase + "/" + url.PathEscape(id) + "/resend", Out: &out,
		IdempotencyKey: idempotencyKey})
	return out, err
}

// raw reads a download.
func (c *Client) raw(ctx context.Context, path string, h http.Header) ([]byte, error) {
	var body []byte
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Header: h, RawOut: &body})
	return body, err
}

// tokenHeader is the header carrying a guest's order token; none for "".
func tokenHeader(token string) http.Header {
	if token == "" {
		return nil
	}
	return http.Header{OrderTokenHeader: {token}}
}

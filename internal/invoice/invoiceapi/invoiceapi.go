// Package invoiceapi is the invoice service's contract: the JSON bodies of
// its REST operations (the staff's list, reads, downloads and re-sends,
// the buyer's invoices of an order), the payloads of the events it
// publishes, and a typed client for the web pages and other services.
// Fields are only ever added.
package invoiceapi

import (
	"time"

	"github.com/mercato/mercato/internal/platform/money"
)

// Kind is what a document is: an invoice, or a credit note correcting one.
type Kind string

// The kinds of document.
const (
	KindInvoice    Kind = "invoice"
	KindCreditNote Kind = "credit_note"
)

// The numbering series: every store numbers its invoices and its credit
// notes apart, each series per calendar year of the store's time zone.
const (
	SeriesInvoice    = "INV"
	SeriesCreditNote = "CN"
)

// Address is a postal address. Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// Party is the seller or the buyer of a document, as it was when the
// document was issued.
type Party struct {
	Name    string  `json:"name"`
	TaxID   string  `json:"tax_id,omitempty" doc:"VAT or other tax identifier; the buyer's is not known to the store."`
	Email   string  `json:"email,omitempty"`
	Address Address `json:"address"`
}

// Line is one line of a document. Net is what the line costs without tax,
// after its discount; Total is Net + Tax. On a credit note the amounts are
// what is credited, positive.
type Line struct {
	SKU       string      `json:"sku,omitempty"`
	Title     string      `json:"title"`
	Quantity  int64       `json:"quantity"`
	UnitPrice money.Money `json:"unit_price" doc:"As the store priced it: tax included when the store's prices are."`
	Discount  money.Money `json:"discount" doc:"Taken off the line, in the terms of unit_price."`
	Net       money.Money `json:"net"`
	TaxRateBP int64       `json:"tax_rate_bp" doc:"Tax rate in basis points (1900 = 19%)."`
	Tax       money.Money `json:"tax"`
	Total     money.Money `json:"total"`
}

// TaxSubtotal is the tax of one rate: the net amounts taxed at it and the
// tax they bear.
type TaxSubtotal struct {
	RateBP  int64       `json:"rate_bp"`
	Taxable money.Money `json:"taxable"`
	Tax     money.Money `json:"tax"`
}

// Invoice is an issued invoice or credit note: immutable, numbered without
// gaps per store, series and year. Its PDF and its EN 16931 (UBL 2.1) XML
// were rendered from it when it was issued and never change.
type Invoice struct {
	ID     string `json:"id"`
	Kind   Kind   `json:"kind" enum:"invoice,credit_note"`
	Number string `json:"number" doc:"Series, year and counter, e.g. INV-2026-000001." example:"INV-2026-000001"`
	// OrderID is the order invoiced or credited.
	OrderID string `json:"order_id"`
	// InvoiceID and InvoiceNumber: the invoice a credit note corrects.
	InvoiceID     string `json:"invoice_id,omitempty" doc:"The invoice a credit note corrects."`
	InvoiceNumber string `json:"invoice_number,omitempty" doc:"The number of the invoice a credit note corrects."`
	// Reason says why a credit note was issued (a refund, a return, a
	// cancellation).
	Reason       string        `json:"reason,omitempty"`
	IssuedAt     time.Time     `json:"issued_at"`
	IssueDate    string        `json:"issue_date" doc:"The date of issue in the store's time zone (YYYY-MM-DD)." example:"2026-03-01"`
	Currency     string        `json:"currency"`
	TaxInclusive bool          `json:"tax_inclusive" doc:"Whether the store's prices (unit_price, discount) include tax."`
	Seller       Party         `json:"seller"`
	Buyer        Party         `json:"buyer" doc:"The billing party: the order's billing address, or its shipping address when it has none."`
	CustomerID   string        `json:"customer_id,omitempty"`
	Lines        []Line        `json:"lines"`
	Shipping     *Line         `json:"shipping,omitempty" doc:"Shipping, as one more taxed line; absent when free."`
	Discount     money.Money   `json:"discount" doc:"Sum of the lines' discounts."`
	TaxSubtotals []TaxSubtotal `json:"tax_subtotals" doc:"Tax per rate, lines and shipping together."`
	Net          money.Money   `json:"net" doc:"Sum of the net amounts of lines and shipping."`
	Tax          money.Money   `json:"tax"`
	Total        money.Money   `json:"total" doc:"net + tax: what is due (or credited)."`
}

// InvoiceList is a page of documents, newest first.
type InvoiceList struct {
	Items      []Invoice `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last."`
}

// Resend is the answer to a re-send: the address the document goes to.
type Resend struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// ContentType is the media type of a document's file: "xml" is the UBL
// copy, anything else the PDF.
func ContentType(format string) string {
	if format == "xml" {
		return "application/xml"
	}
	return "application/pdf"
}

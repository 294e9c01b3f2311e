package invoice

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/invoice/invoicedb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// The reads of issued documents (the staff's and the buyer's) and the
// staff's re-send. Nothing here, or anywhere in the service, changes a
// document once issued.

// Format is a rendering of a document.
type Format string

// The renderings kept with every document.
const (
	FormatPDF Format = "pdf"
	FormatXML Format = "xml"
)

// File is a stored rendering of a document, as downloaded.
type File struct {
	Name        string // e.g. INV-2026-000001.pdf
	ContentType string
	Body        []byte
}

// Buyer is who asks for an order's documents: a signed-in customer, or a
// guest with the order token from checkout.
type Buyer struct {
	CustomerID string
	OrderToken string
}

// List returns a page of the store's documents, newest first: of one kind
// ("" for both), and matching query ("" for all) by number, order ID or
// email.
func (s *Service) List(ctx context.Context, kind invoiceapi.Kind, query, cursor string, limit int) (invoiceapi.InvoiceList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return invoiceapi.InvoiceList{}, err
	}
	after := kit.Cursor{At: math.MaxInt64}
	if cursor != "" {
		if after, err = kit.ParseCursor(cursor); err != nil {
			return invoiceapi.InvoiceList{}, err
		}
	}
	query = strings.TrimSpace(query)
	if strings.Contains(query, "@") {
		query = emailKey(query)
	}
	size := s.cfg.Paging.Size(limit)
	rows, err := kit.ReadOne(ctx, s.store, func(q *invoicedb.Queries) ([]invoicedb.ListDocumentsRow, error) {
		return q.ListDocuments(ctx, invoicedb.ListDocumentsParams{TenantID: tenant, Kind: string(kind), Q: query,
			AfterAt: after.At, AfterID: after.ID, MaxRows: int32(size + 1)})
	})
	if err != nil {
		return invoiceapi.InvoiceList{}, fmt.Errorf("list documents: %w", err)
	}
	out := invoiceapi.InvoiceList{Items: make([]invoiceapi.Invoice, 0, min(len(rows), size))}
	for i, r := range rows {
		if i == size {
			last := out.Items[len(out.Items)-1]
			out.NextCursor = kit.Cursor{At: last.IssuedAt.UnixMicro(), ID: last.ID}.String()
			break
		}
		d, err := decode(r.Body)
		if err != nil {
			return invoiceapi.InvoiceList{}, err
		}
		out.Items = append(out.Items, d)
	}
	return out, nil
}

// Get returns a document.
func (s *Service) Get(ctx context.Context, id string) (invoiceapi.Invoice, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return invoiceapi.Invoice{}, err
	}
	row, err := kit.ReadOne(ctx, s.store, func(q *invoicedb.Queries) (invoicedb.GetDocumentRow, error) {
		return q.GetDocument(ctx, invoicedb.GetDocumentParams{TenantID: tenant, ID: id})
	})
	if errors.Is(err, sql.ErrNoRows) {
		return invoiceapi.Invoice{}, ErrNotFound
	}
	if err != nil {
		return invoiceapi.Invoice{}, fmt.Errorf("read document %s: %w", id, err)
	}
	return decode(row.Body)
}

// File returns the stored PDF or XML of a document: the bytes rendered
// when it was issued.
func (s *Service) File(ctx context.Context, id string, f Format) (File, error) {
	return s.file(ctx, "", id, f)
}

// file reads a document's rendering; with orderID, only a document of that
// order.
func (s *Service) file(ctx context.Context, orderID, id string, f Format) (File, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return File{}, err
	}
	row, err := kit.ReadOne(ctx, s.store, func(q *invoicedb.Queries) (invoicedb.GetFileRow, error) {
		return q.GetFile(ctx, invoicedb.GetFileParams{TenantID: tenant, ID: id})
	})
	if errors.Is(err, sql.ErrNoRows) || err == nil && orderID != "" && row.OrderID != orderID {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("read the files of document %s: %w", id, err)
	}
	if f == FormatXML {
		return File{Name: row.Number + ".xml", ContentType: invoiceapi.ContentType(string(f)), Body: []byte(row.Xml)}, nil
	}
	return File{Name: row.Number + ".pdf", ContentType: invoiceapi.ContentType(string(f)), Body: row.Pdf}, nil
}

// OrderDocuments returns the invoice and credit notes of an order to its
// buyer. An order that is not the buyer's (or has no document yet) has
// none, as one that exists nowhere.
func (s *Service) OrderDocuments(ctx context.Context, b Buyer, orderID string) ([]invoiceapi.Invoice, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, err
	}
	out := []invoiceapi.Invoice{}
	err = s.store.Read(ctx, func(q *invoicedb.Queries) error {
		out = out[:0]
		ok, err := isBuyer(ctx, q, tenant, orderID, b)
		if err != nil || !ok {
			return err
		}
		rows, err := q.ListOrderDocuments(ctx, invoicedb.ListOrderDocumentsParams{TenantID: tenant, OrderID: orderID})
		if err != nil {
			return err
		}
		for _, r := range rows {
			d, err := decode(r.Body)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the documents of order %s: %w", orderID, err)
	}
	return out, nil
}

// OrderFile returns a rendering of one of an order's documents to the
// order's buyer; ErrNotFound to anyone else.
func (s *Service) OrderFile(ctx context.Context, b Buyer, orderID, id string, f Format) (File, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return File{}, err
	}
	ok, err := kit.ReadOne(ctx, s.store, func(q *invoicedb.Queries) (bool, error) {
		return isBuyer(ctx, q, tenant, orderID, b)
	})
	if err != nil {
		return File{}, fmt.Errorf("check the buyer of order %s: %w", orderID, err)
	}
	if !ok {
		return File{}, ErrNotFound
	}
	return s.file(ctx, orderID, id, f)
}

// isBuyer reports whether b bought the order: the customer it belongs to,
// or the guest holding its token.
func isBuyer(ctx context.Context, q *invoicedb.Queries, tenant, orderID string, b Buyer) (bool, error) {
	row, err := q.GetBuyer(ctx, invoicedb.GetBuyerParams{TenantID: tenant, OrderID: orderID})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if b.CustomerID != "" && row.CustomerID == b.CustomerID {
		return true, nil
	}
	if b.OrderToken == "" || row.TokenHash == "" {
		return false, nil
	}
	sum := sha256.Sum256([]byte(b.OrderToken))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(row.TokenHash)) == 1, nil
}

// Resend asks for a document to be emailed to its buyer again: it
// announces invoice.resend_requested.v1, which the notify service sends
// with the stored PDF attached.
// The answer is the address it goes to.
func (s *Service) Resend(ctx context.Context, id string) (invoiceapi.Resend, error) {
	d, err := s.Get(ctx, id)
	if err != nil {
		return invoiceapi.Resend{}, err
	}
	err = s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, _ *invoicedb.Queries) error {
		return outbox.AddEvent(ctx, tx, invoiceapi.Source, invoiceapi.SubjectResendRequested, s.now(),
			invoiceapi.Issued{Invoice: d, Email: d.Buyer.Email})
	})
	if err != nil {
		return invoiceapi.Resend{}, fmt.Errorf("request the re-send of %s: %w", d.Number, err)
	}
	return invoiceapi.Resend{ID: d.ID, Email: d.Buyer.Email}, nil
}

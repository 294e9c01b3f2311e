package invoice

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/invoice/invoicedb"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// seller is what a document takes from its store when issued: the seller's
// party, the time zone its dates are in, and when the store invoices.
type seller struct {
	party     invoiceapi.Party
	loc       *time.Location
	invoiceOn string
}

// sellerOf is the seller of the store in ctx, without a tenant service the
// store's ID, UTC, on confirmation. It calls the tenant service: never
// inside a transaction.
func (s *Service) sellerOf(ctx context.Context, tenant string) (seller, error) {
	if s.stores == nil {
		return seller{party: invoiceapi.Party{Name: tenant}, loc: time.UTC, invoiceOn: tenantapi.InvoiceOnConfirmed}, nil
	}
	st, err := s.stores.Store(ctx)
	if err != nil {
		return seller{}, fmt.Errorf("read the store's legal details: %w", err)
	}
	return sellerFrom(st), nil
}

// sellerFrom is the seller a store's settings describe: its legal name
// (its name when it gave none), tax ID and address.
func sellerFrom(st tenantapi.Store) seller {
	a := st.Address
	p := invoiceapi.Party{Name: cmp.Or(strings.TrimSpace(st.LegalName), st.Name, st.ID), TaxID: st.TaxID,
		Address: invoiceapi.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region, PostalCode: a.PostalCode,
			Country: strings.ToUpper(a.Country)}}
	return seller{party: p, loc: st.Location(), invoiceOn: st.InvoiceTrigger()}
}

// issue numbers d in its series and year, dates it, renders its PDF and
// XML, and stores it with the event announcing it, all in tx: the
// document, its number and its event commit together or not at all.
// source is what issued it (UNIQUE: a second issue from the same source
// fails).
//
// The date is stamped right after the number is taken (issues of a series
// wait on its counter row in turn), so numbers and dates rise together;
// the same instant gives the year. A number taken for a year that ended
// while waiting for it is given back (a savepoint) and the new year's
// taken instead.
func (s *Service) issue(ctx context.Context, tx *sql.Tx, q *invoicedb.Queries, tenant string, d *invoiceapi.Invoice, loc *time.Location,
	source string) error {
	series, subject := invoiceapi.SeriesInvoice, invoiceapi.SubjectIssued
	if d.Kind == invoiceapi.KindCreditNote {
		series, subject = invoiceapi.SeriesCreditNote, invoiceapi.SubjectCreditNoteIssued
	}
	year := s.now().In(loc).Year()
	var seq int64
	for {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT invoice_number`); err != nil {
			return fmt.Errorf("number the %s of order %s: %w", d.Kind, d.OrderID, err)
		}
		n, err := q.NextNumber(ctx, invoicedb.NextNumberParams{TenantID: tenant, Series: series, Year: int64(year)})
		if err != nil {
			return fmt.Errorf("number the %s of order %s: %w", d.Kind, d.OrderID, err)
		}
		at := s.now()
		if y := at.In(loc).Year(); y != year {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT invoice_number`); err != nil {
				return fmt.Errorf("give back number %d of %d: %w", n, year, err)
			}
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT invoice_number`); err != nil {
				return fmt.Errorf("give back number %d of %d: %w", n, year, err)
			}
			year = y
			continue
		}
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT invoice_number`); err != nil {
			return fmt.Errorf("number the %s of order %s: %w", d.Kind, d.OrderID, err)
		}
		seq = n
		stamp(d, at, loc)
		break
	}
	d.ID = kit.NewID()
	d.Number = number(series, year, seq)
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode %s: %w", d.Number, err)
	}
	pdf, err := renderPDF(*d)
	if err != nil {
		return err
	}
	xml, err := renderUBL(*d)
	if err != nil {
		return err
	}
	err = q.InsertDocument(ctx, invoicedb.InsertDocumentParams{TenantID: tenant, ID: d.ID, Kind: string(d.Kind), Series: series,
		Year: int64(year), Seq: seq, Number: d.Number, OrderID: d.OrderID, InvoiceID: d.InvoiceID, Source: source,
		CustomerID: d.CustomerID, Email: emailKey(d.Buyer.Email), Currency: d.Currency, Total: d.Total.Amount,
		IssuedAt: d.IssuedAt.UnixMicro(), Body: string(body), Pdf: pdf, Xml: string(xml)})
	if err != nil {
		return fmt.Errorf("store %s: %w", d.Number, err)
	}
	return outbox.AddEvent(ctx, tx, invoiceapi.Source, subject, d.IssuedAt, invoiceapi.Issued{Invoice: *d, Email: d.Buyer.Email})
}

// emailKey is an email as the staff's search finds it.
func emailKey(email string) string { return identityapi.EmailKey(email) }

// ensureInvoice returns the invoice of order o, issuing it first when the
// order has none. An order cancelled before it was invoiced is never
// invoiced: ok is false, and nothing is issued.
func (s *Service) ensureInvoice(ctx context.Context, tx *sql.Tx, q *invoicedb.Queries, tenant string, o orderapi.Order, sel seller,
	cancelled bool) (inv invoiceapi.Invoice, ok bool, err error) {
	row, err := q.GetOrderInvoice(ctx, invoicedb.GetOrderInvoiceParams{TenantID: tenant, OrderID: o.ID})
	switch {
	case err == nil:
		inv, err = decode(row.Body)
		return inv, err == nil, err
	case !errors.Is(err, sql.ErrNoRows):
		return invoiceapi.Invoice{}, false, fmt.Errorf("find the invoice of order %s: %w", o.ID, err)
	case cancelled:
		return invoiceapi.Invoice{}, false, nil
	}
	inv = invoiceOf(o, sel.party, s.now(), sel.loc)
	if err := s.issue(ctx, tx, q, tenant, &inv, sel.loc, "order:"+o.ID); err != nil {
		return invoiceapi.Invoice{}, false, err
	}
	s.log.DebugContext(ctx, "invoice issued", "tenant", tenant, "order_id", o.ID, "number", inv.Number)
	return inv, true, nil
}

// credit issues the credit note of amount against inv over the parts
// chosen by parts (given what was credited before and the amount, at most
// what is left to credit); nothing when nothing is left or the source
// issued already.
func (s *Service) credit(ctx context.Context, tx *sql.Tx, q *invoicedb.Queries, tenant string, inv invoiceapi.Invoice, sel seller,
	amount int64, reason, source string, parts func(credits []invoiceapi.Invoice, amount int64) []part) error {
	n, err := q.SourceIssued(ctx, invoicedb.SourceIssuedParams{TenantID: tenant, Source: source})
	if err != nil {
		return fmt.Errorf("look up %s: %w", source, err)
	}
	if n > 0 {
		return nil
	}
	if s.store.DB().Dialect() == sqldb.Postgres {
		// The credit notes of an invoice are issued one at a time: each
		// takes the invoice's row lock before reading what was credited,
		// and so sees the ones committed before it (READ COMMITTED). SQLite
		// has one writer, and no FOR UPDATE.
		if _, err := tx.ExecContext(ctx, `SELECT id FROM documents WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, inv.ID); err != nil {
			return fmt.Errorf("lock %s: %w", inv.Number, err)
		}
	}
	rows, err := q.ListCredits(ctx, invoicedb.ListCreditsParams{TenantID: tenant, InvoiceID: inv.ID})
	if err != nil {
		return fmt.Errorf("list the credit notes of %s: %w", inv.Number, err)
	}
	credits := make([]invoiceapi.Invoice, 0, len(rows))
	left := inv.Total.Amount
	for _, r := range rows {
		c, err := decode(r.Body)
		if err != nil {
			return err
		}
		credits = append(credits, c)
		left -= c.Total.Amount
	}
	amount = min(amount, left)
	cn, ok := creditNote(inv, parts(credits, amount), amount, reason, s.now(), sel.loc)
	if !ok {
		return nil
	}
	if err := s.issue(ctx, tx, q, tenant, &cn, sel.loc, source); err != nil {
		return err
	}
	s.log.DebugContext(ctx, "credit note issued", "tenant", tenant, "order_id", inv.OrderID, "number", cn.Number, "invoice", inv.Number)
	return nil
}

// decode reads a stored document.
func decode(body string) (invoiceapi.Invoice, error) {
	var d invoiceapi.Invoice
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		return d, fmt.Errorf("decode stored document: %w", err)
	}
	return d, nil
}

// Render renders a document's PDF and UBL XML, as issuing it does: for
// `mercato bench invoice` and the Go benchmarks.
func Render(d invoiceapi.Invoice) (pdf, xml []byte, err error) {
	if pdf, err = renderPDF(d); err != nil {
		return nil, nil, err
	}
	if xml, err = renderUBL(d); err != nil {
		return nil, nil, err
	}
	return pdf, xml, nil
}

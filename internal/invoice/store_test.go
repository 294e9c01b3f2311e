package invoice

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/invoice/invoicedb"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

var errRollback = errors.New("roll back")

// newEvent is an order event of tenant.
func newEvent(t testing.TB, tenant, subject string, payload any) (outbox.Envelope, error) {
	return outbox.NewEvent(tenantCtx(t, tenant), orderapi.Source, subject, t0, payload)
}

// seqs returns the numbers of a series and year of a tenant, in order.
func seqs(t *testing.T, f *fixture, tenant, series string, year int64) []int64 {
	t.Helper()
	out, err := kit.ReadOne(tenantCtx(t, tenant), f.svc.store, func(q *invoicedb.Queries) ([]int64, error) {
		return q.ListSeries(tenantCtx(t, tenant), invoicedb.ListSeriesParams{TenantID: tenant, Series: series, Year: year})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConcurrentIssueNumbersWithoutGaps: many orders confirmed at once, in
// two stores, get invoice numbers exactly 1..N per store, none twice, none
// skipped, on both engines; a failed issue gives its number back.
func TestConcurrentIssueNumbersWithoutGaps(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		const n = 40
		tenants := []string{"acme", "globex"}
		var wg sync.WaitGroup
		errs := make(chan error, n*len(tenants))
		for i := range n {
			for _, tenant := range tenants {
				wg.Go(func() {
					o := oddOrder(fmt.Sprintf("%s-%d", tenant, i))
					e, err := newEvent(t, tenant, orderapi.SubjectConfirmed, confirmed(o))
					if err == nil {
						_, err = f.svc.HandleOrderEvent(t.Context(), e)
					}
					if err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, tenant := range tenants {
			got := seqs(t, f, tenant, invoiceapi.SeriesInvoice, 2026)
			if len(got) != n {
				t.Fatalf("%s: %d invoices, want %d", tenant, len(got), n)
			}
			for i, s := range got {
				if s != int64(i+1) {
					t.Fatalf("%s: numbers %v, want 1..%d", tenant, got, n)
				}
			}
		}
		// A transaction that fails after taking a number gives it back:
		// the next invoice takes it.
		err := f.svc.store.Write(tenantCtx(t, "acme"), func(ctx2 context.Context, tx *sql.Tx, q *invoicedb.Queries) error {
			inv := invoiceOf(oddOrder("doomed"), testSeller, t0, time.UTC)
			if err := f.svc.issue(ctx2, tx, q, "acme", &inv, time.UTC, "order:doomed"); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("the doomed issue: %v", err)
		}
		f.feed("acme", orderapi.SubjectConfirmed, confirmed(oddOrder("after")))
		if got := seqs(t, f, "acme", invoiceapi.SeriesInvoice, 2026); len(got) != n+1 || got[n] != n+1 {
			t.Errorf("after a rollback: %v", got[max(0, len(got)-3):])
		}
	}, Migrations...)
}

// TestEventsIssueOnce: the confirmation issues the invoice, once however
// often it is delivered; a refund, a return and the cancellation issue
// credit notes referencing it, each once, never more than the invoice.
func TestEventsIssueOnce(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		o := oddOrder("o1")
		e, applied := f.feed("default", orderapi.SubjectConfirmed, confirmed(o))
		if !applied {
			t.Fatal("the confirmation was not applied")
		}
		if _, err := f.svc.HandleOrderEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		// The same order confirmed again under another event ID (a replay)
		// still makes one invoice.
		f.feed("default", orderapi.SubjectConfirmed, confirmed(o))
		f.feed("default", orderapi.SubjectShipped, orderapi.Shipped{Order: o})
		if n := count(t, db, `SELECT COUNT(*) FROM documents WHERE kind = 'invoice'`); n != 1 {
			t.Fatalf("%d invoices of one order", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox WHERE subject = $1`, invoiceapi.SubjectIssued); n != 1 {
			t.Errorf("%d invoice.issued.v1 events", n)
		}
		l, err := f.svc.List(tenantCtx(t, "default"), "", "", "", 0)
		if err != nil || len(l.Items) != 1 {
			t.Fatalf("list: %v %+v", err, l)
		}
		inv := l.Items[0]
		if inv.Number != "INV-2026-000001" || inv.Total != o.Total || inv.Seller.Name != testSeller.Name || inv.Buyer.Email != o.Email {
			t.Errorf("invoice: %+v", inv)
		}

		refund, _ := f.feed("default", orderapi.SubjectRefunded, orderapi.Refunded{Order: o, Amount: eur(1500), Reason: "geste commercial"})
		if _, err := f.svc.HandleOrderEvent(t.Context(), refund); err != nil {
			t.Fatal(err)
		}
		ret := orderapi.Return{ID: "r1", Status: orderapi.ReturnReceived, Lines: []orderapi.ReturnLine{{SKU: "MUG-Ø", Quantity: 1, Restock: true}},
			RefundAmount: eur(o.Lines[1].Total.Amount / 2)}
		f.feed("default", orderapi.SubjectReturnReceived, orderapi.ReturnEvent{Order: o, Return: ret})
		f.feed("default", orderapi.SubjectReturnReceived, orderapi.ReturnEvent{Order: o, Return: ret}) // another delivery path, same return
		f.feed("default", orderapi.SubjectCancelled, confirmed(o))

		docs, err := f.svc.OrderDocuments(tenantCtx(t, "default"), Buyer{CustomerID: "c-1"}, "o1")
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 4 {
			t.Fatalf("%d documents, want the invoice and three credit notes: %+v", len(docs), docs)
		}
		var credited int64
		for i, d := range docs[1:] {
			if d.Kind != invoiceapi.KindCreditNote || d.InvoiceNumber != inv.Number || d.InvoiceID != inv.ID ||
				d.Number != fmt.Sprintf("CN-2026-%06d", i+1) {
				t.Errorf("credit note %d: %+v", i, d)
			}
			credited += d.Total.Amount
		}
		if docs[1].Total.Amount != 1500 || docs[2].Total.Amount != ret.RefundAmount.Amount || credited != inv.Total.Amount {
			t.Errorf("credited %d, %d, total %d of %d", docs[1].Total.Amount, docs[2].Total.Amount, credited, inv.Total.Amount)
		}
		if len(docs[2].Lines) != 1 || docs[2].Lines[0].SKU != "MUG-Ø" {
			t.Errorf("the return's credit note: %+v", docs[2].Lines)
		}
		// Nothing is left to credit: another refund issues nothing.
		f.feed("default", orderapi.SubjectRefunded, orderapi.Refunded{Order: o, Amount: eur(100)})
		if n := count(t, db, `SELECT COUNT(*) FROM documents WHERE kind = 'credit_note'`); n != 3 {
			t.Errorf("%d credit notes after all was credited", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox WHERE subject = $1`, invoiceapi.SubjectCreditNoteIssued); n != 3 {
			t.Errorf("%d credit note events", n)
		}
	}, Migrations...)
}

// TestCancelledBeforeInvoice: an order cancelled before it was invoiced
// has no document, even when its confirmation (or shipment, or a refund)
// is handled after the cancellation; an order cancelled after it was
// invoiced has the invoice and a credit note of all of it; a refund of an
// order not yet invoiced issues the invoice first.
func TestCancelledBeforeInvoice(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newFixture(t, db, Config{})
	never := oddOrder("never")
	f.feed("default", orderapi.SubjectCancelled, confirmed(never))
	// The confirmation redelivered after the cancellation, then a shipment
	// and a refund: still nothing.
	f.feed("default", orderapi.SubjectConfirmed, confirmed(never))
	f.feed("default", orderapi.SubjectShipped, orderapi.Shipped{Order: never})
	f.feed("default", orderapi.SubjectRefunded, orderapi.Refunded{Order: never, Amount: eur(200)})
	docs, err := f.svc.OrderDocuments(tenantCtx(t, "default"), Buyer{OrderToken: "tok-never"}, "never")
	if err != nil || len(docs) != 0 {
		t.Errorf("documents of an order cancelled before it was invoiced: %v %+v", err, docs)
	}
	// The other order of arrival: invoiced, then cancelled.
	after := oddOrder("after")
	f.feed("default", orderapi.SubjectConfirmed, confirmed(after))
	f.feed("default", orderapi.SubjectCancelled, confirmed(after))
	f.feed("default", orderapi.SubjectConfirmed, confirmed(after))
	docs, err = f.svc.OrderDocuments(tenantCtx(t, "default"), Buyer{OrderToken: "tok-after"}, "after")
	if err != nil || len(docs) != 2 || docs[0].Kind != invoiceapi.KindInvoice || docs[1].Kind != invoiceapi.KindCreditNote ||
		docs[1].Total != docs[0].Total {
		t.Errorf("an order cancelled after its invoice: %v %+v", err, docs)
	}
	o := oddOrder("late")
	f.feed("default", orderapi.SubjectRefunded, orderapi.Refunded{Order: o, Amount: eur(200)})
	l, err := f.svc.List(tenantCtx(t, "default"), "", "late", "", 0)
	if err != nil || len(l.Items) != 2 || l.Items[1].Kind != invoiceapi.KindInvoice || l.Items[0].Total.Amount != 200 {
		t.Errorf("refund before the invoice: %v %+v", err, l.Items)
	}
}

// TestCancellationRacesConfirmation: an order's confirmation and its
// cancellation handled at the same time (two replicas) end in exactly one
// of the two outcomes: no document, or the invoice and a credit note of
// all of it; never an invoice left uncredited.
func TestCancellationRacesConfirmation(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			o := oddOrder(fmt.Sprint("race-", i))
			for _, subject := range []string{orderapi.SubjectConfirmed, orderapi.SubjectCancelled} {
				wg.Go(func() {
					e, err := newEvent(t, "default", subject, confirmed(o))
					if err == nil {
						_, err = f.svc.HandleOrderEvent(t.Context(), e)
					}
					if err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		none := 0
		for i := range n {
			id := fmt.Sprint("race-", i)
			docs, err := f.svc.OrderDocuments(tenantCtx(t, "default"), Buyer{OrderToken: "tok-" + id}, id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case len(docs) == 0:
				none++
			case len(docs) == 2 && docs[0].Kind == invoiceapi.KindInvoice && docs[1].Kind == invoiceapi.KindCreditNote &&
				docs[1].Total == docs[0].Total:
			default:
				t.Errorf("order %s: %d documents %+v, want none or the invoice and its full credit note", id, len(docs), docs)
			}
		}
		t.Logf("%d of %d orders cancelled before their invoice", none, n)
	}, Migrations...)
}

// TestSellerReadOutsideTheTransaction: the store's details come from the
// tenant service before the event's write transaction opens, on the bus
// path and through HandleOrderEvent. The reader proves it by writing to
// the database itself: on SQLite, from inside the event's transaction,
// that write would wait for the one writer until its deadline.
func TestSellerReadOutsideTheTransaction(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newFixture(t, db, Config{})
	f.stores.probe = func(ctx context.Context) error {
		done := make(chan error, 1)
		go func() {
			done <- db.WriteTx(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `SELECT 1`)
				return err
			})
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			// It waits for the transaction the read was called in; failing
			// rolls that back, and the write then goes through.
			return errors.New("the store was read inside a write transaction")
		}
	}
	f.feed("default", orderapi.SubjectConfirmed, confirmed(oddOrder("direct")))

	b := &capturingBus{}
	f.svc.bus = b
	if err := f.svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.svc.consumers.Stop)
	h := b.handlers[f.svc.cfg.OrdersGroup]
	if h == nil {
		t.Fatal("no handler subscribed for the order events")
	}
	e, err := newEvent(t, "default", orderapi.SubjectConfirmed, confirmed(oddOrder("via-bus")))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := h(t.Context(), bus.Message{ID: e.ID, Subject: e.Type, Data: data}); err != nil {
		t.Fatalf("the bus's delivery: %v", err)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM documents WHERE kind = 'invoice'`); n != 2 {
		t.Errorf("%d invoices, want 2", n)
	}
}

// capturingBus keeps the handlers subscribed, for a test to deliver to.
type capturingBus struct {
	bus.Bus
	handlers map[string]bus.Handler
}

func (b *capturingBus) Subscribe(_ context.Context, sub bus.Subscription, h bus.Handler) (bus.Consumer, error) {
	if b.handlers == nil {
		b.handlers = map[string]bus.Handler{}
	}
	b.handlers[sub.Group] = h
	return stopless{}, nil
}

type stopless struct{}

func (stopless) Stop() {}

// TestConcurrentCreditsCapped: credit notes of one invoice issued at once
// (here straight through credit, without the order's buyer row that the
// order events also lock) never credit more than the invoice, on either
// engine: on PostgreSQL each locks the invoice's row before reading what
// was credited.
func TestConcurrentCreditsCapped(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		f.feed("default", orderapi.SubjectConfirmed, confirmed(oddOrder("o1")))
		ctx := tenantCtx(t, "default")
		l, err := f.svc.List(ctx, invoiceapi.KindInvoice, "", "", 0)
		if err != nil || len(l.Items) != 1 {
			t.Fatalf("the invoice: %v %+v", err, l.Items)
		}
		inv := l.Items[0]
		sel := seller{party: testSeller, loc: time.UTC}
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				err := f.svc.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *invoicedb.Queries) error {
					return f.svc.credit(ctx, tx, q, "default", inv, sel, inv.Total.Amount/3, "Refund", fmt.Sprint("refund:", i),
						func(credits []invoiceapi.Invoice, _ int64) []part { return rateParts(inv, credits, "Refund") })
				})
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := count(t, db, `SELECT COALESCE(SUM(total), 0) FROM documents WHERE kind = 'credit_note'`); got != inv.Total.Amount {
			t.Errorf("credited %d of an invoice of %d", got, inv.Total.Amount)
		}
	}, Migrations...)
}

// TestDatedWhenNumbered: a document is dated at the instant its number is
// taken (right after it: issues of a series take their numbers in turn, so
// dates rise with numbers), and that instant gives the year: an issue that
// began in the old year but took its number in the new one gives the old
// year's number back and is numbered and dated in the new year.
func TestDatedWhenNumbered(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		f.stores.store.TimeZone = "UTC"
		// The clock moves 1 ms a reading: the inbox's, the invoice's
		// draft, the year to number in (23:59:59.999), then the instant
		// right after the number (00:00:00.000, the new year).
		f.clock = time.Date(2026, 12, 31, 23, 59, 59, 996_000_000, time.UTC)
		f.feed("default", orderapi.SubjectConfirmed, confirmed(oddOrder("o1")))
		l, err := f.svc.List(tenantCtx(t, "default"), "", "", "", 0)
		if err != nil || len(l.Items) != 1 {
			t.Fatalf("list: %v %+v", err, l.Items)
		}
		inv := l.Items[0]
		if inv.Number != "INV-2027-000001" || inv.IssueDate != "2027-01-01" || inv.IssuedAt.Year() != 2027 {
			t.Errorf("numbered %s, dated %s (%s), want INV-2027-000001 of 2027-01-01", inv.Number, inv.IssueDate, inv.IssuedAt)
		}
		if got := seqs(t, f, "default", invoiceapi.SeriesInvoice, 2026); len(got) != 0 {
			t.Errorf("2026's numbers: %v, want none (given back)", got)
		}
		// The next invoice of 2027 follows without a gap.
		f.feed("default", orderapi.SubjectConfirmed, confirmed(oddOrder("o2")))
		if got := seqs(t, f, "default", invoiceapi.SeriesInvoice, 2027); len(got) != 2 || got[1] != 2 {
			t.Errorf("2027's numbers: %v", got)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM counters WHERE year = 2026`); n != 0 {
			t.Errorf("%d counters of 2026", n)
		}
	}, Migrations...)
}

// TestPDFDeterministic: the same document renders to the same bytes; the
// PDF embeds the font and carries the accented text.
func TestPDFDeterministic(t *testing.T) {
	inv := invoiceOf(oddOrder("o1"), testSeller, t0, time.UTC)
	inv.ID, inv.Number = "i1", "INV-2026-000001"
	a, err := renderPDF(inv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := renderPDF(inv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of one document differ")
	}
	if !bytes.HasPrefix(a, []byte("%PDF-")) || !bytes.Contains(a, []byte("FontFile2")) || !bytes.Contains(a, []byte("CIDFontType2")) {
		t.Errorf("not a PDF with an embedded TrueType font: %.200q", a)
	}
	// A credit note, a long title and many lines (a second page) render too.
	long := oddOrder("o2")
	for i := range 60 {
		long.Lines = append(long.Lines, orderapi.Line{SKU: fmt.Sprint("SKU-", i), Title: strings.Repeat("Très long intitulé ", 8),
			Quantity: 1, UnitPrice: eur(100), Subtotal: eur(100), Tax: eur(20), Total: eur(120), TaxRateBP: 2000})
	}
	if _, err := renderPDF(invoiceOf(long, testSeller, t0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("INVOICE_PDF_OUT"); dir != "" { // to look at it
		_ = os.WriteFile(filepath.Join(dir, "invoice.pdf"), a, 0o644)
	}
}

// TestInvoiceOnShipment: a store that invoices on shipment issues nothing
// on confirmation, the invoice on the first shipment only, dated in its
// time zone, with its legal details.
func TestInvoiceOnShipment(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newFixture(t, db, Config{})
	f.stores.store.InvoiceOn = tenantapi.InvoiceOnShipped
	f.stores.store.TimeZone = "Pacific/Kiritimati" // UTC+14
	f.clock = time.Date(2026, 12, 31, 10, 30, 0, 0, time.UTC)
	o := oddOrder("o1")
	f.feed("default", orderapi.SubjectConfirmed, confirmed(o))
	if n := count(t, db, `SELECT COUNT(*) FROM documents`); n != 0 {
		t.Fatalf("%d documents on confirmation", n)
	}
	f.feed("default", orderapi.SubjectShipped, orderapi.Shipped{Order: o, Shipment: orderapi.Shipment{ID: "s1"}})
	f.feed("default", orderapi.SubjectShipped, orderapi.Shipped{Order: o, Shipment: orderapi.Shipment{ID: "s2"}})
	l, err := f.svc.List(tenantCtx(t, "default"), "", "", "", 0)
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("after two shipments: %v %+v", err, l.Items)
	}
	inv := l.Items[0]
	// 10:30 UTC on 31 December is 00:30 on 1 January 2027 in Kiritimati:
	// the invoice is of 2027, and numbered in 2027's series.
	if inv.IssueDate != "2027-01-01" || inv.Number != "INV-2027-000001" {
		t.Errorf("dated %s numbered %s", inv.IssueDate, inv.Number)
	}
	if inv.Seller.Name != testSeller.Name || inv.Seller.TaxID != testSeller.TaxID || inv.Seller.Address.City != "Besançon" {
		t.Errorf("seller: %+v", inv.Seller)
	}
}

// BenchmarkRender: an invoice's PDF and XML, as issuing renders them.
func BenchmarkRender(b *testing.B) {
	inv := invoiceOf(oddOrder("o1"), testSeller, t0, time.UTC)
	inv.ID, inv.Number = "i1", "INV-2026-000001"
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Render(inv); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifiedEmailClaimsGuestOrders: a customer who verifies the email of
// guest orders downloads their documents signed in; orders of another
// customer stay theirs, and registering alone gives nothing.
func TestVerifiedEmailClaimsGuestOrders(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		guest := oddOrder("guest-1")
		guest.CustomerID, guest.Email = "", " Mary@Example.com"
		theirs := oddOrder("theirs-1")
		theirs.CustomerID, theirs.Email = "c-other", "mary@example.com"
		f.feed("default", orderapi.SubjectConfirmed, confirmed(guest))
		f.feed("default", orderapi.SubjectConfirmed, confirmed(theirs))
		ctx := tenantCtx(t, "default")
		count := func(customer, order string) int {
			t.Helper()
			d, err := f.svc.OrderDocuments(ctx, Buyer{CustomerID: customer}, order)
			if err != nil {
				t.Fatal(err)
			}
			return len(d)
		}
		if count("c-9", "guest-1") != 0 {
			t.Fatal("a customer sees a guest order before verifying its email")
		}
		for _, typ := range []string{identityapi.SubjectCustomerRegistered, identityapi.SubjectCustomerEmailVerified} {
			e, err := outbox.NewEvent(ctx, "identity", typ, t0, identityapi.CustomerEmailVerified{CustomerID: "c-9", Email: "mary@EXAMPLE.com "})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.HandleCustomerEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			if typ == identityapi.SubjectCustomerRegistered && count("c-9", "guest-1") != 0 {
				t.Fatal("registering gave the guest order")
			}
		}
		if count("c-9", "guest-1") != 1 || count("c-9", "theirs-1") != 0 || count("c-other", "theirs-1") != 1 {
			t.Errorf("after the verification: guest %d, theirs %d/%d", count("c-9", "guest-1"), count("c-9", "theirs-1"), count("c-other", "theirs-1"))
		}
		// The guest's token still works.
		if d, err := f.svc.OrderDocuments(ctx, Buyer{OrderToken: "tok-guest-1"}, "guest-1"); err != nil || len(d) != 1 {
			t.Errorf("the guest's token: %v %d", err, len(d))
		}
	}, Migrations...)
}

// BenchmarkIssue: an order's confirmation through the inbox to its stored
// invoice (numbering, rendering, the insert and its event), on SQLite.
func BenchmarkIssue(b *testing.B) {
	db := sqldbtest.Open(b, "", Migrations...)
	svc, err := New(b.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		e, err := newEvent(b, "default", orderapi.SubjectConfirmed, confirmed(oddOrder(fmt.Sprint("bench-", i))))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.HandleOrderEvent(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
}

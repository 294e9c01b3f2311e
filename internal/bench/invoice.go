package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/platform/money"
)

// InvoiceOptions are the settings of `mercato bench invoice`.
type InvoiceOptions struct {
	// Duration is the measured time of each run; Warmup runs before it.
	Duration, Warmup time.Duration
	// Workers render at once in the second run (the first has one).
	Workers int
	// Lines is the number of lines of the document rendered.
	Lines int
	// Render renders a document's PDF and UBL XML as issuing does: the
	// invoice service's, handed in by the command (bench, like every
	// package outside a service, reaches a service only through its
	// contract).
	Render func(invoiceapi.Invoice) (pdf, xml []byte, err error)
}

// Invoice is `mercato bench invoice`: it renders one document, PDF and UBL
// XML together as issuing does, over and over, first on one goroutine
// (the rate of one core), then on Workers, and reports documents per
// second and per core. Nothing is stored: this is the rendering's cost,
// which is most of an issue's (the numbering and the insert are one short
// transaction).
func (r *Runner) Invoice(ctx context.Context, o InvoiceOptions) error {
	switch {
	case o.Duration <= 0 || o.Duration > MaxDuration:
		return fmt.Errorf("bench invoice: -duration must be above 0 and at most %s", MaxDuration)
	case o.Warmup < 0:
		return errors.New("bench invoice: -warmup must not be negative")
	case o.Workers < 1 || o.Workers > 1024:
		return errors.New("bench invoice: -workers must be 1 to 1024")
	case o.Lines < 1 || o.Lines > 1000:
		return errors.New("bench invoice: -lines must be 1 to 1000")
	case o.Render == nil:
		return errors.New("bench invoice: no renderer in this build")
	}
	d := sampleInvoice(o.Lines)
	pdf, xml, err := o.Render(d)
	if err != nil {
		return fmt.Errorf("bench invoice: %w", err)
	}
	fmt.Fprintf(r.Stdout, "Rendering an invoice of %d lines (PDF %d bytes, XML %d bytes), GOMAXPROCS %d.\n",
		o.Lines, len(pdf), len(xml), runtime.GOMAXPROCS(0))
	one, err := renderFor(ctx, o.Render, d, 1, o.Warmup, o.Duration)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.Stdout, "1 worker:   %8.1f documents/s (per core)\n", one)
	if o.Workers > 1 {
		all, err := renderFor(ctx, o.Render, d, o.Workers, o.Warmup, o.Duration)
		if err != nil {
			return err
		}
		cores := min(o.Workers, runtime.GOMAXPROCS(0))
		fmt.Fprintf(r.Stdout, "%d workers: %8.1f documents/s (%.1f per core over %d cores)\n", o.Workers, all, all/float64(cores), cores)
	}
	return nil
}

// renderFor renders d on workers goroutines for warmup, then counts the
// documents rendered in duration: documents per second.
func renderFor(ctx context.Context, render func(invoiceapi.Invoice) ([]byte, []byte, error), d invoiceapi.Invoice, workers int, warmup, duration time.Duration) (float64, error) {
	var (
		count    atomic.Int64
		counting atomic.Bool
		wg       sync.WaitGroup
		firstErr error
		once     sync.Once
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, _, err := render(d); err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
				if counting.Load() {
					count.Add(1)
				}
			}
		})
	}
	sleep := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	sleep(warmup)
	counting.Store(true)
	start := time.Now()
	sleep(duration)
	n, elapsed := count.Load(), time.Since(start)
	cancel()
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("bench invoice: %w", firstErr)
	}
	if err := context.Cause(ctx); err != nil && elapsed < duration {
		return 0, fmt.Errorf("bench invoice: stopped: %w", err)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// sampleInvoice is an invoice of n lines at three rates (one of them 0),
// with accented text, discounts and shipping, its sums consistent.
func sampleInvoice(n int) invoiceapi.Invoice {
	eur := func(a int64) money.Money { return money.Money{Amount: a, Currency: "EUR"} }
	d := invoiceapi.Invoice{ID: "bench", Kind: invoiceapi.KindInvoice, Number: "INV-2026-000001", OrderID: "order-bench",
		IssuedAt: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC), IssueDate: "2026-03-01", Currency: "EUR",
		Seller: invoiceapi.Party{Name: "Épicerie Müller & Søn SARL", TaxID: "FR40303265045",
			Address: invoiceapi.Address{Line1: "12 rue de l'Église", City: "Besançon", PostalCode: "25000", Country: "FR"}},
		Buyer: invoiceapi.Party{Name: "Zoë Ångström-Núñez", Email: "zoe@example.com",
			Address: invoiceapi.Address{Line1: "Hauptstraße 5", City: "Köln", PostalCode: "50667", Country: "DE"}}}
	rates := []int64{2000, 550, 0}
	sub := map[int64]*invoiceapi.TaxSubtotal{}
	add := func(l invoiceapi.Line) {
		s := sub[l.TaxRateBP]
		if s == nil {
			s = &invoiceapi.TaxSubtotal{RateBP: l.TaxRateBP, Taxable: eur(0), Tax: eur(0)}
			sub[l.TaxRateBP] = s
		}
		s.Taxable.Amount += l.Net.Amount
		s.Tax.Amount += l.Tax.Amount
		d.Net.Amount += l.Net.Amount
		d.Tax.Amount += l.Tax.Amount
	}
	d.Net, d.Tax, d.Discount = eur(0), eur(0), eur(0)
	for i := range n {
		rate := rates[i%len(rates)]
		q := int64(i%4 + 1)
		unit := int64(799 + 137*i%2000)
		disc := unit * q / 10
		net := unit*q - disc
		tax := (net*rate + 5000) / 10000
		l := invoiceapi.Line{SKU: fmt.Sprintf("SKU-%04d", i), Title: fmt.Sprintf("Café « crème brûlée » nº %d", i), Quantity: q,
			UnitPrice: eur(unit), Discount: eur(disc), Net: eur(net), TaxRateBP: rate, Tax: eur(tax), Total: eur(net + tax)}
		d.Lines = append(d.Lines, l)
		d.Discount.Amount += disc
		add(l)
	}
	ship := invoiceapi.Line{Title: "Shipping (standard)", Quantity: 1, UnitPrice: eur(590), Discount: eur(0), Net: eur(590),
		TaxRateBP: 2000, Tax: eur(118), Total: eur(708)}
	d.Shipping = &ship
	add(ship)
	for _, r := range rates {
		if s := sub[r]; s != nil {
			d.TaxSubtotals = append(d.TaxSubtotals, *s)
		}
	}
	d.Total = eur(d.Net.Amount + d.Tax.Amount)
	return d
}

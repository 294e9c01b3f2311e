package invoice

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/money"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func eur(a int64) money.Money { return money.Money{Amount: a, Currency: "EUR"} }

// testSeller is a seller with every legal detail, accents included.
var testSeller = invoiceapi.Party{Name: "Épicerie Müller & Søn SARL", TaxID: "FR40303265045",
	Address: invoiceapi.Address{Line1: "12 rue de l'Église", Line2: "Bâtiment C", City: "Besançon", PostalCode: "25000", Country: "FR"}}

// oddOrder is an order with accents, three tax rates (one of them zero),
// a discount and shipping, priced without tax (exclusive) as pricing does:
// tax per line on the line after its discount.
func oddOrder(id string) orderapi.Order {
	lines := []orderapi.Line{
		{SKU: "CAFÉ-1", ProductID: "p1", Title: "Café moulu « Crème brûlée »", Quantity: 3, UnitPrice: eur(1299), Subtotal: eur(3897),
			Discount: eur(390), TaxRateBP: 550},
		{SKU: "MUG-Ø", ProductID: "p2", Title: "Tasse émaillée — bleu nuit", Quantity: 2, UnitPrice: eur(850), Subtotal: eur(1700),
			Discount: eur(170), TaxRateBP: 2000},
		{SKU: "BOOK-1", ProductID: "p3", Title: "Livre: L'Œuvre au noir", Quantity: 1, UnitPrice: eur(2150), Subtotal: eur(2150),
			Discount: eur(0), TaxRateBP: 0},
	}
	var sub, disc, tax, total int64
	for i, l := range lines {
		net := l.Subtotal.Amount - l.Discount.Amount
		lt := taxOf(net, l.TaxRateBP, false)
		lines[i].Tax, lines[i].Total = eur(lt), eur(net+lt)
		sub += l.Subtotal.Amount
		disc += l.Discount.Amount
		tax += lt
		total += net + lt
	}
	shipping := int64(590)
	shipTax := taxOf(shipping, 2000, false)
	tax += shipTax
	total += shipping + shipTax
	return orderapi.Order{ID: id, Status: orderapi.StatusConfirmed, Email: "Zoë.Ångström@example.com", CustomerID: "c-1", Currency: "EUR",
		Lines: lines, Subtotal: eur(sub), Discount: eur(disc), Shipping: eur(shipping), ShippingMethod: "standard", Tax: eur(tax),
		Total: eur(total), Captured: eur(0), Refunded: eur(0), TotalDue: eur(total), Coupon: "BIENVENUE",
		ShippingAddress: orderapi.Address{Name: "Zoë Ångström-Núñez", Line1: "Hauptstraße 5", City: "Köln", PostalCode: "50667", Country: "de"},
		CreatedAt:       t0, UpdatedAt: t0}
}

// inclusiveOrder is a one-rate order priced with tax included.
func inclusiveOrder(id string) orderapi.Order {
	l := orderapi.Line{SKU: "TEE-1", ProductID: "p9", Title: "T-shirt", Quantity: 3, UnitPrice: eur(1999), Subtotal: eur(5997),
		Discount: eur(600), TaxRateBP: 1900}
	gross := l.Subtotal.Amount - l.Discount.Amount
	l.Tax, l.Total = eur(taxOf(gross, 1900, true)), eur(gross)
	ship := int64(499)
	shipTax := taxOf(ship, 1900, true)
	return orderapi.Order{ID: id, Email: "a@example.com", Currency: "EUR", Lines: []orderapi.Line{l}, Subtotal: l.Subtotal,
		Discount: l.Discount, Shipping: eur(ship), Tax: eur(l.Tax.Amount + shipTax), Total: eur(gross + ship), TaxInclusive: true,
		ShippingAddress: orderapi.Address{Name: "A", Line1: "x", City: "Berlin", PostalCode: "10115", Country: "DE"}, UpdatedAt: t0}
}

// TestInvoiceOfOrder: the invoice's sums are the order's, tax per rate
// adds up, and shipping is taxed at its own rate.
func TestInvoiceOfOrder(t *testing.T) {
	for _, o := range []orderapi.Order{oddOrder("o1"), inclusiveOrder("o2")} {
		inv := invoiceOf(o, testSeller, t0, time.UTC)
		if inv.Total != o.Total || inv.Tax != o.Tax || inv.Discount != o.Discount {
			t.Errorf("%s: total %v tax %v discount %v, order %v %v %v", o.ID, inv.Total, inv.Tax, inv.Discount, o.Total, o.Tax, o.Discount)
		}
		var taxable, tax int64
		for _, s := range inv.TaxSubtotals {
			taxable += s.Taxable.Amount
			tax += s.Tax.Amount
		}
		if taxable != inv.Net.Amount || tax != inv.Tax.Amount || inv.Net.Amount+inv.Tax.Amount != inv.Total.Amount {
			t.Errorf("%s: subtotals %d/%d, net %v tax %v total %v", o.ID, taxable, tax, inv.Net, inv.Tax, inv.Total)
		}
		if inv.Shipping == nil || inv.Shipping.TaxRateBP == 0 && inv.Shipping.Tax.Amount != 0 {
			t.Errorf("%s: shipping %+v", o.ID, inv.Shipping)
		}
		if inv.Buyer.Address.Country != "DE" || inv.IssueDate != "2026-03-01" {
			t.Errorf("%s: buyer %+v date %s", o.ID, inv.Buyer, inv.IssueDate)
		}
	}
	inv := invoiceOf(oddOrder("o1"), testSeller, t0, time.UTC)
	if len(inv.TaxSubtotals) != 3 || inv.TaxSubtotals[0].RateBP != 2000 || inv.TaxSubtotals[2].RateBP != 0 || inv.Shipping.TaxRateBP != 2000 {
		t.Errorf("rates: %+v, shipping %+v", inv.TaxSubtotals, inv.Shipping)
	}
	// The date is the store's: 03:00 UTC on 1 March is still 28 February
	// in Los Angeles.
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	if d := invoiceOf(oddOrder("o1"), testSeller, time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), la).IssueDate; d != "2026-02-28" {
		t.Errorf("issue date in LA at 03:00 UTC: %s", d)
	}
}

// TestCreditNotes: a full cancellation reverses the invoice to the unit,
// a refund splits over the rates in proportion, a return credits the
// returned lines, and the lines of every credit note sum to its total.
func TestCreditNotes(t *testing.T) {
	inv := invoiceOf(oddOrder("o1"), testSeller, t0, time.UTC)
	inv.ID, inv.Number = "i1", "INV-2026-000001"
	check := func(name string, cn invoiceapi.Invoice, want int64) {
		t.Helper()
		var sum int64
		for _, l := range cn.Lines {
			sum += l.Total.Amount
			if l.Net.Amount+l.Tax.Amount != l.Total.Amount || l.Tax.Amount < 0 || l.Net.Amount < 0 {
				t.Errorf("%s: line %+v", name, l)
			}
		}
		if sum != want || cn.Total.Amount != want || cn.InvoiceNumber != inv.Number || cn.Kind != invoiceapi.KindCreditNote {
			t.Errorf("%s: lines sum %d, total %v, want %d (%+v)", name, sum, cn.Total, want, cn)
		}
	}
	whole, ok := creditNote(inv, wholeParts(inv), inv.Total.Amount, "cancelled", t0, time.UTC)
	if !ok {
		t.Fatal("no credit note of the whole invoice")
	}
	check("whole", whole, inv.Total.Amount)
	if whole.Tax != inv.Tax || whole.Net != inv.Net || len(whole.TaxSubtotals) != len(inv.TaxSubtotals) {
		t.Errorf("whole credit: tax %v net %v, invoice %v %v", whole.Tax, whole.Net, inv.Tax, inv.Net)
	}
	for i, s := range whole.TaxSubtotals {
		if s != inv.TaxSubtotals[i] {
			t.Errorf("whole credit subtotal %+v, invoice %+v", s, inv.TaxSubtotals[i])
		}
	}

	refund, ok := creditNote(inv, rateParts(inv, nil, "Refund"), 1001, "refund", t0, time.UTC)
	if !ok {
		t.Fatal("no credit note of a refund")
	}
	check("refund", refund, 1001)
	if len(refund.Lines) != 3 {
		t.Errorf("refund over three rates: %+v", refund.Lines)
	}
	// What is left after the refund, at each rate, is what the invoice
	// had less what the refund took.
	rest := rateParts(inv, []invoiceapi.Invoice{refund}, "Rest")
	var left int64
	for _, p := range rest {
		left += p.gross
	}
	if left != inv.Total.Amount-1001 {
		t.Errorf("left after the refund: %d, want %d", left, inv.Total.Amount-1001)
	}

	ret := orderapi.Return{ID: "r1", Lines: []orderapi.ReturnLine{{SKU: "MUG-Ø", Quantity: 1}}}
	lineHalf := roundDiv(inv.Lines[1].Total.Amount, 2)
	rc, ok := creditNote(inv, returnParts(inv, nil, ret, lineHalf), lineHalf, "return", t0, time.UTC)
	if !ok {
		t.Fatal("no credit note of a return")
	}
	check("return", rc, lineHalf)
	if len(rc.Lines) != 1 || rc.Lines[0].SKU != "MUG-Ø" || rc.Lines[0].Quantity != 1 || rc.Lines[0].TaxRateBP != 2000 {
		t.Errorf("return lines: %+v", rc.Lines)
	}
	// A return refunded with its shipping credits the shipping too.
	withShip := lineHalf + inv.Shipping.Total.Amount
	rs, _ := creditNote(inv, returnParts(inv, nil, ret, withShip), withShip, "return", t0, time.UTC)
	check("return with shipping", rs, withShip)
	if len(rs.Lines) != 2 || rs.Lines[1].Title != inv.Shipping.Title {
		t.Errorf("return with shipping lines: %+v", rs.Lines)
	}
	if _, ok := creditNote(inv, nil, 100, "nothing", t0, time.UTC); ok {
		t.Error("a credit note over no part")
	}
}

// TestAllocate: the shares sum to the amount, in proportion, ties to the
// earlier.
func TestAllocate(t *testing.T) {
	for _, c := range []struct {
		amount  int64
		weights []int64
		want    []int64
	}{
		{100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{10, []int64{0, 5, 5}, []int64{0, 5, 5}},
		{7, []int64{3}, []int64{7}},
		{1, []int64{1, 2}, []int64{0, 1}},
	} {
		got := allocate(c.amount, c.weights)
		if len(got) != len(c.want) {
			t.Fatalf("allocate(%d, %v) = %v", c.amount, c.weights, got)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("allocate(%d, %v) = %v, want %v", c.amount, c.weights, got, c.want)
				break
			}
		}
	}
	if allocate(5, []int64{0, 0}) != nil {
		t.Error("allocate over no weight")
	}
}

func TestNumberAndPercent(t *testing.T) {
	if n := number("INV", 2026, 1); n != "INV-2026-000001" {
		t.Errorf("number: %s", n)
	}
	if n := number("CN", 2026, 1234567); n != "CN-2026-1234567" {
		t.Errorf("number: %s", n)
	}
	for bp, want := range map[int64]string{1900: "19", 750: "7.5", 0: "0", 1000: "10", 555: "5.55", 10000: "100"} {
		if got := percent(bp); got != want {
			t.Errorf("percent(%d) = %s, want %s", bp, got, want)
		}
	}
	if d := decimal(1999, "EUR"); d != "19.99" {
		t.Errorf("decimal EUR: %s", d)
	}
	if d := decimal(1999, "JPY"); d != "1999" {
		t.Errorf("decimal JPY: %s", d)
	}
	if d := decimal(-5, "EUR"); d != "-0.05" {
		t.Errorf("decimal negative: %s", d)
	}
}

// TestBillsTheBillingAddress: an order's billing address, when it has
// one, is the invoice's buyer; else its shipping address.
func TestBillsTheBillingAddress(t *testing.T) {
	o := oddOrder("o1")
	if b := invoiceOf(o, testSeller, t0, time.UTC).Buyer; b.Name != o.ShippingAddress.Name || b.Address.City != "Köln" {
		t.Errorf("without a billing address: %+v", b)
	}
	o.BillingAddress = &orderapi.Address{Name: "Ångström GmbH", Line1: "Königsallee 1", City: "Düsseldorf", PostalCode: "40212", Country: "de"}
	b := invoiceOf(o, testSeller, t0, time.UTC).Buyer
	if b.Name != "Ångström GmbH" || b.Address.City != "Düsseldorf" || b.Address.Country != "DE" || b.Email != o.Email {
		t.Errorf("with a billing address: %+v", b)
	}
}

// TestLegacyOrderOneRate: an order placed before lines carried their rate
// (one rate for the order, as pricing taxes, each line's tax rounded on
// its own, so that line by line the tax implies 19.05 %, 19.02 %…) is
// invoiced at the order's one rate on every line and shipping, exclusive
// and inclusive of tax.
func TestLegacyOrderOneRate(t *testing.T) {
	for _, c := range []struct {
		inclusive bool
		rate      int64
	}{{false, 1900}, {true, 1900}, {false, 550}, {true, 770}} {
		inclusive, rate := c.inclusive, c.rate
		amounts := []int64{105, 999, 1337, 7}
		o := orderapi.Order{ID: "legacy", Email: "a@example.com", Currency: "EUR", TaxInclusive: inclusive,
			ShippingAddress: orderapi.Address{Name: "A", Line1: "x", City: "Berlin", PostalCode: "10115", Country: "DE"}}
		var tax, sub int64
		for i, a := range amounts {
			lt := taxOf(a, rate, inclusive)
			total := a
			if !inclusive {
				total += lt
			}
			o.Lines = append(o.Lines, orderapi.Line{SKU: fmt.Sprint("L", i), Title: "x", Quantity: 1, UnitPrice: eur(a), Subtotal: eur(a),
				Discount: eur(0), Tax: eur(lt), Total: eur(total)}) // TaxRateBP 0: not recorded then
			tax += lt
			sub += a
		}
		o.Shipping = eur(349)
		tax += taxOf(349, rate, inclusive)
		o.Subtotal, o.Tax = eur(sub), eur(tax)
		// Line by line, the rounded tax implies other rates.
		if r := impliedRate(105, taxOf(105, rate, false)); !inclusive && r == rate {
			t.Fatalf("the test's amounts imply %d line by line", r)
		}
		inv := invoiceOf(o, testSeller, t0, time.UTC)
		for _, l := range append(slices.Clone(inv.Lines), *inv.Shipping) {
			if l.TaxRateBP != rate {
				t.Errorf("inclusive %v: %s at %d bp, want %d", inclusive, l.Title, l.TaxRateBP, rate)
			}
		}
		if len(inv.TaxSubtotals) != 1 || inv.TaxSubtotals[0].RateBP != rate || inv.Tax.Amount != tax {
			t.Errorf("inclusive %v: tax subtotals %+v, tax %d of %d", inclusive, inv.TaxSubtotals, inv.Tax.Amount, tax)
		}
	}
}

// TestReturnCappedByEarlierCredits: a return after a refund that credited
// most of the invoice (a return's refund may be anything up to what is
// captured and not yet refunded) credits no rate beyond what is left at
// it: the returned line is capped at its rate's rest, and the excess goes
// over the other rates' rest; all the credit notes together never credit a
// rate more than the invoice holds at it, in amount or in tax.
func TestReturnCappedByEarlierCredits(t *testing.T) {
	inv := invoiceOf(oddOrder("o1"), testSeller, t0, time.UTC)
	inv.ID, inv.Number = "i1", "INV-2026-000001"
	refund := inv.Total.Amount - 1000
	rc, ok := creditNote(inv, rateParts(inv, nil, "Refund"), refund, "refund", t0, time.UTC)
	if !ok {
		t.Fatal("no credit note of the refund")
	}
	credits := []invoiceapi.Invoice{rc}
	// The whole mug line returned, refunded 1000: more than is left at 20 %.
	ret := orderapi.Return{ID: "r1", Lines: []orderapi.ReturnLine{{SKU: "MUG-Ø", Quantity: 2}}}
	cn, ok := creditNote(inv, returnParts(inv, credits, ret, 1000), 1000, "return", t0, time.UTC)
	if !ok {
		t.Fatal("no credit note of the return")
	}
	if cn.Total.Amount != 1000 {
		t.Errorf("the return credits %d, want 1000", cn.Total.Amount)
	}
	credits = append(credits, cn)
	for _, s := range inv.TaxSubtotals {
		var gross, tax int64
		for _, c := range credits {
			for _, cs := range c.TaxSubtotals {
				if cs.RateBP == s.RateBP {
					gross += cs.Taxable.Amount + cs.Tax.Amount
					tax += cs.Tax.Amount
				}
			}
		}
		if gross != s.Taxable.Amount+s.Tax.Amount || tax != s.Tax.Amount {
			t.Errorf("rate %d: credited %d (tax %d), the invoice holds %d (tax %d)", s.RateBP, gross, tax,
				s.Taxable.Amount+s.Tax.Amount, s.Tax.Amount)
		}
	}
	var mug bool
	for _, l := range cn.Lines {
		mug = mug || l.SKU == "MUG-Ø"
	}
	if !mug {
		t.Errorf("the return's credit note names no returned line: %+v", cn.Lines)
	}
}

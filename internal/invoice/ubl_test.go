package invoice

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/money"
)

// The UBL document as a reader sees it, read back by namespace (not by the
// prefixes the writer chose), for checking EN 16931's rules.
type (
	rAmount struct {
		Currency string `xml:"currencyID,attr"`
		Value    string `xml:",chardata"`
	}
	rTaxCategory struct {
		ID      string `xml:"ID"`
		Percent string `xml:"Percent"`
		Scheme  string `xml:"TaxScheme>ID"`
	}
	rParty struct {
		Name    string `xml:"Party>PartyLegalEntity>RegistrationName"`
		Country string `xml:"Party>PostalAddress>Country>IdentificationCode"`
		Street  string `xml:"Party>PostalAddress>StreetName"`
		City    string `xml:"Party>PostalAddress>CityName"`
		VAT     string `xml:"Party>PartyTaxScheme>CompanyID"`
	}
	rAllowanceCharge struct {
		Charge      bool         `xml:"ChargeIndicator"`
		Reason      string       `xml:"AllowanceChargeReason"`
		Amount      rAmount      `xml:"Amount"`
		TaxCategory rTaxCategory `xml:"TaxCategory"`
	}
	rLine struct {
		ID                string             `xml:"ID"`
		Invoiced          string             `xml:"InvoicedQuantity"`
		Credited          string             `xml:"CreditedQuantity"`
		LineExtension     rAmount            `xml:"LineExtensionAmount"`
		Allowances        []rAllowanceCharge `xml:"AllowanceCharge"`
		Name              string             `xml:"Item>Name"`
		SKU               string             `xml:"Item>SellersItemIdentification>ID"`
		TaxCategory       rTaxCategory       `xml:"Item>ClassifiedTaxCategory"`
		PriceAmount       rAmount            `xml:"Price>PriceAmount"`
		PriceBaseQuantity string             `xml:"Price>BaseQuantity"`
	}
	rDocument struct {
		XMLName         xml.Name
		Customization   string             `xml:"CustomizationID"`
		ID              string             `xml:"ID"`
		IssueDate       string             `xml:"IssueDate"`
		InvoiceType     string             `xml:"InvoiceTypeCode"`
		CreditType      string             `xml:"CreditNoteTypeCode"`
		Currency        string             `xml:"DocumentCurrencyCode"`
		PrecedingNumber string             `xml:"BillingReference>InvoiceDocumentReference>ID"`
		Seller          rParty             `xml:"AccountingSupplierParty"`
		Buyer           rParty             `xml:"AccountingCustomerParty"`
		AllowanceCharge []rAllowanceCharge `xml:"AllowanceCharge"`
		TaxTotals       []struct {
			Tax       rAmount `xml:"TaxAmount"`
			Subtotals []struct {
				Taxable     rAmount      `xml:"TaxableAmount"`
				Tax         rAmount      `xml:"TaxAmount"`
				TaxCategory rTaxCategory `xml:"TaxCategory"`
			} `xml:"TaxSubtotal"`
		} `xml:"TaxTotal"`
		Totals struct {
			LineExtension rAmount `xml:"LineExtensionAmount"`
			TaxExclusive  rAmount `xml:"TaxExclusiveAmount"`
			TaxInclusive  rAmount `xml:"TaxInclusiveAmount"`
			AllowanceTot  rAmount `xml:"AllowanceTotalAmount"`
			ChargeTotal   rAmount `xml:"ChargeTotalAmount"`
			Prepaid       rAmount `xml:"PrepaidAmount"`
			Rounding      rAmount `xml:"PayableRoundingAmount"`
			Payable       rAmount `xml:"PayableAmount"`
		} `xml:"LegalMonetaryTotal"`
		InvoiceLines []rLine `xml:"InvoiceLine"`
		CreditLines  []rLine `xml:"CreditNoteLine"`
	}
)

// reporter is what the rules report to: a *testing.T, or a recorder that
// shows the rules catch a broken document.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// recorder is a reporter that notes failures; Fatalf ends the goroutine.
type recorder struct {
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// dec reads a decimal of the document exactly ("" is zero).
func dec(t reporter, s string) *big.Rat {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		return new(big.Rat)
	}
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		t.Fatalf("not a decimal: %q", s)
	}
	return r
}

func sum(rs ...*big.Rat) *big.Rat {
	out := new(big.Rat)
	for _, r := range rs {
		out.Add(out, r)
	}
	return out
}

// checkEN16931 checks the business rules of EN 16931 that a document's
// own content can show: the mandatory fields, the sums and the tax
// breakdown. It returns the document read back.
func checkEN16931(t reporter, raw []byte) rDocument {
	t.Helper()
	var d rDocument
	if err := xml.Unmarshal(raw, &d); err != nil {
		t.Fatalf("the XML does not parse: %v\n%s", err, raw)
	}
	errorf := func(rule, format string, args ...any) {
		t.Helper()
		t.Errorf(rule+": "+format, args...)
	}
	credit := d.XMLName.Local == "CreditNote"
	wantNS := nsInvoice
	if credit {
		wantNS = nsCreditNote
	}
	if d.XMLName.Space != wantNS {
		errorf("UBL", "root %v", d.XMLName)
	}
	if d.Customization != customization {
		errorf("BR-01", "specification identifier %q", d.Customization)
	}
	if d.ID == "" {
		errorf("BR-02", "no invoice number (BT-1)")
	}
	if _, err := time.Parse(time.DateOnly, d.IssueDate); err != nil {
		errorf("BR-03", "issue date (BT-2) %q", d.IssueDate)
	}
	switch {
	case !credit && d.InvoiceType != "380", credit && d.CreditType != "381":
		errorf("BR-04", "type code (BT-3) %q/%q", d.InvoiceType, d.CreditType)
	}
	if len(d.Currency) != 3 {
		errorf("BR-05", "currency (BT-5) %q", d.Currency)
	}
	if d.Seller.Name == "" {
		errorf("BR-06", "no seller name (BT-27)")
	}
	if d.Buyer.Name == "" {
		errorf("BR-07", "no buyer name (BT-44)")
	}
	if d.Seller.Country == "" || d.Seller.Street == "" || d.Seller.City == "" {
		errorf("BR-08/BR-09", "seller address %+v", d.Seller)
	}
	if d.Buyer.Country == "" {
		errorf("BR-10/BR-11", "buyer country (BT-55) missing")
	}
	lines := d.InvoiceLines
	if credit {
		lines = d.CreditLines
		if d.PrecedingNumber == "" {
			errorf("BR-55", "a credit note without the invoice it corrects (BT-25)")
		}
	}
	if len(lines) == 0 {
		errorf("BR-16", "no line")
	}
	// Every amount is in the document's currency.
	amounts := []rAmount{d.Totals.LineExtension, d.Totals.TaxExclusive, d.Totals.TaxInclusive, d.Totals.Payable}
	for _, l := range lines {
		amounts = append(amounts, l.LineExtension, l.PriceAmount)
	}
	for _, a := range amounts {
		if a.Currency != d.Currency {
			errorf("BR-CO-?", "amount %v not in %s", a, d.Currency)
		}
	}

	lineSum := new(big.Rat)
	standard := false
	for _, l := range lines {
		qty := l.Invoiced
		if credit {
			qty = l.Credited
		}
		if l.ID == "" || qty == "" || l.Name == "" {
			errorf("BR-21..25", "line %+v lacks its ID, quantity or name", l)
		}
		if l.TaxCategory.ID == "" || l.TaxCategory.Scheme != "VAT" {
			errorf("BR-CO-04", "line %s without its VAT category", l.ID)
		}
		if l.TaxCategory.ID == "S" {
			standard = true
			if dec(t, l.TaxCategory.Percent).Sign() <= 0 {
				errorf("BR-S-05", "line %s standard rated at %s", l.ID, l.TaxCategory.Percent)
			}
		}
		if l.TaxCategory.ID == "Z" && dec(t, l.TaxCategory.Percent).Sign() != 0 {
			errorf("BR-Z-05", "line %s zero rated at %s", l.ID, l.TaxCategory.Percent)
		}
		if dec(t, l.PriceAmount.Value).Sign() < 0 {
			errorf("BR-27", "line %s with a negative price", l.ID)
		}
		// The line's net amount is its quantity at its price, less its
		// allowances (EN 16931's calculation of BT-131).
		base := dec(t, l.PriceBaseQuantity)
		if base.Sign() == 0 {
			base = big.NewRat(1, 1)
		}
		want := new(big.Rat).Mul(dec(t, qty), new(big.Rat).Quo(dec(t, l.PriceAmount.Value), base))
		for _, a := range l.Allowances {
			if a.Charge {
				want.Add(want, dec(t, a.Amount.Value))
			} else {
				want.Sub(want, dec(t, a.Amount.Value))
			}
		}
		if want.Cmp(dec(t, l.LineExtension.Value)) != 0 {
			errorf("BT-131", "line %s: quantity × price − allowances = %s, net amount %s", l.ID, want.FloatString(4), l.LineExtension.Value)
		}
		lineSum.Add(lineSum, dec(t, l.LineExtension.Value))
	}
	if lineSum.Cmp(dec(t, d.Totals.LineExtension.Value)) != 0 {
		errorf("BR-CO-10", "Σ line net %s ≠ LineExtensionAmount %s", lineSum.FloatString(2), d.Totals.LineExtension.Value)
	}
	allowances, charges := new(big.Rat), new(big.Rat)
	for _, a := range d.AllowanceCharge {
		if a.TaxCategory.ID == "" {
			errorf("BR-32/BR-37", "document-level allowance or charge without a VAT category")
		}
		if a.TaxCategory.ID == "S" {
			standard = true
		}
		if a.Charge {
			charges.Add(charges, dec(t, a.Amount.Value))
		} else {
			allowances.Add(allowances, dec(t, a.Amount.Value))
		}
	}
	if allowances.Cmp(dec(t, d.Totals.AllowanceTot.Value)) != 0 {
		errorf("BR-CO-11", "Σ allowances %s ≠ AllowanceTotalAmount %q", allowances.FloatString(2), d.Totals.AllowanceTot.Value)
	}
	if charges.Cmp(dec(t, d.Totals.ChargeTotal.Value)) != 0 {
		errorf("BR-CO-12", "Σ charges %s ≠ ChargeTotalAmount %q", charges.FloatString(2), d.Totals.ChargeTotal.Value)
	}
	exclusive := new(big.Rat).Sub(sum(lineSum, charges), allowances)
	if exclusive.Cmp(dec(t, d.Totals.TaxExclusive.Value)) != 0 {
		errorf("BR-CO-13", "Σ lines − allowances + charges = %s ≠ TaxExclusiveAmount %s", exclusive.FloatString(2), d.Totals.TaxExclusive.Value)
	}
	if len(d.TaxTotals) != 1 {
		errorf("BR-CO-18", "%d tax totals in the document currency, want one", len(d.TaxTotals))
		return d
	}
	tt := d.TaxTotals[0]
	if tt.Tax.Currency != d.Currency {
		errorf("BR-CO-14", "tax total in %s", tt.Tax.Currency)
	}
	subTax, subTaxable := new(big.Rat), new(big.Rat)
	seen := map[string]bool{}
	for _, s := range tt.Subtotals {
		key := s.TaxCategory.ID + "/" + s.TaxCategory.Percent
		if seen[key] {
			errorf("BR-S-08", "two subtotals of %s", key)
		}
		seen[key] = true
		subTax.Add(subTax, dec(t, s.Tax.Value))
		subTaxable.Add(subTaxable, dec(t, s.Taxable.Value))
		// BR-S-08 / BR-Z-08: each subtotal's taxable amount is the sum of
		// the line net amounts and document-level charges of its category
		// and rate.
		want := new(big.Rat)
		for _, l := range lines {
			if l.TaxCategory.ID == s.TaxCategory.ID && dec(t, l.TaxCategory.Percent).Cmp(dec(t, s.TaxCategory.Percent)) == 0 {
				want.Add(want, dec(t, l.LineExtension.Value))
			}
		}
		for _, a := range d.AllowanceCharge {
			if a.TaxCategory.ID == s.TaxCategory.ID && dec(t, a.TaxCategory.Percent).Cmp(dec(t, s.TaxCategory.Percent)) == 0 {
				if a.Charge {
					want.Add(want, dec(t, a.Amount.Value))
				} else {
					want.Sub(want, dec(t, a.Amount.Value))
				}
			}
		}
		if want.Cmp(dec(t, s.Taxable.Value)) != 0 {
			errorf("BR-S-08", "subtotal %s taxable %s, lines and charges of it %s", key, s.Taxable.Value, want.FloatString(2))
		}
		// BR-S-09: the tax of a rate is its taxable amount at the rate,
		// within the rounding of the lines (tax is rounded per line):
		// one minor unit per line or charge of the rate.
		exact := new(big.Rat).Mul(dec(t, s.Taxable.Value), new(big.Rat).Quo(dec(t, s.TaxCategory.Percent), big.NewRat(100, 1)))
		diff := new(big.Rat).Sub(exact, dec(t, s.Tax.Value))
		unit := new(big.Rat).SetFrac64(1, int64(math.Pow10(money.Scale(d.Currency))))
		if diff.Abs(diff).Cmp(new(big.Rat).Mul(unit, big.NewRat(int64(len(lines)+len(d.AllowanceCharge)), 1))) > 0 {
			errorf("BR-S-09", "subtotal %s: tax %s, taxable at the rate %s", key, s.Tax.Value, exact.FloatString(4))
		}
		if s.TaxCategory.ID == "Z" && dec(t, s.Tax.Value).Sign() != 0 {
			errorf("BR-Z-09", "zero-rated tax %s", s.Tax.Value)
		}
	}
	if subTaxable.Cmp(exclusive) != 0 {
		errorf("BR-CO-?", "Σ taxable %s ≠ TaxExclusiveAmount %s", subTaxable.FloatString(2), exclusive.FloatString(2))
	}
	if subTax.Cmp(dec(t, tt.Tax.Value)) != 0 {
		errorf("BR-CO-14", "Σ subtotal tax %s ≠ TaxAmount %s", subTax.FloatString(2), tt.Tax.Value)
	}
	inclusive := sum(exclusive, dec(t, tt.Tax.Value))
	if inclusive.Cmp(dec(t, d.Totals.TaxInclusive.Value)) != 0 {
		errorf("BR-CO-15", "TaxExclusive + tax = %s ≠ TaxInclusiveAmount %s", inclusive.FloatString(2), d.Totals.TaxInclusive.Value)
	}
	payable := new(big.Rat).Sub(inclusive, dec(t, d.Totals.Prepaid.Value))
	payable.Add(payable, dec(t, d.Totals.Rounding.Value))
	if payable.Cmp(dec(t, d.Totals.Payable.Value)) != 0 {
		errorf("BR-CO-16", "TaxInclusive − prepaid + rounding = %s ≠ PayableAmount %s", payable.FloatString(2), d.Totals.Payable.Value)
	}
	if standard && d.Seller.VAT == "" {
		errorf("BR-S-02", "standard-rated lines and no seller VAT identifier")
	}
	return d
}

// TestUBLFollowsEN16931: invoices and credit notes of odd orders (accents,
// three rates one of them zero, a discount, shipping; tax-inclusive
// prices; a currency without minor units) pass the rules.
func TestUBLFollowsEN16931(t *testing.T) {
	jpy := inclusiveOrder("o-jpy")
	jpy.Currency = "JPY"
	for i := range jpy.Lines {
		l := &jpy.Lines[i]
		l.UnitPrice.Currency, l.Subtotal.Currency, l.Discount.Currency, l.Tax.Currency, l.Total.Currency = "JPY", "JPY", "JPY", "JPY", "JPY"
	}
	for _, o := range []orderapi.Order{oddOrder("o-odd"), inclusiveOrder("o-incl"), jpy} {
		t.Run(o.ID, func(t *testing.T) {
			inv := invoiceOf(o, testSeller, t0, time.UTC)
			inv.ID, inv.Number = "i-"+o.ID, "INV-2026-000007"
			raw, err := renderUBL(inv)
			if err != nil {
				t.Fatal(err)
			}
			d := checkEN16931(t, raw)
			if d.ID != inv.Number || d.Currency != o.Currency || d.Seller.Name != testSeller.Name || d.Buyer.Name != o.ShippingAddress.Name {
				t.Errorf("read back: %+v", d)
			}
			if !bytes.Contains(raw, []byte("Café moulu « Crème brûlée »")) && o.ID == "o-odd" {
				t.Errorf("accents lost:\n%s", raw)
			}
			for name, parts := range map[string][]part{"whole": wholeParts(inv), "rates": rateParts(inv, nil, "Refund"),
				"return": returnParts(inv, nil, orderapi.Return{Lines: []orderapi.ReturnLine{{SKU: o.Lines[0].SKU, Quantity: 1}}}, 1000)} {
				cn, ok := creditNote(inv, parts, min(1000, inv.Total.Amount), "Réclamation", t0, time.UTC)
				if !ok {
					t.Fatalf("%s: no credit note", name)
				}
				cn.ID, cn.Number = "c", "CN-2026-000001"
				raw, err := renderUBL(cn)
				if err != nil {
					t.Fatal(err)
				}
				if d := checkEN16931(t, raw); d.PrecedingNumber != inv.Number || d.XMLName.Local != "CreditNote" {
					t.Errorf("%s: credit note read back %+v", name, d)
				}
			}
		})
	}
}

// TestUBLRulesCatchErrors: the checker is not a test that cannot fail.
func TestUBLRulesCatchErrors(t *testing.T) {
	inv := invoiceOf(oddOrder("o"), testSeller, t0, time.UTC)
	inv.Number = "INV-2026-000001"
	inv.Tax.Amount++ // the tax total no longer the sum of the rates
	raw, err := renderUBL(inv)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	done := make(chan struct{})
	go func() {
		defer close(done)
		checkEN16931(&rec, raw)
	}()
	<-done
	if len(rec.errors) == 0 || !strings.Contains(strings.Join(rec.errors, "\n"), "BR-CO-14") {
		t.Errorf("a wrong tax total passed the rules: %v", rec.errors)
	}
	// A credit note without its invoice's number fails BR-55.
	cn, _ := creditNote(invoiceOf(oddOrder("o"), testSeller, t0, time.UTC), rateParts(inv, nil, "Refund"), 100, "", t0, time.UTC)
	cn.Number = "CN-2026-000001"
	if raw, err = renderUBL(cn); err != nil {
		t.Fatal(err)
	}
	rec = recorder{}
	done = make(chan struct{})
	go func() {
		defer close(done)
		checkEN16931(&rec, raw)
	}()
	<-done
	if !strings.Contains(strings.Join(rec.errors, "\n"), "BR-55") {
		t.Errorf("a credit note without its invoice passed the rules: %v", rec.errors)
	}
}

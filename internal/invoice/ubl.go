package invoice

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/platform/money"
)

// The structured copy of a document: an EN 16931 invoice (type code 380)
// or credit note (381) in the UBL 2.1 syntax, built with encoding/xml.
// Elements come in the order of the UBL schemas. Amounts are in the
// document's currency with its minor-unit digits; the lines' net amounts,
// shipping as a document-level charge, and tax per rate (category S, or Z
// at 0 %) make the totals the business rules BR-CO-10 to BR-CO-16 ask for.

// The UBL 2.1 namespaces and the EN 16931 specification identifier.
const (
	nsInvoice     = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
	nsCreditNote  = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
	nsCAC         = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
	nsCBC         = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
	customization = "urn:cen.eu:en16931:2017"
	// unitCode C62 is "one" (a unit), of UN/ECE Recommendation 20.
	unitOne = "C62"
)

type ublAmount struct {
	Currency string `xml:"currencyID,attr"`
	Value    string `xml:",chardata"`
}

type ublQuantity struct {
	Unit  string `xml:"unitCode,attr"`
	Value int64  `xml:",chardata"`
}

type ublScheme struct {
	ID string `xml:"cbc:ID"`
}

type ublTaxCategory struct {
	ID        string    `xml:"cbc:ID"`
	Percent   string    `xml:"cbc:Percent"`
	TaxScheme ublScheme `xml:"cac:TaxScheme"`
}

type ublAddress struct {
	Street     string `xml:"cbc:StreetName,omitempty"`
	Additional string `xml:"cbc:AdditionalStreetName,omitempty"`
	City       string `xml:"cbc:CityName,omitempty"`
	PostalZone string `xml:"cbc:PostalZone,omitempty"`
	Region     string `xml:"cbc:CountrySubentity,omitempty"`
	Country    struct {
		Code string `xml:"cbc:IdentificationCode"`
	} `xml:"cac:Country"`
}

type ublPartyTaxScheme struct {
	CompanyID string    `xml:"cbc:CompanyID"`
	TaxScheme ublScheme `xml:"cac:TaxScheme"`
}

type ublParty struct {
	Party struct {
		PostalAddress ublAddress         `xml:"cac:PostalAddress"`
		TaxScheme     *ublPartyTaxScheme `xml:"cac:PartyTaxScheme,omitempty"`
		LegalEntity   struct {
			Name string `xml:"cbc:RegistrationName"`
		} `xml:"cac:PartyLegalEntity"`
		Contact *struct {
			Email string `xml:"cbc:ElectronicMail"`
		} `xml:"cac:Contact,omitempty"`
	} `xml:"cac:Party"`
}

type ublAllowanceCharge struct {
	Charge      bool            `xml:"cbc:ChargeIndicator"`
	Reason      string          `xml:"cbc:AllowanceChargeReason"`
	Amount      ublAmount       `xml:"cbc:Amount"`
	TaxCategory *ublTaxCategory `xml:"cac:TaxCategory,omitempty"`
}

type ublTaxSubtotal struct {
	Taxable     ublAmount      `xml:"cbc:TaxableAmount"`
	Tax         ublAmount      `xml:"cbc:TaxAmount"`
	TaxCategory ublTaxCategory `xml:"cac:TaxCategory"`
}

type ublTaxTotal struct {
	Tax       ublAmount        `xml:"cbc:TaxAmount"`
	Subtotals []ublTaxSubtotal `xml:"cac:TaxSubtotal"`
}

type ublMonetaryTotal struct {
	LineExtension ublAmount  `xml:"cbc:LineExtensionAmount"`
	TaxExclusive  ublAmount  `xml:"cbc:TaxExclusiveAmount"`
	TaxInclusive  ublAmount  `xml:"cbc:TaxInclusiveAmount"`
	ChargeTotal   *ublAmount `xml:"cbc:ChargeTotalAmount,omitempty"`
	Payable       ublAmount  `xml:"cbc:PayableAmount"`
}

type ublLine struct {
	ID string `xml:"cbc:ID"`
	// Quantity is InvoicedQuantity or CreditedQuantity: its XMLName is set
	// per document.
	Quantity      ublLineQuantity
	LineExtension ublAmount            `xml:"cbc:LineExtensionAmount"`
	Allowances    []ublAllowanceCharge `xml:"cac:AllowanceCharge"`
	Item          struct {
		Name    string `xml:"cbc:Name"`
		Sellers *struct {
			ID string `xml:"cbc:ID"`
		} `xml:"cac:SellersItemIdentification,omitempty"`
		TaxCategory ublTaxCategory `xml:"cac:ClassifiedTaxCategory"`
	} `xml:"cac:Item"`
	Price struct {
		Amount       ublAmount   `xml:"cbc:PriceAmount"`
		BaseQuantity ublQuantity `xml:"cbc:BaseQuantity"`
	} `xml:"cac:Price"`
}

type ublLineQuantity struct {
	XMLName xml.Name
	ublQuantity
}

type ublDocRef struct {
	ID        string `xml:"cbc:ID"`
	IssueDate string `xml:"cbc:IssueDate,omitempty"`
}

type ublDocument struct {
	XMLName       xml.Name
	NS            string `xml:"xmlns,attr"`
	NSCAC         string `xml:"xmlns:cac,attr"`
	NSCBC         string `xml:"xmlns:cbc,attr"`
	Customization string `xml:"cbc:CustomizationID"`
	ID            string `xml:"cbc:ID"`
	IssueDate     string `xml:"cbc:IssueDate"`
	// TypeCode is InvoiceTypeCode or CreditNoteTypeCode.
	TypeCode struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	}
	Note           string    `xml:"cbc:Note,omitempty"`
	Currency       string    `xml:"cbc:DocumentCurrencyCode"`
	BuyerReference string    `xml:"cbc:BuyerReference"`
	OrderReference ublDocRef `xml:"cac:OrderReference"`
	Billing        *struct {
		Invoice ublDocRef `xml:"cac:InvoiceDocumentReference"`
	} `xml:"cac:BillingReference,omitempty"`
	Supplier ublParty             `xml:"cac:AccountingSupplierParty"`
	Customer ublParty             `xml:"cac:AccountingCustomerParty"`
	Charges  []ublAllowanceCharge `xml:"cac:AllowanceCharge"`
	TaxTotal ublTaxTotal          `xml:"cac:TaxTotal"`
	Totals   ublMonetaryTotal     `xml:"cac:LegalMonetaryTotal"`
	Lines    []lineElement
}

// lineElement wraps ublLine so that its element name (InvoiceLine or
// CreditNoteLine) is chosen per document.
type lineElement struct {
	XMLName xml.Name
	ublLine
}

// renderUBL is the UBL 2.1 XML of d, with its XML declaration.
func renderUBL(d invoiceapi.Invoice) ([]byte, error) {
	amt := func(a int64) ublAmount { return ublAmount{Currency: d.Currency, Value: decimal(a, d.Currency)} }
	doc := ublDocument{NS: nsInvoice, NSCAC: nsCAC, NSCBC: nsCBC, Customization: customization, ID: d.Number,
		IssueDate: d.IssueDate, Note: d.Reason, Currency: d.Currency, BuyerReference: d.OrderID,
		OrderReference: ublDocRef{ID: d.OrderID}}
	root, typeCode, lineName, qtyName := "Invoice", "InvoiceTypeCode", "InvoiceLine", "InvoicedQuantity"
	code := "380"
	if d.Kind == invoiceapi.KindCreditNote {
		doc.NS = nsCreditNote
		root, typeCode, lineName, qtyName, code = "CreditNote", "CreditNoteTypeCode", "CreditNoteLine", "CreditedQuantity", "381"
		doc.Billing = &struct {
			Invoice ublDocRef `xml:"cac:InvoiceDocumentReference"`
		}{ublDocRef{ID: d.InvoiceNumber}}
	}
	doc.XMLName = xml.Name{Local: root}
	doc.TypeCode.XMLName, doc.TypeCode.Value = xml.Name{Local: "cbc:" + typeCode}, code
	doc.Supplier = ublPartyOf(d.Seller)
	doc.Customer = ublPartyOf(d.Buyer)

	var lineSum int64
	lines := make([]lineElement, 0, len(d.Lines))
	for i, l := range d.Lines {
		u := ublLine{ID: strconv.Itoa(i + 1), LineExtension: amt(l.Net.Amount)}
		u.Quantity = ublLineQuantity{XMLName: xml.Name{Local: "cbc:" + qtyName}, ublQuantity: ublQuantity{Unit: unitOne, Value: l.Quantity}}
		u.Item.Name = l.Title
		if l.SKU != "" {
			u.Item.Sellers = &struct {
				ID string `xml:"cbc:ID"`
			}{l.SKU}
		}
		u.Item.TaxCategory = taxCategory(l.TaxRateBP)
		// Net prices where the store's are net and they add up: the unit
		// price, the discount as the line's allowance. Otherwise (prices
		// with tax included) the line's net amount is the price of its
		// whole quantity (BT-149 base quantity), which is exact.
		gross := l.UnitPrice.Amount * l.Quantity
		if !d.TaxInclusive && l.Quantity > 0 && gross-l.Discount.Amount == l.Net.Amount {
			u.Price.Amount, u.Price.BaseQuantity = amt(l.UnitPrice.Amount), ublQuantity{Unit: unitOne, Value: 1}
			if l.Discount.Amount > 0 {
				u.Allowances = []ublAllowanceCharge{{Reason: "Discount", Amount: amt(l.Discount.Amount)}}
			}
		} else {
			u.Price.Amount, u.Price.BaseQuantity = amt(l.Net.Amount), ublQuantity{Unit: unitOne, Value: max(l.Quantity, 1)}
		}
		lineSum += l.Net.Amount
		lines = append(lines, lineElement{XMLName: xml.Name{Local: "cac:" + lineName}, ublLine: u})
	}
	var charges int64
	if s := d.Shipping; s != nil {
		tc := taxCategory(s.TaxRateBP)
		doc.Charges = append(doc.Charges, ublAllowanceCharge{Charge: true, Reason: s.Title, Amount: amt(s.Net.Amount), TaxCategory: &tc})
		charges += s.Net.Amount
	}
	doc.TaxTotal.Tax = amt(d.Tax.Amount)
	for _, s := range d.TaxSubtotals {
		doc.TaxTotal.Subtotals = append(doc.TaxTotal.Subtotals, ublTaxSubtotal{Taxable: amt(s.Taxable.Amount), Tax: amt(s.Tax.Amount),
			TaxCategory: taxCategory(s.RateBP)})
	}
	doc.Totals = ublMonetaryTotal{LineExtension: amt(lineSum), TaxExclusive: amt(lineSum + charges),
		TaxInclusive: amt(lineSum + charges + d.Tax.Amount), Payable: amt(lineSum + charges + d.Tax.Amount)}
	if charges != 0 {
		c := amt(charges)
		doc.Totals.ChargeTotal = &c
	}

	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	doc.Lines = lines
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", root, d.Number, err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// ublPartyOf is a seller or buyer as UBL has it.
func ublPartyOf(p invoiceapi.Party) ublParty {
	var u ublParty
	a := p.Address
	u.Party.PostalAddress = ublAddress{Street: a.Line1, Additional: a.Line2, City: a.City, PostalZone: a.PostalCode, Region: a.Region}
	u.Party.PostalAddress.Country.Code = a.Country
	if p.TaxID != "" {
		u.Party.TaxScheme = &ublPartyTaxScheme{CompanyID: p.TaxID, TaxScheme: ublScheme{ID: "VAT"}}
	}
	u.Party.LegalEntity.Name = p.Name
	if p.Email != "" {
		u.Party.Contact = &struct {
			Email string `xml:"cbc:ElectronicMail"`
		}{p.Email}
	}
	return u
}

// taxCategory is the VAT category of a rate: standard (S) or zero-rated (Z).
func taxCategory(bp int64) ublTaxCategory {
	id := "S"
	if bp == 0 {
		id = "Z"
	}
	return ublTaxCategory{ID: id, Percent: percent(bp), TaxScheme: ublScheme{ID: "VAT"}}
}

// percent writes basis points as a percentage: 1900 → "19", 750 → "7.5".
func percent(bp int64) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// decimal writes minor units as a decimal number with the currency's
// digits: 1999 EUR → "19.99", 1999 JPY → "1999".
func decimal(minor int64, currency string) string {
	s := money.Money{Amount: minor, Currency: currency}.String()
	return s[strings.IndexByte(s, ' ')+1:]
}

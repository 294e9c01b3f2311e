package csvio

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
)

func shopifyFile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/shopify_products.csv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newEngine(log *bytes.Buffer) (*Engine, *fakeCatalog, *fakeInventory) {
	cat, inv := &fakeCatalog{}, &fakeInventory{}
	e := &Engine{Catalog: cat, Inventory: inv, Stores: fakeStores{"EUR"}, Identity: &fakeIdentity{}}
	if log != nil {
		e.Log = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return e, cat, inv
}

func readReport(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("error report: %v\n%s", err, b)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != "row,column,value,reason" {
		t.Fatalf("error report header: %q", recs)
	}
	recs = recs[1:]
	// Workers write in the order they finish: sort by row.
	slices.SortStableFunc(recs, func(a, b []string) int { x, _ := strconv.Atoi(a[0]); y, _ := strconv.Atoi(b[0]); return x - y })
	return recs
}

func bySlug(t *testing.T, cat *fakeCatalog, slug string) catalogapi.Product {
	t.Helper()
	for _, p := range cat.products {
		if p.Slug == slug {
			return p
		}
	}
	t.Fatalf("no product %s", slug)
	return catalogapi.Product{}
}

// TestShopifyImport: a Shopify product export imports as it is, and the
// second import of the same file changes nothing.
func TestShopifyImport(t *testing.T) {
	ctx := context.Background()
	e, cat, _ := newEngine(nil)
	var rep bytes.Buffer
	s, err := e.Import(ctx, Products, bytes.NewReader(shopifyFile(t)), ImportOptions{Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != 7 || s.Records != 3 || s.Created != 3 || s.Refused != 0 || s.Issues != 0 {
		t.Fatalf("first import: %+v\n%s", s, rep.String())
	}
	tee := bySlug(t, cat, "organic-tee")
	if tee.Slug != "organic-tee" || tee.Title != "Organic Tee" || tee.Status != catalogapi.StatusActive ||
		!strings.Contains(tee.Description, `"relaxed"`) || tee.Attributes["vendor"] != "Acme Apparel" || tee.Attributes["tags"] != "organic, cotton" {
		t.Errorf("tee: %+v", tee)
	}
	if len(tee.Options) != 2 || tee.Options[0].Name != "Size" || strings.Join(tee.Options[0].Values, ",") != "S,M" ||
		strings.Join(tee.Options[1].Values, ",") != "Ecru,Navy" {
		t.Errorf("tee options: %+v", tee.Options)
	}
	if len(tee.Variants) != 4 || tee.Variants[2].SKU != "TEE-M-ECRU" || tee.Variants[2].Price != (money.Money{Amount: 2450, Currency: "EUR"}) ||
		tee.Variants[3].Options["Color"] != "Navy" {
		t.Errorf("tee variants: %+v", tee.Variants)
	}
	if c := tee.Variants[0].CostPrice; c == nil || *c != 950 {
		t.Errorf("tee's Cost per item: %v, want 950", c)
	}
	if len(tee.Images) != 3 || tee.Images[2].URL != "https://cdn.example.com/tee-detail.jpg" || tee.Images[0].Alt != "Organic tee (front)" {
		t.Errorf("tee images: %+v", tee.Images)
	}
	mug := bySlug(t, cat, "stoneware-mug")
	if len(mug.Options) != 0 || len(mug.Variants) != 1 || mug.Variants[0].Price.Amount != 1490 {
		t.Errorf("mug (Title: Default Title is no option): %+v", mug)
	}
	if gift := bySlug(t, cat, "gift-card"); gift.Status != catalogapi.StatusDraft {
		t.Errorf("gift card: status %s, want draft", gift.Status)
	}
	writes := cat.writes
	s, err = e.Import(ctx, Products, bytes.NewReader(shopifyFile(t)), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Unchanged != 3 || s.Created+s.Updated+s.Refused != 0 {
		t.Errorf("second import: %+v", s)
	}
	if cat.writes != writes || len(cat.products) != 3 {
		t.Errorf("second import wrote %d times, %d products", cat.writes-writes, len(cat.products))
	}
	// One change in the file: one product updated, the others left alone.
	changed := bytes.Replace(shopifyFile(t), []byte("14.90"), []byte("15.90"), 1)
	s, err = e.Import(ctx, Products, bytes.NewReader(changed), ImportOptions{})
	if err != nil || s.Updated != 1 || s.Unchanged != 2 || bySlug(t, cat, "stoneware-mug").Variants[0].Price.Amount != 1590 {
		t.Errorf("changed import: %+v, %v", s, err)
	}
	// A file without the cost column leaves the cost prices as they are,
	// even where it changes the product.
	noCost := "sku,title,handle,price\nTEE-S-ECRU,Organic Tee (new),organic-tee,24.00\n"
	if _, err := e.Import(ctx, Products, strings.NewReader(noCost), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if tee := bySlug(t, cat, "organic-tee"); tee.Title != "Organic Tee (new)" || tee.Variants[0].CostPrice == nil || *tee.Variants[0].CostPrice != 950 {
		t.Errorf("an import without costs: %q %v", tee.Title, tee.Variants[0].CostPrice)
	}
}

// TestDryRun checks everything and changes nothing.
func TestDryRun(t *testing.T) {
	e, cat, inv := newEngine(nil)
	s, err := e.Import(context.Background(), Products, bytes.NewReader(shopifyFile(t)), ImportOptions{DryRun: true})
	if err != nil || s.Created != 3 || !s.DryRun {
		t.Fatalf("dry run: %+v, %v", s, err)
	}
	s, err = e.Import(context.Background(), Stock, bytes.NewReader(shopifyFile(t)), ImportOptions{DryRun: true})
	if err != nil || s.Created != 4 || s.Unchanged != 2 || s.Skipped != 1 {
		t.Fatalf("stock dry run: %+v, %v", s, err)
	}
	if cat.writes != 0 || inv.adjustments != 0 {
		t.Errorf("a dry run wrote: %d products, %d adjustments", cat.writes, inv.adjustments)
	}
}

// TestStockImport sets on-hand stock by SKU and location, once.
func TestStockImport(t *testing.T) {
	ctx := context.Background()
	e, _, inv := newEngine(nil)
	file := "sku,location,on_hand\nMUG-1,,10\nMUG-1,shop,3\nTEE-1,default,0\nBAD SKU,,1\nMUG-2,,-4\nMUG-3,Main Hall,2\n"
	var rep bytes.Buffer
	s, err := e.Import(ctx, Stock, strings.NewReader(file), ImportOptions{Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	// TEE-1 at 0 where nothing was recorded is already right: unchanged.
	if s.Created != 2 || s.Updated != 0 || s.Unchanged != 1 || s.Refused != 3 {
		t.Errorf("first import: %+v", s)
	}
	if inv.stock["MUG-1"]["default"] != 10 || inv.stock["MUG-1"]["shop"] != 3 {
		t.Errorf("stock: %v", inv.stock)
	}
	issues := readReport(t, rep.Bytes())
	if len(issues) != 3 || issues[0][0] != "5" || issues[0][1] != "sku" || issues[1][0] != "6" || issues[1][1] != "on_hand" || issues[2][1] != "location" {
		t.Errorf("report: %q", issues)
	}
	n := inv.adjustments
	s, err = e.Import(ctx, Stock, strings.NewReader(file), ImportOptions{})
	if err != nil || s.Unchanged != 3 || s.Created+s.Updated != 0 || inv.adjustments != n {
		t.Errorf("second import: %+v, %v, %d adjustments", s, err, inv.adjustments-n)
	}
	// A count taken down is an adjustment of the difference.
	s, err = e.Import(ctx, Stock, strings.NewReader("SKU,Quantity\nMUG-1,4\n"), ImportOptions{})
	if err != nil || s.Updated != 1 || inv.stock["MUG-1"]["default"] != 4 {
		t.Errorf("third import: %+v, %v, %v", s, err, inv.stock)
	}
	// The rows of one SKU apply in file order, whatever the workers: the
	// last one wins.
	var many strings.Builder
	many.WriteString("sku,on_hand\n")
	for i := range 200 {
		many.WriteString("SKU-" + string(rune('A'+i%5)) + "," + strconv.Itoa(i) + "\n")
	}
	if _, err := e.Import(ctx, Stock, strings.NewReader(many.String()), ImportOptions{Workers: 8}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if got := inv.stock["SKU-"+string(rune('A'+i))]["default"]; got != int64(195+i) {
			t.Errorf("SKU-%c: %d, want %d", 'A'+i, got, 195+i)
		}
	}
}

// TestPersonalDataRefused: rows with personal data are refused and named;
// the value reaches neither the services, the report nor the log.
func TestPersonalDataRefused(t *testing.T) {
	const card, iban, hash = "4111 1111 1111 1111", "GB82WEST12345698765432", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	file := "handle,title,description,sku,price,password\n" +
		"a,A,\"card " + card + "\",A-1,1.00,\n" +
		"b,B,plain,B-1,2.00,\n" +
		"c,C,refund to " + iban + ",C-1,3.00,\n" +
		"d,D,plain,D-1,4.00,hunter22\n" +
		"e,E," + hash + ",E-1,5.00,\n" +
		"f,F,mail ada@example.com,F-1,6.00,\n"
	var log, rep bytes.Buffer
	e, cat, _ := newEngine(&log)
	s, err := e.Import(context.Background(), Products, strings.NewReader(file), ImportOptions{Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	if s.Created != 1 || s.Refused != 5 || len(cat.products) != 1 || cat.products[0].Title != "B" {
		t.Fatalf("summary %+v, products %+v", s, cat.products)
	}
	issues := readReport(t, rep.Bytes())
	want := map[string]string{"2": "****1111", "4": "****5432", "5": "****", "6": "****", "7": "a***@example.com"}
	for _, is := range issues {
		if want[is[0]] != is[2] {
			t.Errorf("row %s: masked %q, want %q (%s)", is[0], is[2], want[is[0]], is[3])
		}
		delete(want, is[0])
	}
	if len(want) != 0 {
		t.Errorf("rows not reported: %v", want)
	}
	for _, raw := range []string{card, strings.ReplaceAll(card, " ", ""), iban, "hunter22", hash, "ada@example.com"} {
		if strings.Contains(rep.String(), raw) || strings.Contains(log.String(), raw) {
			t.Errorf("%q is in the report or the log:\n%s\n%s", raw, rep.String(), log.String())
		}
	}
	if !strings.Contains(log.String(), "csv import") {
		t.Errorf("nothing logged: %s", log.String())
	}
}

// TestExportRoundTrip: a product export imports back as all unchanged, and
// a cell that a spreadsheet would run is neutralised.
func TestExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	e, cat, inv := newEngine(nil)
	if _, err := e.Import(ctx, Products, bytes.NewReader(shopifyFile(t)), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Import(ctx, Stock, bytes.NewReader(shopifyFile(t)), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	mug := slices.IndexFunc(cat.products, func(p catalogapi.Product) bool { return p.Slug == "stoneware-mug" })
	cat.products[mug].Title = `=HYPERLINK("http://evil.example","x")`
	var out bytes.Buffer
	res, err := e.Export(ctx, Products, &out, ExportOptions{})
	if err != nil || res.Rows != 6 {
		t.Fatalf("export: %+v, %v\n%s", res, err, out.String())
	}
	if !strings.Contains(out.String(), `'=HYPERLINK(`) {
		t.Errorf("formula not neutralised:\n%s", out.String())
	}
	cat.products[mug].Title = "Stoneware Mug"
	out.Reset()
	if _, err := e.Export(ctx, Products, &out, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	writes := cat.writes
	s, err := e.Import(ctx, Products, &out, ImportOptions{})
	if err != nil || s.Unchanged != 3 || cat.writes != writes {
		t.Errorf("round trip: %+v, %v\n", s, err)
	}
	out.Reset()
	if _, err := e.Export(ctx, Stock, &out, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	n := inv.adjustments
	s, err = e.Import(ctx, Stock, &out, ImportOptions{})
	if err != nil || s.Unchanged != 4 || inv.adjustments != n {
		t.Errorf("stock round trip: %+v, %v", s, err)
	}
}

// TestOrderExportMasks: personal data is masked unless asked for.
func TestOrderExportMasks(t *testing.T) {
	o := orderapi.Order{ID: "o1", Status: "confirmed", Email: "ada@example.com", Currency: "EUR", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		ShippingAddress: orderapi.Address{Name: "Ada Lovelace", Line1: "12 Analytical Row", City: "London", PostalCode: "N1 9GU", Country: "GB"},
		Lines:           []orderapi.Line{{SKU: "MUG-1", Title: "-Mug", Quantity: 2, UnitPrice: money.Money{Amount: 1490, Currency: "EUR"}, Total: money.Money{Amount: 2980, Currency: "EUR"}}},
		Total:           money.Money{Amount: 2980, Currency: "EUR"}}
	ids := &fakeIdentity{}
	e := &Engine{Orders: fakeOrders{[]orderapi.Order{o}}, Identity: ids}
	var out bytes.Buffer
	res, err := e.Export(context.Background(), Orders, &out, ExportOptions{})
	if err != nil || res.Rows != 1 || !res.Masked {
		t.Fatalf("export: %+v, %v", res, err)
	}
	for _, raw := range []string{"ada@example.com", "Lovelace", "Analytical", "N1 9GU"} {
		if strings.Contains(out.String(), raw) {
			t.Errorf("masked export has %q:\n%s", raw, out.String())
		}
	}
	if !strings.Contains(out.String(), "a***@example.com") || !strings.Contains(out.String(), "A** L*******") || !strings.Contains(out.String(), "'-Mug") {
		t.Errorf("masked export:\n%s", out.String())
	}
	out.Reset()
	res, err = e.Export(context.Background(), Orders, &out, ExportOptions{Unmasked: true})
	if err != nil || res.Masked || !strings.Contains(out.String(), "ada@example.com,Ada Lovelace,12 Analytical Row,London,N1 9GU") {
		t.Errorf("unmasked export: %+v %v\n%s", res, err, out.String())
	}
	// A role that may not see personal data asks in vain.
	ids.masked = true
	out.Reset()
	res, err = e.Export(context.Background(), Orders, &out, ExportOptions{Unmasked: true})
	if err != nil || !res.Masked || strings.Contains(out.String(), "ada@example.com") {
		t.Errorf("unmasked export for a masked role: %+v %v\n%s", res, err, out.String())
	}
	// Every export is in the audit log, masked or not.
	want := []identityapi.ExportRecord{{Kind: "orders", Rows: 1, Masked: true, Via: "cli"}, {Kind: "orders", Rows: 1, Masked: false, Via: "cli"},
		{Kind: "orders", Rows: 1, Masked: true, Via: "cli"}}
	if !slices.Equal(ids.audit, want) {
		t.Errorf("audit log: %+v", ids.audit)
	}
}

// TestCustomerImport: customers by email, twice without a change; emails
// and phones only in their columns; a masked export cannot come back in.
func TestCustomerImport(t *testing.T) {
	ctx := context.Background()
	ids := &fakeIdentity{}
	e := &Engine{Identity: ids}
	file := "Email,First Name,Last Name,Phone,Note\n" +
		"ada@example.com,Ada,Lovelace,+44 20 7946 0000,\n" +
		"bob@example.com,Bob,Babbage,,call +44 20 7946 0001\n" +
		"cy@example.com,cy@example.com,,,\n" +
		"dee@example.com,Dee,,,\n"
	var rep bytes.Buffer
	s, err := e.Import(ctx, Customers, strings.NewReader(file), ImportOptions{Report: &rep})
	if err != nil || s.Created != 2 || s.Refused != 2 {
		t.Fatalf("import: %+v, %v\n%s", s, err, rep.String())
	}
	issues := readReport(t, rep.Bytes())
	if len(issues) != 2 || issues[0][0] != "3" || issues[0][1] != "Note" || issues[1][0] != "4" || issues[1][1] != "First Name" {
		t.Errorf("report: %q", issues)
	}
	if strings.Contains(rep.String(), "7946 0001") || strings.Contains(rep.String(), "cy@example.com") {
		t.Errorf("the report repeats personal data:\n%s", rep.String())
	}
	writes := ids.writes
	s, err = e.Import(ctx, Customers, strings.NewReader(file), ImportOptions{})
	if err != nil || s.Unchanged != 2 || s.Created+s.Updated != 0 || ids.writes != writes {
		t.Errorf("second import: %+v, %v", s, err)
	}
	// An unmasked export reads back unchanged; a masked one is refused.
	var out bytes.Buffer
	if _, err := e.Export(ctx, Customers, &out, ExportOptions{Unmasked: true}); err != nil {
		t.Fatal(err)
	}
	s, err = e.Import(ctx, Customers, bytes.NewReader(out.Bytes()), ImportOptions{})
	if err != nil || s.Unchanged != 2 || s.Refused != 0 {
		t.Errorf("unmasked round trip: %+v, %v\n%s", s, err, out.String())
	}
	out.Reset()
	res, err := e.Export(ctx, Customers, &out, ExportOptions{})
	if err != nil || !res.Masked || strings.Contains(out.String(), "ada@") {
		t.Fatalf("masked export: %+v, %v\n%s", res, err, out.String())
	}
	s, err = e.Import(ctx, Customers, bytes.NewReader(out.Bytes()), ImportOptions{})
	if err != nil || s.Refused != 2 || ids.writes != writes {
		t.Errorf("masked round trip: %+v, %v", s, err)
	}
}

// TestColumnsAbsentAreKept: a file without a column leaves that field as
// the store has it, and reads as unchanged the second time; other
// attributes than vendor, type and tags stay.
func TestColumnsAbsentAreKept(t *testing.T) {
	ctx := context.Background()
	e, cat, _ := newEngine(nil)
	cat.products = []catalogapi.Product{{ID: "p1", Slug: "mug", Title: "Mug", Description: "Written in the admin", Status: catalogapi.StatusActive,
		Attributes: map[string]string{"origin": "Stoke", "vendor": "Old"},
		Images:     []catalogapi.Image{{URL: "/media/mug.jpg"}},
		Variants:   []catalogapi.Variant{{SKU: "MUG-1", Price: money.Money{Amount: 1200, Currency: "EUR"}}}}}
	file := "sku,title,price,vendor\nMUG-1,Mug,12.00,Clay & Co\n"
	s, err := e.Import(ctx, Products, strings.NewReader(file), ImportOptions{})
	if err != nil || s.Updated != 1 {
		t.Fatalf("import: %+v, %v", s, err)
	}
	p := cat.products[0]
	if p.Description != "Written in the admin" || p.Status != catalogapi.StatusActive || len(p.Images) != 1 ||
		p.Attributes["origin"] != "Stoke" || p.Attributes["vendor"] != "Clay & Co" {
		t.Errorf("after the import: %+v", p)
	}
	writes := cat.writes
	s, err = e.Import(ctx, Products, strings.NewReader(file), ImportOptions{})
	if err != nil || s.Unchanged != 1 || cat.writes != writes {
		t.Errorf("second import: %+v, %v", s, err)
	}
}

// deniedCatalog refuses the credentials, as the catalog does a staff
// member whose role may not write products.
type deniedCatalog struct{ fakeCatalog }

func (*deniedCatalog) AdminProducts(context.Context, catalogapi.AdminListParams) (catalogapi.ProductList, error) {
	return catalogapi.ProductList{}, &apiclient.Error{Status: 403, Code: "forbidden", Detail: "your role may not"}
}

// TestImportStops: credentials that may not import stop the import with
// the service's answer instead of refusing every row; a broken row is
// refused and the rest read; progress ends at the last row.
func TestImportStops(t *testing.T) {
	e := &Engine{Catalog: &deniedCatalog{}, Stores: fakeStores{"EUR"}}
	_, err := e.Import(context.Background(), Products, bytes.NewReader(shopifyFile(t)), ImportOptions{})
	if !apiclient.IsStatus(err, 403) {
		t.Fatalf("import as a role that may not: %v", err)
	}
	e2, _, inv := newEngine(nil)
	var last atomic.Int64
	var rep bytes.Buffer
	s, err := e2.Import(context.Background(), Stock, strings.NewReader("sku,on_hand\nA-1,1,extra\nA-2,2\n"),
		ImportOptions{Report: &rep, Progress: func(n int64) { last.Store(n) }})
	if err != nil || s.Refused != 1 || s.Created != 1 || inv.stock["A-2"]["default"] != 2 || last.Load() != 2 {
		t.Errorf("%+v, %v, progress %d\n%s", s, err, last.Load(), rep.String())
	}
	if _, err := e2.Import(context.Background(), Stock, strings.NewReader("sku,count\nA-1,1\n"), ImportOptions{}); err == nil {
		t.Error("a stock file without a quantity column was taken")
	}
	if _, err := e2.Import(context.Background(), Kind("invoices"), strings.NewReader("x\n"), ImportOptions{}); !errors.Is(err, ErrKind) {
		t.Errorf("unknown kind: %v", err)
	}
}

// TestHeaderPersonalDataRefused: a header cell holding personal data (a
// file whose first line is a customer) refuses the file, masked: the value
// is in no error, ignored list or report.
func TestHeaderPersonalDataRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		kind              Kind
		file, raw, masked string
	}{
		{Customers, "ada@example.com,Ada Lovelace,+44 20 7946 0000\nbob@example.com,Bob,\n", "ada@example.com", "a***@example.com"},
		{Products, "sku,title,4111 1111 1111 1111\nA-1,A,x\n", "4111 1111 1111 1111", "****1111"},
		{Stock, "sku,on_hand,=GB82WEST12345698765432\nA-1,1,x\n", "GB82WEST12345698765432", "****5432"},
	} {
		e, _, _ := newEngine(nil)
		var rep, log bytes.Buffer
		e.Log = slog.New(slog.NewTextHandler(&log, nil))
		s, err := e.Import(ctx, tc.kind, strings.NewReader(tc.file), ImportOptions{Report: &rep})
		if err == nil {
			t.Fatalf("%s: header with personal data accepted: %+v", tc.kind, s)
		}
		if !strings.Contains(err.Error(), tc.masked) || !strings.Contains(err.Error(), "header") {
			t.Errorf("%s: error %q, want the masked %q", tc.kind, err, tc.masked)
		}
		all := err.Error() + rep.String() + log.String() + strings.Join(s.Ignored, ",")
		if strings.Contains(all, tc.raw) || strings.Contains(strings.ReplaceAll(all, " ", ""), strings.ReplaceAll(tc.raw, " ", "")) {
			t.Errorf("%s: the raw header value is out: %s", tc.kind, all)
		}
		if s.Rows != 0 || s.Created != 0 {
			t.Errorf("%s: rows read after a refused header: %+v", tc.kind, s)
		}
	}
}

// TestStockChangeRepeats: the same change again — later in one file, or in
// a later run within the inventory's 24 hours of idempotency keys — is
// applied, not answered from the first time; a product created again in a
// later run gets a key of its own.
func TestStockChangeRepeats(t *testing.T) {
	ctx := context.Background()
	e, cat, inv := newEngine(nil)
	if _, err := e.Import(ctx, Stock, strings.NewReader("sku,on_hand\nA-1,5\nA-1,10\nA-1,5\nA-1,10\n"), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := inv.stock["A-1"]["default"]; got != 10 || inv.adjustments != 4 {
		t.Errorf("one file 5, 10, 5, 10: on hand %d after %d adjustments, want 10 after 4", got, inv.adjustments)
	}
	for i, want := range []int64{5, 10, 5, 10} {
		if _, err := e.Import(ctx, Stock, strings.NewReader("sku,on_hand\nB-1,"+strconv.FormatInt(want, 10)+"\n"), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := inv.stock["B-1"]["default"]; got != want {
			t.Errorf("run %d: on hand %d, want %d", i+1, got, want)
		}
	}
	file := "sku,title,price\nMUG-1,Mug,12.00\n"
	for range 2 {
		if _, err := e.Import(ctx, Products, strings.NewReader(file), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		cat.products = nil // deleted in the admin between the runs
	}
	if len(cat.keys) != 2 || cat.keys[0] == cat.keys[1] {
		t.Errorf("create keys of two runs: %q", cat.keys)
	}
}

// TestCustomerFileWithoutPhone: a file with no phone column leaves the
// accounts' phones as they are, and reads as unchanged.
func TestCustomerFileWithoutPhone(t *testing.T) {
	ctx := context.Background()
	ids := &fakeIdentity{customers: []identityapi.Customer{{ID: "1", Email: "ada@example.com", Name: "Ada Lovelace", Phone: "+44 20 7946 0000"}}}
	e := &Engine{Identity: ids}
	s, err := e.Import(ctx, Customers, strings.NewReader("email,name\nada@example.com,Ada Lovelace\n"), ImportOptions{})
	if err != nil || s.Unchanged != 1 || ids.writes != 0 || ids.customers[0].Phone != "+44 20 7946 0000" {
		t.Fatalf("import: %+v, %v, %+v", s, err, ids.customers)
	}
	// With the column, an empty cell clears the phone.
	s, err = e.Import(ctx, Customers, strings.NewReader("email,name,phone\nada@example.com,Ada Lovelace,\n"), ImportOptions{})
	if err != nil || s.Updated != 1 || ids.customers[0].Phone != "" {
		t.Fatalf("import with an empty phone: %+v, %v, %+v", s, err, ids.customers)
	}
}

// TestReportNeutralised: every cell of the error report is neutralised,
// the column (named by the file) and the reason as well as the value.
func TestReportNeutralised(t *testing.T) {
	e, _, _ := newEngine(nil)
	var rep bytes.Buffer
	file := "sku,title,price,=HYPERLINK(\"x\")\nA-1,A,1.00,mail ada@example.com\n"
	if _, err := e.Import(context.Background(), Products, strings.NewReader(file), ImportOptions{Report: &rep}); err != nil {
		t.Fatal(err)
	}
	recs := readReport(t, rep.Bytes())
	if len(recs) != 1 {
		t.Fatalf("report: %q", recs)
	}
	for _, cell := range recs[0] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("cell %q of the report is a formula: %q", cell, recs[0])
		}
	}
	if recs[0][1] != "'=HYPERLINK(\"x\")" {
		t.Errorf("column %q", recs[0][1])
	}
	r := &report{}
	var b bytes.Buffer
	r.w = csv.NewWriter(&b)
	_ = r.add(Issue{Row: 2, Column: "sku", Reason: "-1 is no quantity"})
	_ = r.flush()
	if !strings.Contains(b.String(), "'-1 is no quantity") {
		t.Errorf("reason not neutralised: %s", b.String())
	}
}

// TestRecordBounded: an unclosed quote does not pull the rest of the file
// into one cell: past 1 MiB for one row the import stops, saying so; a
// large file of normal rows is read whole.
func TestRecordBounded(t *testing.T) {
	ctx := context.Background()
	e, _, inv := newEngine(nil)
	var f strings.Builder
	f.WriteString("sku,on_hand\nA-1,1\nB-1,\"2\n")
	for f.Len() < 3<<20 {
		f.WriteString("C-1,3\n")
	}
	s, err := e.Import(ctx, Stock, strings.NewReader(f.String()), ImportOptions{})
	if !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "row 3") {
		t.Fatalf("unclosed quote: %+v, %v", s, err)
	}
	if inv.stock["C-1"] != nil {
		t.Errorf("rows after the unclosed quote were imported: %v", inv.stock)
	}
	f.Reset()
	f.WriteString("sku,on_hand\n")
	for i := 0; f.Len() < 3<<20; i++ {
		f.WriteString("S-" + strconv.Itoa(i%100) + ",3\n")
	}
	s, err = e.Import(ctx, Stock, strings.NewReader(f.String()), ImportOptions{})
	if err != nil || s.Rows < 100000 {
		t.Fatalf("3 MiB of short rows: %+v, %v", s, err)
	}
	// A header alone larger than the bound is refused too.
	_, err = e.Import(ctx, Stock, strings.NewReader("\"sku"+strings.Repeat("x", 2<<20)+"\n"), ImportOptions{})
	if !errors.Is(err, ErrRecordTooLarge) {
		t.Errorf("huge header: %v", err)
	}
}

// auditWatch is an export's output that notes, at its first write, whether
// the export was in the audit log already.
type auditWatch struct {
	ids                *fakeIdentity
	wrote, loggedFirst bool
}

func (a *auditWatch) Write(p []byte) (int, error) {
	if !a.wrote {
		a.wrote = true
		a.ids.mu.Lock()
		a.loggedFirst = len(a.ids.audit) == 1 && a.ids.audit[0].InProgress
		a.ids.mu.Unlock()
	}
	return len(p), nil
}

// TestExportAuditedFirst: an export is in the audit log before its first
// row goes out, and finished with its rows at the end; when the log cannot
// be written, nothing is exported.
func TestExportAuditedFirst(t *testing.T) {
	ctx := context.Background()
	ids := &fakeIdentity{customers: []identityapi.Customer{{ID: "1", Email: "ada@example.com", Name: "Ada"}}}
	e := &Engine{Identity: ids}
	w := &auditWatch{ids: ids}
	res, err := e.Export(ctx, Customers, w, ExportOptions{Via: "admin"})
	if err != nil || res.Rows != 1 || !w.loggedFirst {
		t.Fatalf("export: %+v, %v; in the log before the first row: %v", res, err, w.loggedFirst)
	}
	if want := (identityapi.ExportRecord{Kind: "customers", Rows: 1, Masked: true, Via: "admin"}); len(ids.audit) != 1 || ids.audit[0] != want {
		t.Errorf("audit log: %+v", ids.audit)
	}
	ids.auditDown = true
	var out bytes.Buffer
	if _, err := e.Export(ctx, Customers, &out, ExportOptions{}); err == nil || out.Len() != 0 {
		t.Errorf("export without its audit entry: %v, %d bytes out", err, out.Len())
	}
}

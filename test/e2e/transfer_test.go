package e2e

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mercato/mercato/test/harness"
)

// mercatoCLI runs the binary as a client of p and returns its stdout.
func mercatoCLI(t *testing.T, p *harness.Proc, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary, append(args, "-server="+p.URL)...)
	cmd.Env = append(os.Environ(), "MERCATO_TOKEN="+p.Token)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// TestImportExport walks `mercato import` and `mercato export` against a
// running server: a Shopify export imports as it is, a second import
// changes nothing, stock follows, personal data is refused and never
// stored, and an export reads back.
func TestImportExport(t *testing.T) {
	t.Parallel()
	p := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-seed-demo=false")
	dir := t.TempDir()
	shopify, err := os.ReadFile("../../internal/csvio/testdata/shopify_products.csv")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(file, shopify, 0o600); err != nil {
		t.Fatal(err)
	}

	out, errOut, err := mercatoCLI(t, p, "import", "products", file, "-dry-run")
	if err != nil || !strings.Contains(out, "3 created") || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: %v\n%s\n%s", err, out, errOut)
	}
	if r := p.Call("GET", "/api/v1/admin/products?sku=TEE-S-ECRU", nil, p.Admin()); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"items":[]`)) {
		t.Fatalf("the dry run created a product: %d %s", r.Status, r.Body)
	}
	out, errOut, err = mercatoCLI(t, p, "import", "products", file)
	if err != nil || !strings.Contains(out, "3 created, 0 updated, 0 unchanged, 0 refused") {
		t.Fatalf("first import: %v\n%s\n%s", err, out, errOut)
	}
	var list struct {
		Items []product `json:"items"`
	}
	r := p.Call("GET", "/api/v1/admin/products?sku=TEE-M-NAVY", nil, p.Admin())
	r.JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Slug != "organic-tee" || len(list.Items[0].Variants) != 4 || len(list.Items[0].Images) != 3 ||
		list.Items[0].Variants[3].Price.Amount != 2450 {
		t.Fatalf("imported tee: %s", r.Body)
	}
	before := p.Call("GET", "/api/v1/admin/products", nil, p.Admin()).Body
	out, errOut, err = mercatoCLI(t, p, "import", "products", file)
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 3 unchanged, 0 refused") {
		t.Fatalf("second import: %v\n%s\n%s", err, out, errOut)
	}
	if after := p.Call("GET", "/api/v1/admin/products", nil, p.Admin()).Body; !bytes.Equal(before, after) {
		t.Errorf("the second import changed the catalog:\n%s\n%s", before, after)
	}

	// The same Shopify file carries the stock.
	out, errOut, err = mercatoCLI(t, p, "import", "stock", file)
	if err != nil || !strings.Contains(out, "4 created") || !strings.Contains(out, "1 rows skipped") {
		t.Fatalf("stock import: %v\n%s\n%s", err, out, errOut)
	}
	if r := p.Call("GET", "/api/v1/admin/inventory/MUG-STONE", nil, p.Admin()); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"on_hand":40`)) {
		t.Fatalf("stock of MUG-STONE: %d %s", r.Status, r.Body)
	}
	ledger := p.Call("GET", "/api/v1/admin/inventory/movements?limit=100", nil, p.Admin()).Body
	out, errOut, err = mercatoCLI(t, p, "import", "stock", file)
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 6 unchanged") {
		t.Fatalf("second stock import: %v\n%s\n%s", err, out, errOut)
	}
	if after := p.Call("GET", "/api/v1/admin/inventory/movements?limit=100", nil, p.Admin()).Body; !bytes.Equal(ledger, after) {
		t.Errorf("the second stock import moved stock:\n%s\n%s", ledger, after)
	}

	// Personal data is refused, named by row, masked in the report, and
	// stored or logged nowhere.
	const card = "4111 1111 1111 1111"
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("handle,title,description,sku,price\nok,Fine Mug,plain,OK-1,5.00\nleak,Leaky Mug,paid with "+card+",LEAK-1,5.00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = mercatoCLI(t, p, "import", "products", bad)
	if err != nil || !strings.Contains(out, "1 created, 0 updated, 0 unchanged, 1 refused") {
		t.Fatalf("import with a card number: %v\n%s\n%s", err, out, errOut)
	}
	report, err := os.ReadFile(filepath.Join(dir, "bad.errors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(report)).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][0] != "3" || recs[1][1] != "description" || recs[1][2] != "****1111" {
		t.Fatalf("error report: %v %q", err, recs)
	}
	for _, where := range []string{string(report), out, errOut, p.Stdout.String(), p.Stderr.String(),
		string(p.Call("GET", "/api/v1/admin/products", nil, p.Admin()).Body)} {
		if strings.Contains(where, card) || strings.Contains(where, strings.ReplaceAll(card, " ", "")) {
			t.Fatalf("the card number got through:\n%s", where)
		}
	}

	// An export reads back as all unchanged.
	exported := filepath.Join(dir, "export.csv")
	_, errOut, err = mercatoCLI(t, p, "export", "products", "-o", exported)
	if err != nil || !strings.Contains(errOut, "exported 7 products rows") {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	if fi, err := os.Stat(exported); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the export file: %v, %v: want mode 0600 (it may hold personal data)", fi, err)
	}
	out, errOut, err = mercatoCLI(t, p, "import", "products", exported)
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 4 unchanged, 0 refused") {
		t.Fatalf("re-import of the export: %v\n%s\n%s", err, out, errOut)
	}
	out, errOut, err = mercatoCLI(t, p, "export", "stock")
	if err != nil || !strings.Contains(out, "MUG-STONE,default,40,0,40,") {
		t.Fatalf("stock export: %v\n%s\n%s", err, out, errOut)
	}

	// Customers by email, without passwords; twice changes nothing.
	people := filepath.Join(dir, "customers.csv")
	if err := os.WriteFile(people, []byte("Email,First Name,Last Name,Phone\nada@example.com,Ada,Lovelace,+44 20 7946 0000\nbob@example.com,Bob,Babbage,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var accounts []byte
	for i, want := range []string{"2 created, 0 updated, 0 unchanged", "0 created, 0 updated, 2 unchanged"} {
		out, errOut, err = mercatoCLI(t, p, "import", "customers", people)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("customer import %d: %v\n%s\n%s", i+1, err, out, errOut)
		}
		now := p.Call("GET", "/api/v1/admin/customers", nil, p.Admin()).Body
		if i == 1 && !bytes.Equal(accounts, now) {
			t.Errorf("the second customer import changed the accounts:\n%s\n%s", accounts, now)
		}
		accounts = now
	}
	if r := p.Call("POST", "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": ""}, nil); r.Status == 200 {
		t.Fatalf("an imported account without a password signed in: %s", r.Body)
	}
	out, _, err = mercatoCLI(t, p, "export", "customers")
	if err != nil || !strings.Contains(out, "a***@example.com,A** L*******") || strings.Contains(out, "ada@") {
		t.Fatalf("masked customer export: %v\n%s", err, out)
	}
	out, _, err = mercatoCLI(t, p, "export", "customers", "-unmasked")
	if err != nil || !strings.Contains(out, "ada@example.com,Ada Lovelace,'+44 20 7946 0000") {
		t.Fatalf("unmasked customer export for the admin token: %v\n%s", err, out)
	}
	// An order, exported one row per line with the buyer masked, then in
	// the clear for the admin token.
	var order harness.Response
	waitFor(t, "the imported mug to sell", func() (bool, string) {
		order = p.Call("POST", "/api/v1/checkout", checkoutBody("grace@example.com", "tok_visa", map[string]int{"MUG-STONE": 2}),
			map[string]string{"Idempotency-Key": "csv-order-1"})
		return order.Status == 201 || order.Status == 200, string(order.Body)
	})
	out, _, err = mercatoCLI(t, p, "export", "orders")
	if err != nil || !strings.Contains(out, "g***@example.com,A** L*******") || !strings.Contains(out, ",MUG-STONE,Stoneware Mug – Default,2,14.90,29.80,") ||
		strings.Contains(out, "grace@") || strings.Contains(out, "Hauptstraße") {
		t.Fatalf("masked order export: %v\n%s", err, out)
	}
	out, _, err = mercatoCLI(t, p, "export", "orders", "-unmasked")
	if err != nil || !strings.Contains(out, "grace@example.com,Ada Lovelace,Hauptstraße 1,Berlin,10115,DE") {
		t.Fatalf("unmasked order export: %v\n%s", err, out)
	}

	// Every export is in the audit log.
	var audit struct {
		Items []struct {
			Kind   string `json:"kind"`
			Rows   int64  `json:"rows"`
			Masked bool   `json:"masked"`
			Actor  string `json:"actor_kind"`
			Via    string `json:"via"`
			// Every export here finished its entry.
			InProgress bool `json:"in_progress"`
		} `json:"items"`
	}
	r = p.Call("GET", "/api/v1/admin/exports", nil, p.Admin())
	r.JSON(t, &audit)
	if len(audit.Items) != 6 || audit.Items[0].Kind != "orders" || audit.Items[0].Masked || !audit.Items[1].Masked ||
		audit.Items[0].Rows != 1 || audit.Items[0].Actor != "admin" || audit.Items[0].Via != "cli" ||
		audit.Items[2].Kind != "customers" || audit.Items[2].Masked || audit.Items[2].Rows != 2 || !audit.Items[3].Masked || audit.Items[5].Kind != "products" {
		t.Fatalf("audit log: %s", r.Body)
	}
	for _, it := range audit.Items {
		if it.InProgress {
			t.Fatalf("an export left its entry in progress: %s", r.Body)
		}
	}
}

package web

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// upload sends the import form as a browser does (multipart) and follows
// the redirect to the import's page.
func (v *visitor) uploadCSV(kind, name string, content []byte, extra ...string) page {
	v.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", kind)
	for _, e := range extra {
		_ = mw.WriteField(e, "1")
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		v.t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, v.p.URL+"/admin/import-export", &body)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Host = v.host
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := v.hc.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, URL: resp.Request.URL.RequestURI(), Body: string(raw), Header: resp.Header}
}

// awaitImport reads an import's page until the import is done.
func (v *visitor) awaitImport(pg page) page {
	v.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Contains(pg.Body, "data-poll") {
		if time.Now().After(deadline) {
			v.t.Fatalf("the import did not finish within 60s:\n%.3000s", pg.Body)
		}
		time.Sleep(100 * time.Millisecond)
		pg = v.get(pg.URL)
	}
	return pg
}

// TestAdminImportExport: an owner imports a Shopify file on the Import /
// export page, follows it to the end, imports a file with a card number
// and downloads the masked error report, and exports, which the log shows.
func TestAdminImportExport(t *testing.T) {
	p := start(t)
	alpha := signupOwnedStore(t, p, "alpha")
	owner := newVisitor(t, p, alpha.host)
	signInAdminAs(t, owner, alpha.email, alpha.password)

	pg := owner.get("/admin/import-export")
	checkPage(t, "import page", pg, 200, "<h1>Import / export</h1>", `enctype="multipart/form-data"`, `href="/admin/import-export"`, "No exports yet")

	shopify, err := os.ReadFile("../../internal/csvio/testdata/shopify_products.csv")
	if err != nil {
		t.Fatal(err)
	}
	pg = owner.uploadCSV("products", "shopify.csv", shopify)
	if !strings.HasPrefix(pg.URL, "/admin/import-export/imports/") {
		t.Fatalf("after the upload: %d at %s\n%.3000s", pg.Status, pg.URL, pg.Body)
	}
	pg = owner.awaitImport(pg)
	checkPage(t, "import done", pg, 200, "Import of shopify.csv", "Done: 7 rows read", `<th scope="row">Created</th><td>3</td>`, "No row was refused")

	// A card number: refused, and the report shows it masked.
	pg = owner.awaitImport(owner.uploadCSV("products", "leak.csv", []byte("handle,title,description,sku,price\nleak,Leaky,card 4111 1111 1111 1111,LEAK-1,5.00\n")))
	checkPage(t, "import with a card", pg, 200, `<th scope="row">Refused</th><td>1</td>`, "Download the error report")
	checkLacks(t, "import with a card", pg, "4111")
	report := owner.get(matchIn(t, "report link", `href="(/admin/import-export/imports/[^"]+/errors.csv)"`, pg.Body))
	if report.Status != 200 || !strings.Contains(report.Body, "2,description,****1111,card_number") || strings.Contains(report.Body, "4111 1111") {
		t.Fatalf("error report: %d\n%s", report.Status, report.Body)
	}

	// Nothing to import is said on the form.
	pg = owner.uploadCSV("products", "empty.csv", nil)
	checkPage(t, "empty upload", pg, 422, "Choose a CSV file to import")

	// An export downloads CSV and goes in the log.
	ex := owner.get("/admin/import-export/export/products")
	if ex.Status != 200 || !strings.HasPrefix(ex.Header.Get("Content-Type"), "text/csv") || !strings.Contains(ex.Body, "organic-tee,Organic Tee") {
		t.Fatalf("export: %d %s\n%.2000s", ex.Status, ex.Header, ex.Body)
	}
	pg = owner.get("/admin/import-export")
	checkPage(t, "export log", pg, 200, `id="export-log"`, "<td>products</td>", "<td>admin</td>", "shopify.csv")
	logged := strings.Count(pg.Body, "<td>customers</td>")

	// A link on another site starts no export: the browser says the
	// navigation is cross-site, and nothing is downloaded or logged.
	req, err := http.NewRequest(http.MethodGet, p.URL+"/admin/import-export/export/customers?unmasked=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = owner.host
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := owner.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("a cross-site export: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if pg = owner.get("/admin/import-export"); strings.Count(pg.Body, "<td>customers</td>") != logged {
		t.Errorf("a refused cross-site export is in the log")
	}
}

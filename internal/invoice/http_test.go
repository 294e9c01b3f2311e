package invoice

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestAccessTable: what the platform enforces, what the document says and
// the access table agree.
func TestAccessTable(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newFixture(t, db, Config{})
	webtest.CheckDocumentedRoles(t, f.url, access)
}

func customer(t testing.TB, tenant, id string) string {
	return webtest.Bearer(t, auth.Principal{Tenant: tenant, Subject: id, Kind: auth.KindCustomer})
}

func staff(t testing.TB, tenant string, role auth.Role) string {
	return webtest.Bearer(t, auth.Principal{Tenant: tenant, Subject: "s-" + string(role), Kind: auth.KindStaff, Role: role})
}

// TestHTTPDownloads: staff list, search and download; the buyer (customer
// or guest) downloads their own; the bytes are the same at every download;
// nobody else sees a thing, and another store sees nothing.
func TestHTTPDownloads(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{Paging: kitPaging(1)})
		o := oddOrder("o1")
		f.feed("default", orderapi.SubjectConfirmed, confirmed(o))
		f.feed("default", orderapi.SubjectRefunded, orderapi.Refunded{Order: o, Amount: eur(990)})
		other := oddOrder("o2")
		other.CustomerID, other.Email = "c-2", "bob@example.com"
		f.feed("default", orderapi.SubjectConfirmed, confirmed(other))
		f.feed("acme", orderapi.SubjectConfirmed, confirmed(oddOrder("o-acme")))

		admin := "Bearer " + webtest.AdminToken
		var page invoiceapi.InvoiceList
		f.want(call{method: "GET", path: "/api/v1/admin/invoices", authz: admin}, 200, &page)
		if len(page.Items) != 1 || page.NextCursor == "" || page.Items[0].OrderID != "o2" {
			t.Fatalf("first page: %+v", page)
		}
		seen := []string{page.Items[0].Number}
		for page.NextCursor != "" {
			next := page.NextCursor
			page = invoiceapi.InvoiceList{}
			f.want(call{method: "GET", path: "/api/v1/admin/invoices?cursor=" + next, authz: admin}, 200, &page)
			for _, d := range page.Items {
				seen = append(seen, d.Number)
			}
		}
		if strings.Join(seen, " ") != "INV-2026-000002 CN-2026-000001 INV-2026-000001" {
			t.Errorf("documents newest first: %v", seen)
		}
		var found invoiceapi.InvoiceList
		f.want(call{method: "GET", path: "/api/v1/admin/invoices?q=" + "BOB@example.com", authz: admin}, 200, &found)
		if len(found.Items) != 1 || found.Items[0].OrderID != "o2" {
			t.Errorf("search by email: %+v", found)
		}
		found = invoiceapi.InvoiceList{}
		f.want(call{method: "GET", path: "/api/v1/admin/invoices?q=INV-2026-000001&limit=10", authz: staff(t, "default", auth.RoleSupport)}, 200, &found)
		if len(found.Items) != 1 || found.Items[0].OrderID != "o1" {
			t.Errorf("search by number: %+v", found)
		}
		found = invoiceapi.InvoiceList{}
		f.want(call{method: "GET", path: "/api/v1/admin/invoices?q=o1&kind=credit_note&limit=10", authz: admin}, 200, &found)
		if len(found.Items) != 1 || found.Items[0].Kind != invoiceapi.KindCreditNote {
			t.Errorf("search credit notes by order: %+v", found)
		}
		inv := found.Items[0]
		// Another store sees nothing of this one.
		f.wantProblem(call{method: "GET", path: "/api/v1/admin/invoices/" + inv.ID, authz: admin, tenant: "acme"}, 404, "invoice_not_found")
		var acme invoiceapi.InvoiceList
		f.want(call{method: "GET", path: "/api/v1/admin/invoices?limit=10", authz: admin, tenant: "acme"}, 200, &acme)
		if len(acme.Items) != 1 || acme.Items[0].OrderID != "o-acme" || acme.Items[0].Number != "INV-2026-000001" {
			t.Errorf("acme's documents: %+v", acme)
		}
		f.wantProblem(call{method: "GET", path: "/api/v1/admin/invoices?cursor=zzz", authz: admin}, 422, "invalid_cursor")
		f.wantProblem(call{method: "GET", path: "/api/v1/admin/invoices/nope/pdf", authz: admin}, 404, "invoice_not_found")
		if got, _, _ := f.do(call{method: "GET", path: "/api/v1/admin/invoices"}); got != http.StatusUnauthorized {
			t.Errorf("anonymous list: %d", got)
		}
		if got, _, _ := f.do(call{method: "GET", path: "/api/v1/admin/invoices", authz: customer(t, "default", "c-1")}); got != http.StatusForbidden && got != http.StatusUnauthorized {
			t.Errorf("a customer lists the store's invoices: %d", got)
		}

		// The same bytes at every download, to staff and to the buyer.
		status, h, pdf1 := f.do(call{method: "GET", path: "/api/v1/admin/invoices/" + inv.ID + "/pdf", authz: admin})
		if status != 200 || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf1, []byte("%PDF-")) ||
			h.Get("Content-Disposition") != `attachment; filename=CN-2026-000001.pdf` {
			t.Fatalf("pdf: %d %v %.20q", status, h, pdf1)
		}
		_, _, pdf2 := f.do(call{method: "GET", path: "/api/v1/admin/invoices/" + inv.ID + "/pdf", authz: staff(t, "default", auth.RoleStaff)})
		_, _, pdf3 := f.do(call{method: "GET", path: "/api/v1/invoices/orders/o1/" + inv.ID + "/pdf", orderToken: "tok-o1"})
		_, _, pdf4 := f.do(call{method: "GET", path: "/api/v1/invoices/orders/o1/" + inv.ID + "/pdf", authz: customer(t, "default", "c-1")})
		for i, p := range [][]byte{pdf2, pdf3, pdf4} {
			if !bytes.Equal(p, pdf1) {
				t.Errorf("download %d differs from the first", i+2)
			}
		}
		// And the bytes are the document's rendering.
		if want, err := renderPDF(inv); err != nil || !bytes.Equal(want, pdf1) {
			t.Errorf("stored PDF is not the document's rendering: %v", err)
		}
		status, h, xml := f.do(call{method: "GET", path: "/api/v1/invoices/orders/o1/" + inv.ID + "/xml?token=tok-o1"})
		if status != 200 || h.Get("Content-Type") != "application/xml" || !bytes.Contains(xml, []byte("<CreditNote")) {
			t.Fatalf("xml: %d %v %.100s", status, h, xml)
		}
		checkEN16931(t, xml)

		var mine invoiceapi.InvoiceList
		f.want(call{method: "GET", path: "/api/v1/invoices/orders/o1", orderToken: "tok-o1"}, 200, &mine)
		if len(mine.Items) != 2 || mine.Items[0].Kind != invoiceapi.KindInvoice || mine.Items[1].Kind != invoiceapi.KindCreditNote {
			t.Errorf("the buyer's documents: %+v", mine)
		}
		// Not theirs: nothing, as for an order that exists nowhere.
		for _, c := range []call{
			{method: "GET", path: "/api/v1/invoices/orders/o1"},
			{method: "GET", path: "/api/v1/invoices/orders/o1", orderToken: "tok-o2"},
			{method: "GET", path: "/api/v1/invoices/orders/o1", authz: customer(t, "default", "c-2")},
			{method: "GET", path: "/api/v1/invoices/orders/o1", authz: customer(t, "acme", "c-1"), tenant: "acme"},
			{method: "GET", path: "/api/v1/invoices/orders/nowhere", orderToken: "tok-nowhere"},
		} {
			var l invoiceapi.InvoiceList
			f.want(c, 200, &l)
			if len(l.Items) != 0 {
				t.Errorf("%+v sees %d documents", c, len(l.Items))
			}
		}
		f.wantProblem(call{method: "GET", path: "/api/v1/invoices/orders/o1/" + inv.ID + "/pdf"}, 404, "invoice_not_found")
		f.wantProblem(call{method: "GET", path: "/api/v1/invoices/orders/o1/" + inv.ID + "/pdf", orderToken: "tok-o2"}, 404, "invoice_not_found")
		f.wantProblem(call{method: "GET", path: "/api/v1/invoices/orders/o2/" + inv.ID + "/pdf", orderToken: "tok-o2"}, 404, "invoice_not_found")
		f.wantProblem(call{method: "GET", path: "/api/v1/invoices/orders/o1/" + inv.ID + "/xml", authz: customer(t, "default", "c-2")}, 404, "invoice_not_found")

		// Re-send: an event for notify, the address named.
		var rs invoiceapi.Resend
		f.want(call{method: "POST", path: "/api/v1/admin/invoices/" + inv.ID + "/resend", authz: staff(t, "default", auth.RoleSupport)}, 202, &rs)
		if rs.Email != o.Email || rs.ID != inv.ID {
			t.Errorf("resend: %+v", rs)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox WHERE subject = $1`, invoiceapi.SubjectResendRequested); n != 1 {
			t.Errorf("%d resend events", n)
		}
		f.wantProblem(call{method: "POST", path: "/api/v1/admin/invoices/nope/resend", authz: admin}, 404, "invoice_not_found")
	}, Migrations...)
}

// TestImmutable: no operation changes or removes a document, and no query
// of the service updates or deletes one.
func TestImmutable(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newFixture(t, db, Config{})
	res, err := http.Get(f.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	ops := 0
	for path, methods := range doc.Paths {
		for method := range methods {
			ops++
			switch {
			case method == "get":
			case method == "post" && strings.HasSuffix(path, "/resend"):
			default:
				t.Errorf("%s %s: a document is never changed", strings.ToUpper(method), path)
			}
		}
	}
	if ops != 8 {
		t.Errorf("%d operations, want the 8 reads and re-send", ops)
	}
	queries, err := filepath.Glob("queries/*.sql")
	if err != nil || len(queries) == 0 {
		t.Fatal("no queries", err)
	}
	changes := regexp.MustCompile(`(?i)\b(UPDATE\s+documents|DELETE\s+FROM\s+documents)\b`)
	for _, q := range queries {
		b, err := os.ReadFile(q)
		if err != nil {
			t.Fatal(err)
		}
		if m := changes.Find(b); m != nil {
			t.Errorf("%s: %s", q, m)
		}
	}
}

package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/platform/page"
)

// invoiceFakeAPI plays the invoice API: one invoice and its credit note,
// every call recorded.
type invoiceFakeAPI struct {
	mu    sync.Mutex
	docs  []invoiceapi.Invoice
	calls []orderFakeCall
}

func newInvoiceFakeAPI() *invoiceFakeAPI {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	seller := invoiceapi.Party{Name: "Épicerie <Müller>", TaxID: "FR40303265045",
		Address: invoiceapi.Address{Line1: "12 rue de l'Église", City: "Besançon", PostalCode: "25000", Country: "FR"}}
	buyer := invoiceapi.Party{Name: "Zoë Ångström", Email: "zoe@example.com",
		Address: invoiceapi.Address{Line1: "Hauptstraße 5", City: "Köln", PostalCode: "50667", Country: "DE"}}
	inv := invoiceapi.Invoice{ID: "i1", Kind: invoiceapi.KindInvoice, Number: "INV-2026-000001", OrderID: "o1", IssuedAt: at,
		IssueDate: "2026-03-01", Currency: "EUR", Seller: seller, Buyer: buyer,
		Lines: []invoiceapi.Line{{SKU: "MUG-1", Title: "Mug <blue>", Quantity: 2, UnitPrice: orderEUR(1000), Discount: orderEUR(200),
			Net: orderEUR(1800), TaxRateBP: 750, Tax: orderEUR(135), Total: orderEUR(1935)}},
		Shipping: &invoiceapi.Line{Title: "Shipping (standard)", Quantity: 1, UnitPrice: orderEUR(500), Discount: orderEUR(0),
			Net: orderEUR(500), TaxRateBP: 2000, Tax: orderEUR(100), Total: orderEUR(600)},
		Discount:     orderEUR(200),
		TaxSubtotals: []invoiceapi.TaxSubtotal{{RateBP: 2000, Taxable: orderEUR(500), Tax: orderEUR(100)}, {RateBP: 750, Taxable: orderEUR(1800), Tax: orderEUR(135)}},
		Net:          orderEUR(2300), Tax: orderEUR(235), Total: orderEUR(2535)}
	cn := inv
	cn.ID, cn.Kind, cn.Number, cn.InvoiceID, cn.InvoiceNumber, cn.Reason = "c1", invoiceapi.KindCreditNote, "CN-2026-000001", "i1", inv.Number, "Refund: dented"
	cn.Lines, cn.Shipping = []invoiceapi.Line{{Title: "Refund", Quantity: 1, UnitPrice: orderEUR(0), Discount: orderEUR(0), Net: orderEUR(465),
		TaxRateBP: 750, Tax: orderEUR(35), Total: orderEUR(500)}}, nil
	cn.TaxSubtotals = []invoiceapi.TaxSubtotal{{RateBP: 750, Taxable: orderEUR(465), Tax: orderEUR(35)}}
	cn.Net, cn.Tax, cn.Total = orderEUR(465), orderEUR(35), orderEUR(500)
	return &invoiceFakeAPI{docs: []invoiceapi.Invoice{cn, inv}}
}

// last is the last call made.
func (f *invoiceFakeAPI) last() orderFakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1]
}

func (f *invoiceFakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, orderFakeCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Key: r.Header.Get("Idempotency-Key"), Token: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
	const base = "/api/v1/admin/invoices"
	find := func(id string) *invoiceapi.Invoice {
		for i := range f.docs {
			if f.docs[i].ID == id {
				return &f.docs[i]
			}
		}
		return nil
	}
	rest := strings.TrimPrefix(r.URL.Path, base)
	id, tail, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case r.Method == "GET" && rest == "":
		q := r.URL.Query().Get("q")
		out := invoiceapi.InvoiceList{Items: []invoiceapi.Invoice{}}
		for _, d := range f.docs {
			if (q == "" || q == d.Number || q == d.OrderID || q == d.Buyer.Email) && (r.URL.Query().Get("kind") == "" || string(d.Kind) == r.URL.Query().Get("kind")) {
				out.Items = append(out.Items, d)
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	case find(id) == nil:
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"status":404,"code":"invoice_not_found","detail":"no such invoice or credit note"}`))
	case r.Method == "GET" && tail == "":
		_ = json.NewEncoder(w).Encode(find(id))
	case r.Method == "GET" && tail == "pdf":
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write([]byte("%PDF-1.3 " + id))
	case r.Method == "POST" && tail == "resend":
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(invoiceapi.Resend{ID: id, Email: find(id).Buyer.Email})
	default:
		http.NotFound(w, r)
	}
}

// testInvoiceAdmin serves the invoice pages of a Service whose invoice API
// is api, signed in as a staff member of role.
func testInvoiceAdmin(t *testing.T, api http.Handler, role string) *orderBrowser {
	t.Helper()
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	sm := scs.New()
	sm.Store = memstore.New()
	s := &Service{log: slog.New(slog.DiscardHandler), deps: Deps{Invoices: invoiceapi.NewClient(apiSrv.URL, nil)}}
	var err error
	s.kit, err = page.New(page.Options{Service: "admin", Prefix: "/admin", Tenants: orderTestStore{}, Sessions: sm, SignInPath: "/admin/sign-in",
		Stores: func(context.Context) (page.Store, error) {
			return page.Store{ID: "t1", Name: "Shop", Currency: "EUR", Locale: "en-GB"}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.kit.Handler(h)) }
	s.invoiceRoutes(route)
	route("GET /test/sign-in/{role}", func(w http.ResponseWriter, r *http.Request) {
		role := r.PathValue("role")
		err := s.kit.SignIn(w, r, page.Principal{Kind: "staff", ID: role, Name: role, Role: role,
			Tokens: page.Tokens{Access: role, Expires: time.Now().Add(time.Hour)}})
		if err != nil {
			t.Error(err)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	b := &orderBrowser{t: t, url: srv.URL, hc: &http.Client{Jar: &orderHostJar{jar}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	if st, _ := b.do("GET", "/test/sign-in/"+role, nil); st != http.StatusOK {
		t.Fatalf("sign in as %s: %d", role, st)
	}
	return b
}

// TestInvoicePages: the list searches through the API, a document's page
// shows its parties, lines, tax per rate and totals escaped, the downloads
// pass the stored bytes through, and a re-send carries the form's key.
func TestInvoicePages(t *testing.T) {
	t.Parallel()
	api := newInvoiceFakeAPI()
	b := testInvoiceAdmin(t, api, "support")

	st, body := b.do("GET", "/admin/invoices", nil)
	if st != http.StatusOK || !strings.Contains(body, `<caption class="visually-hidden" id="c-invoices">`) ||
		!strings.Contains(body, `href="/admin/invoices/i1"`) || !strings.Contains(body, "CN-2026-000001") {
		t.Fatalf("list: %d %s", st, body)
	}
	st, body = b.do("GET", "/admin/invoices?q="+url.QueryEscape("zoe@example.com")+"&kind=credit_note", nil)
	if st != http.StatusOK || !strings.Contains(body, "CN-2026-000001") || strings.Contains(body, `href="/admin/invoices/i1"`) {
		t.Errorf("search: %d", st)
	}
	if c := api.last(); c.Query != "kind=credit_note&q=zoe%40example.com" || c.Token != "support" {
		t.Errorf("search call: %+v", c)
	}
	if st, _ := b.do("GET", "/admin/invoices?kind=bogus", nil); st != http.StatusUnprocessableEntity {
		t.Errorf("a bogus kind: %d", st)
	}

	st, body = b.do("GET", "/admin/invoices/i1", nil)
	if st != http.StatusOK {
		t.Fatalf("invoice page: %d %s", st, body)
	}
	for _, want := range []string{"Invoice INV-2026-000001", "Épicerie &lt;Müller&gt;", "FR40303265045", "Mug &lt;blue&gt;",
		"Tax 7.5 % on", "Tax 20 % on", `id="invoice-total"`, `href="/admin/invoices/i1/pdf"`, `action="/admin/invoices/i1/resend"`} {
		if !strings.Contains(body, want) {
			t.Errorf("invoice page lacks %q", want)
		}
	}
	if _, body = b.do("GET", "/admin/invoices/c1", nil); !strings.Contains(body, `href="/admin/invoices/i1">INV-2026-000001</a>`) ||
		!strings.Contains(body, "Total credited") {
		t.Errorf("credit note page does not link its invoice")
	}
	key := orderKeyRe.FindStringSubmatch(body)
	if key == nil {
		t.Fatal("the re-send form has no key")
	}

	req, _ := http.NewRequest("GET", b.url+"/admin/invoices/i1/pdf", nil)
	req.Host = "shop.localhost"
	res, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/pdf" ||
		res.Header.Get("Content-Disposition") != `attachment; filename=INV-2026-000001.pdf` || res.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("pdf: %d %v", res.StatusCode, res.Header)
	}
	if st, _ := b.do("GET", "/admin/invoices/i1/docx", nil); st != http.StatusNotFound {
		t.Errorf("another format: %d", st)
	}
	if st, _ := b.do("GET", "/admin/invoices/nope", nil); st != http.StatusNotFound {
		t.Errorf("unknown document: %d", st)
	}

	st, loc := b.do("POST", "/admin/invoices/c1/resend", url.Values{"idempotency_key": {key[1]}})
	if st != http.StatusSeeOther || loc != "/admin/invoices/c1" {
		t.Errorf("resend: %d %s", st, loc)
	}
	if c := api.last(); c.Method != "POST" || c.Path != "/api/v1/admin/invoices/c1/resend" || c.Key != key[1] {
		t.Errorf("resend call: %+v", c)
	}
}

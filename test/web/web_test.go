// Package web tests the storefront's and the admin's pages over HTTP, as a
// browser without JavaScript sees them: the real mercato binary on a
// loopback port with a fresh data directory, a cookie jar, forms posted as
// a browser posts them. test/browser drives the same pages in Chromium.
package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mercato/mercato/test/harness"
)

var binary string

func TestMain(m *testing.M) { harness.Main(m, &binary) }

// visitor is one browser: a cookie jar on one host of the server.
type visitor struct {
	t    *testing.T
	p    *harness.Proc
	host string // the Host header: which store the pages are of
	hc   *http.Client
}

// start runs a fresh mercato (demo data in the default store).
func start(t *testing.T, args ...string) *harness.Proc {
	t.Helper()
	p := harness.Start(t, binary, nil, append([]string{"-data=" + t.TempDir()}, args...)...)
	checkSellable(t, p)
	return p
}

// checkSellable checks that every demo SKU can be priced as soon as the
// process is ready: pricing and cart learn the catalog from its events,
// and a start that seeds the demo store is announced only once they have
// (System.Settle), so a new user's first click is never refused.
func checkSellable(t *testing.T, p *harness.Proc) {
	t.Helper()
	r := p.Call("GET", "/api/v1/products?limit=100", nil, nil)
	var list struct {
		Items []struct {
			Variants []struct {
				SKU string `json:"sku"`
			} `json:"variants"`
		} `json:"items"`
	}
	r.JSON(t, &list)
	var items []map[string]any
	for _, pr := range list.Items {
		for _, v := range pr.Variants {
			if len(items) < 100 {
				items = append(items, map[string]any{"sku": v.SKU, "quantity": 1})
			}
		}
	}
	if len(items) == 0 {
		return // no demo data
	}
	if q := p.Call("POST", "/api/v1/quote", map[string]any{"items": items, "no_shipping": true}, nil); q.Status != 200 {
		t.Fatalf("the demo SKUs are not sellable once the process is ready: quote %d %s", q.Status, q.Body)
	}
}

// newVisitor is a browser visiting the store at host ("localhost" is the
// default store) of p.
func newVisitor(t *testing.T, p *harness.Proc, host string) *visitor {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &visitor{t: t, p: p, host: host, hc: &http.Client{Jar: &hostJar{jar: jar, host: host}}}
}

// hostJar keeps cookies per Host header rather than per URL: every request
// goes to 127.0.0.1, but each visitor's pages are of its own host.
type hostJar struct {
	jar  *cookiejar.Jar
	host string
}

func (j *hostJar) u(u *url.URL) *url.URL {
	c := *u
	c.Host = j.host
	return &c
}
func (j *hostJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.jar.SetCookies(j.u(u), cs) }
func (j *hostJar) Cookies(u *url.URL) []*http.Cookie        { return j.jar.Cookies(j.u(u)) }

// page is an answer: status, final URL (after redirects) and body.
type page struct {
	Status int
	URL    string
	Body   string
	Header http.Header
}

func (v *visitor) do(method, path string, form url.Values) page {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, v.p.URL+path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Host = v.host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Redirects keep the Host: the client copies req.Host only for the
	// same URL host, which every URL here has.
	resp, err := v.hc.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, URL: resp.Request.URL.RequestURI(), Body: string(raw), Header: resp.Header}
}

// get loads a page.
func (v *visitor) get(path string) page { v.t.Helper(); return v.do(http.MethodGet, path, nil) }

// post submits a form, following the redirect that answers it.
func (v *visitor) post(path string, form url.Values) page {
	v.t.Helper()
	return v.do(http.MethodPost, path, form)
}

// submit posts the form of pg whose action is action, with its hidden
// fields (the Idempotency-Key) and the given values, as a browser does.
func (v *visitor) submit(pg page, action string, values url.Values) page {
	v.t.Helper()
	form := hiddenFields(v.t, pg.Body, action)
	for k, vs := range values {
		form[k] = vs
	}
	return v.post(action, form)
}

var (
	formRe   = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// hiddenFields returns the hidden inputs of the first form of body whose
// action is action.
func hiddenFields(t *testing.T, body, action string) url.Values {
	t.Helper()
	for _, m := range formRe.FindAllStringSubmatch(body, -1) {
		if htmlUnescape(m[1]) != action {
			continue
		}
		vals := url.Values{}
		for _, h := range hiddenRe.FindAllStringSubmatch(m[2], -1) {
			vals.Add(htmlUnescape(h[1]), htmlUnescape(h[2]))
		}
		return vals
	}
	t.Fatalf("no form with action %q on the page:\n%s", action, body)
	return nil
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// TestPagesAnswerAtTheStoresHost: the storefront answers at the default
// store's host and a styled 404 where no store is; the admin sends a
// guest to its sign-in page.
func TestPagesAnswerAtTheStoresHost(t *testing.T) {
	p := start(t)
	shop := newVisitor(t, p, "localhost")
	if pg := shop.get("/"); pg.Status != 200 || !strings.Contains(pg.Body, "<html") {
		t.Fatalf("home: %d %.300s", pg.Status, pg.Body)
	}
	nobody := newVisitor(t, p, "nobody.localhost")
	if pg := nobody.get("/"); pg.Status != 404 || !strings.Contains(pg.Body, "<html") {
		t.Fatalf("unknown store: %d %.300s", pg.Status, pg.Body)
	}
	if pg := shop.get("/admin/"); !strings.HasPrefix(pg.URL, "/admin/sign-in") {
		t.Fatalf("admin as a guest ended at %s (%d)", pg.URL, pg.Status)
	}
}

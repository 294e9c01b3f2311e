package page

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// stores is a directory of two stores, acme at acme.localhost and
// example.com, and beta at beta.localhost.
type stores map[string]Store

func (s stores) ResolveTenant(_ context.Context, host, _ string) (string, error) {
	switch host {
	case "acme.localhost", "shop.example.com":
		return "acme", nil
	case "beta.localhost":
		return "beta", nil
	case "down.localhost":
		return "", errors.New("directory down")
	}
	return "", tenancy.ErrUnknown
}

func (s stores) read(ctx context.Context) (Store, error) {
	id, err := tenancy.ID(ctx)
	if err != nil {
		return Store{}, err
	}
	return s[id], nil
}

func testKit(t *testing.T) (*Kit, stores) {
	t.Helper()
	st := stores{
		"acme": {ID: "acme", Name: `<script>alert(1)</script>`, Currency: "EUR", Locale: "de-DE", BrandColor: "#112233", AccentColor: "#445566"},
		"beta": {ID: "beta", Name: "Beta", Currency: "USD", Locale: "en-US"},
	}
	sm := scs.New()
	sm.Store = memstore.New()
	k, err := New(Options{Service: "storefront", Tenants: st, Stores: st.read, Sessions: sm, SignInPath: "/account/sign-in", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return k, st
}

func serve(t *testing.T, h http.Handler, method, host, path string, hdr http.Header) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, "http://"+host+path, nil)
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestHandler: the store of the Host, escaped names, security headers, a
// styled 404 for no store and 503 for a directory that does not answer.
func TestHandler(t *testing.T) {
	k, _ := testKit(t)
	h := k.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.Render(w, r, http.StatusOK, "home", k.View(r, "Home"))
	}))

	res := serve(t, h, http.MethodGet, "acme.localhost", "/", nil)
	b := body(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("acme: %d %s", res.StatusCode, b)
	}
	if strings.Contains(b, "<script>alert(1)") || !strings.Contains(b, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the store's name is not escaped:\n%s", b)
	}
	if !strings.Contains(b, `lang="de-DE"`) || !strings.Contains(b, "brand.css?v=112233445566") {
		t.Errorf("the page is not the store's (locale, colours):\n%s", b)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(b, "<script>") || strings.Contains(b, " style=") || strings.Contains(b, "<style") {
		t.Errorf("inline script or style: CSP %q", csp)
	}

	for host, want := range map[string]int{"nobody.localhost": 404, "down.localhost": 503, "bad_host!": 400} {
		res := serve(t, h, http.MethodGet, host, "/", nil)
		if b := body(t, res); res.StatusCode != want || !strings.Contains(b, "<h1>") {
			t.Errorf("%s: %d, want a styled %d:\n%.200s", host, res.StatusCode, want, b)
		}
	}
}

// TestCrossOriginForms: a form posted from another site is refused with
// the 403 page; the same form from the site itself goes through.
func TestCrossOriginForms(t *testing.T) {
	k, _ := testKit(t)
	h := k.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	res := serve(t, h, http.MethodPost, "acme.localhost", "/cart/items", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", res.StatusCode)
	}
	res = serve(t, h, http.MethodPost, "acme.localhost", "/cart/items", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://acme.localhost"}})
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("same-origin POST: %d, want 204", res.StatusCode)
	}
}

// TestSessionCookie: HttpOnly and SameSite always; Secure outside a
// loopback name; a sign-in gets a new session token.
func TestSessionCookie(t *testing.T) {
	k, _ := testKit(t)
	h := k.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := k.SignIn(w, r, Principal{Kind: "customer", ID: "c1", Name: "Ada"}); err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	for host, secure := range map[string]bool{"acme.localhost": false, "shop.example.com": true} {
		res := serve(t, h, http.MethodGet, host, "/", nil)
		c := res.Header.Get("Set-Cookie")
		if !strings.Contains(c, "mercato_storefront=") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
			t.Errorf("%s: cookie %q", host, c)
		}
		if strings.Contains(c, "Secure") != secure {
			t.Errorf("%s: cookie %q, Secure should be %v", host, c, secure)
		}
	}
}

// TestAuthed: no session is ErrSignedOut and Fail sends a GET to the
// sign-in page with next; a signed-in customer's calls carry their token.
func TestAuthed(t *testing.T) {
	k, _ := testKit(t)
	var gotToken string
	h := k.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/in" {
			_ = k.SignIn(w, r, Principal{Kind: "customer", ID: "c1", Tokens: Tokens{Access: "acc", Expires: timeIn(3600)}})
			return
		}
		ctx, _, err := k.Authed(r, "customer")
		if err != nil {
			k.Fail(w, r, err)
			return
		}
		gotToken = apiclient.Token(ctx)
	}))
	res := serve(t, h, http.MethodGet, "acme.localhost", "/account", nil)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/account/sign-in?next=%2Faccount" {
		t.Fatalf("guest: %d to %q", res.StatusCode, loc)
	}
	res = serve(t, h, http.MethodGet, "acme.localhost", "/in", nil)
	cookie := res.Header.Get("Set-Cookie")
	serve(t, h, http.MethodGet, "acme.localhost", "/account", http.Header{"Cookie": {strings.Split(cookie, ";")[0]}})
	if gotToken != "acc" {
		t.Errorf("the customer's call carries %q, want their token", gotToken)
	}
	// The same cookie at another store is nobody's session.
	gotToken = ""
	res = serve(t, h, http.MethodGet, "beta.localhost", "/account", http.Header{"Cookie": {strings.Split(cookie, ";")[0]}})
	if res.StatusCode != http.StatusSeeOther || gotToken != "" {
		t.Errorf("acme's cookie at beta: %d, token %q", res.StatusCode, gotToken)
	}
}

// TestFormRefused: an API's refusal marks the fields it names and keeps
// the values; an outage is not a refusal.
func TestFormRefused(t *testing.T) {
	f := EmptyForm(url.Values{"email": {"ada@"}, "sku": {"X"}})
	refusal := &apiclient.Error{Status: 422, Code: "invalid", Detail: "check the fields", Errors: []apiclient.FieldError{
		{Location: "body.email", Message: "must be an email address"}, {Location: "body.variants[0].sku", Message: "taken"}}}
	if !f.Refused(refusal, map[string]string{"variants[0].sku": "sku"}) {
		t.Fatal("a 422 is a refusal")
	}
	if f.Error("email") != "must be an email address" || f.Error("sku") != "taken" || f.Message != "check the fields" || f.Get("email") != "ada@" {
		t.Errorf("form: %+v", f)
	}
	if EmptyForm(nil).Refused(&apiclient.Error{Status: 503, Code: "unavailable"}, nil) {
		t.Error("a 503 is no refusal")
	}
	if got := Status(&apiclient.Error{Status: 404}); got != 404 {
		t.Errorf("Status(404) = %d", got)
	}
	if got := Status(errors.New("boom")); got != 500 {
		t.Errorf("Status(other) = %d", got)
	}
}

func TestMinorUnits(t *testing.T) {
	for in, want := range map[string]int64{"12.5": 1250, "12,50": 1250, "1200": 120000, ".5": 50, "0.01": 1} {
		if got, err := MinorUnits(in, 2); err != nil || got != want {
			t.Errorf("MinorUnits(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12.345", "-1", "1e3", "abc", "12.5.0", "99999999999999999"} {
		if got, err := MinorUnits(in, 2); err == nil {
			t.Errorf("MinorUnits(%q) = %d, want an error", in, got)
		}
	}
	if got, err := MinorUnits("1500", 0); err != nil || got != 1500 {
		t.Errorf("JPY: %d %v", got, err)
	}
	for minor, want := range map[int64]string{1250: "12.50", 5: "0.05", 0: "0.00", -120: "-1.20"} {
		if got := FormatDecimal(minor, 2); got != want {
			t.Errorf("FormatDecimal(%d) = %q, want %q", minor, got, want)
		}
	}
}

func TestMoneyAndDates(t *testing.T) {
	k, st := testKit(t)
	for id, want := range map[string]string{"acme": "€ 1.234,50", "beta": "€ 1,234.50"} {
		v := &View{Store: st[id], kit: k}
		v.tag = mustTag(st[id].Locale)
		if got := v.Money(money.Money{Amount: 123450, Currency: "EUR"}); got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	v := &View{kit: k, tag: mustTag("en-US")}
	if got := v.Date(timeAt(2026, 12, 3)); got != "Dec 3, 2026" {
		t.Errorf("en-US date %q", got)
	}
	v.tag = mustTag("en-GB")
	if got := v.Date(timeAt(2026, 12, 3)); got != "3 Dec 2026" {
		t.Errorf("en-GB date %q", got)
	}
}

func TestFormKey(t *testing.T) {
	f := EmptyForm(url.Values{"idempotency_key": {"abcDEF123_-x"}})
	if f.Key() != "abcDEF123_-x" {
		t.Errorf("a well-formed key is kept: %q", f.Key())
	}
	f = EmptyForm(url.Values{"idempotency_key": {"<bad key>"}})
	if k := f.Key(); k == "<bad key>" || len(k) < 16 {
		t.Errorf("a malformed key is replaced: %q", k)
	}
}

// TestAuthedRefreshesOncePerToken: requests of one session whose access
// token has expired, arriving together or just after one another, make one
// refresh and all go on signed in, instead of the second use of the old
// refresh token signing the person out (identity revokes a reused one).
func TestAuthedRefreshesOncePerToken(t *testing.T) {
	var calls atomic.Int64
	used := sync.Map{}
	release := make(chan struct{})
	refresh := func(_ context.Context, token string) (Tokens, error) {
		calls.Add(1)
		if _, reused := used.LoadOrStore(token, true); reused {
			return Tokens{}, &apiclient.Error{Status: http.StatusUnauthorized, Code: "refresh_token_reused"}
		}
		<-release
		return Tokens{Access: "acc2", Refresh: "ref2", Expires: timeIn(3600)}, nil
	}
	_, st := testKit(t)
	sm := scs.New()
	sm.Store = memstore.New()
	k, err := New(Options{Service: "storefront", Tenants: st, Stores: st.read, Sessions: sm, Refresh: refresh, SignInPath: "/account/sign-in"})
	if err != nil {
		t.Fatal(err)
	}
	tokens := make(chan string, 3)
	h := k.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/in" {
			_ = k.SignIn(w, r, Principal{Kind: "customer", ID: "c1", Tokens: Tokens{Access: "acc1", Refresh: "ref1", Expires: timeIn(-60)}})
			return
		}
		ctx, _, err := k.Authed(r, "customer")
		if err != nil {
			tokens <- "signed out: " + err.Error()
			return
		}
		tokens <- apiclient.Token(ctx)
	}))
	cookie := http.Header{"Cookie": {strings.Split(serve(t, h, http.MethodGet, "acme.localhost", "/in", nil).Header.Get("Set-Cookie"), ";")[0]}}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { serve(t, h, http.MethodGet, "acme.localhost", "/account", cookie) })
	}
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	// One more with the old session data (the first two saved the new
	// tokens, but a request already on its way carries the old ones).
	tok, err := k.refreshes.do(t.Context(), "ref1", refresh)
	if err != nil || tok.Access != "acc2" {
		t.Fatalf("a late request with the used refresh token got %+v, %v", tok, err)
	}
	close(tokens)
	for got := range tokens {
		if got != "acc2" {
			t.Errorf("a request went on with %q, want the refreshed token", got)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d refreshes for one session, want 1", n)
	}
}

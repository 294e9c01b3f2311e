package page

import (
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/mercato/mercato/internal/platform/cache"
)

// sharedKit is testKit with a shared page cache watching the "catalog"
// database of changes.
func sharedKit(t *testing.T, changes *cache.Changes) *Kit {
	t.Helper()
	_, st := testKit(t)
	sm := scs.New()
	sm.Store = memstore.New()
	k, err := New(Options{Service: "storefront", Tenants: st, Stores: st.read, Sessions: sm, SignInPath: "/account/sign-in",
		Shared: SharedOptions{TTL: time.Minute, Changes: changes, Sources: []string{"catalog"}}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyPage answers a page with two forms' keys and the number of times it
// was rendered, long enough to be compressed.
func keyPage(k *Kit, renders *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := renders.Add(1)
		v := k.View(r, "Tea")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<form><input name=k value="+v.Key()+"></form><form><input name=k value="+v.Key()+"></form>"+
			"<p>render "+strings.Repeat("x", 2000)+string(rune('0'+n))+"</p>")
	}
}

func formKeys(t *testing.T, page string) []string {
	t.Helper()
	var keys []string
	for _, part := range strings.Split(page, "value=")[1:] {
		keys = append(keys, part[:strings.IndexByte(part, '>')])
	}
	if len(keys) != 2 {
		t.Fatalf("want 2 form keys in %.200q", page)
	}
	return keys
}

// TestSharedServesGuestsOnePageWithFreshKeys: guests without a session
// share one rendering of a page, each answer with its own form keys (never
// the placeholder), gzipped when asked; a visitor with a session cookie
// gets a page rendered for them.
func TestSharedServesGuestsOnePageWithFreshKeys(t *testing.T) {
	k := sharedKit(t, cache.NewChanges())
	var renders atomic.Int64
	h := k.Handler(k.Shared(keyPage(k, &renders)))
	seen := map[string]bool{}
	for i := range 3 {
		res := serve(t, h, http.MethodGet, "acme.localhost", "/p/tea", nil)
		page := body(t, res)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("answer %d: %d %q", i, res.StatusCode, res.Header.Get("Content-Type"))
		}
		for _, key := range formKeys(t, page) {
			if key == keyPlaceholder || len(key) != len(keyPlaceholder) || seen[key] {
				t.Fatalf("answer %d: form key %q is the placeholder, malformed or repeated", i, key)
			}
			seen[key] = true
		}
	}
	if n := renders.Load(); n != 1 {
		t.Fatalf("3 guests' requests rendered the page %d times, want 1", n)
	}
	res := serve(t, h, http.MethodGet, "acme.localhost", "/p/tea", http.Header{"Accept-Encoding": {"gzip"}})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q for a client taking gzip", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	formKeys(t, string(unzipped))

	serve(t, h, http.MethodGet, "acme.localhost", "/p/tea", http.Header{"Cookie": {"mercato_storefront=abc"}})
	if n := renders.Load(); n != 2 {
		t.Fatalf("a visitor with a session cookie was served the shared page (renders %d, want 2)", n)
	}
	serve(t, h, http.MethodGet, "acme.localhost", "/p/tea?sku=TEA-1", nil)
	serve(t, h, http.MethodGet, "beta.localhost", "/p/tea", nil)
	if n := renders.Load(); n != 4 {
		t.Fatalf("another query or store shared a page (renders %d, want 4)", n)
	}
}

// TestSharedRendersAgainAfterACommit: a commit of a source database for the
// store renders the page again; one of another database or store does not.
func TestSharedRendersAgainAfterACommit(t *testing.T) {
	changes := cache.NewChanges()
	k := sharedKit(t, changes)
	var renders atomic.Int64
	h := k.Handler(k.Shared(keyPage(k, &renders)))
	get := func() string { return body(t, serve(t, h, http.MethodGet, "acme.localhost", "/p/tea", nil)) }
	first := get()
	changes.Committed("cart", "acme")
	changes.Committed("catalog", "beta")
	if get(); renders.Load() != 1 {
		t.Fatalf("a commit of another database or store rendered the page again (renders %d)", renders.Load())
	}
	changes.Committed("catalog", "acme")
	if again := get(); renders.Load() != 2 || !strings.Contains(again, "render") || again[len(again)-5:] == first[len(first)-5:] {
		t.Fatalf("a catalog commit for the store did not render the page again (renders %d)", renders.Load())
	}
}

// TestSharedKeepsOnlyPlainPages: an error page, a redirect and a page whose
// rendering changed the session are answered as rendered, never shared.
func TestSharedKeepsOnlyPlainPages(t *testing.T) {
	k := sharedKit(t, nil)
	var renders atomic.Int64
	h := k.Handler(k.Shared(func(w http.ResponseWriter, r *http.Request) {
		renders.Add(1)
		switch r.URL.Path {
		case "/missing":
			k.NotFound(w, r)
		case "/old":
			http.Redirect(w, r, "/new", http.StatusFound)
		case "/flash":
			k.Redirect(w, r, "/", "Welcome")
		}
	}))
	for _, path := range []string{"/missing", "/old", "/flash"} {
		for range 2 {
			res := serve(t, h, http.MethodGet, "acme.localhost", path, nil)
			if res.StatusCode == http.StatusOK {
				t.Fatalf("%s answered 200", path)
			}
		}
	}
	if n := renders.Load(); n != 6 {
		t.Fatalf("pages not to share were shared: %d renders of 6 requests", n)
	}
	res := serve(t, h, http.MethodGet, "acme.localhost", "/old", nil)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/new" {
		t.Fatalf("redirect replayed as %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := serve(t, h, http.MethodGet, "acme.localhost", "/flash", nil); res.Header.Get("Set-Cookie") == "" {
		t.Fatal("the session a page started was not sent")
	}
}

// TestSharedOffWithoutTTL: a kit without a shared cache renders each page.
func TestSharedOffWithoutTTL(t *testing.T) {
	k, _ := testKit(t)
	var renders atomic.Int64
	h := k.Handler(k.Shared(keyPage(k, &renders)))
	for range 2 {
		formKeys(t, body(t, serve(t, h, http.MethodGet, "acme.localhost", "/p/tea", nil)))
	}
	if renders.Load() != 2 {
		t.Fatalf("renders %d, want 2", renders.Load())
	}
}

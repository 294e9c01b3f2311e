package storefront

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// hosts is a store directory of two stores: a.localhost and b.localhost.
type hosts struct{}

func (hosts) ResolveTenant(_ context.Context, host, _ string) (string, error) {
	if t, ok := strings.CutSuffix(host, ".localhost"); ok && (t == "a" || t == "b") {
		return t, nil
	}
	return "", tenancy.ErrUnknown
}

// fakeAPI answers the few calls the cart page makes as the other services
// do: carts are kept per store, and a cart of another store is as unknown
// as one that never was (404 cart_not_found).
type fakeAPI struct {
	mu        sync.Mutex
	carts     map[string]cartapi.Cart // by store + "/" + ID
	cartReads int
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant := r.Header.Get(tenancy.Header)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/v1/categories":
		_ = json.NewEncoder(w).Encode(catalogapi.CategoryList{Items: []catalogapi.Category{}})
	case r.URL.Path == "/api/v1/shipping-methods":
		_ = json.NewEncoder(w).Encode(pricingapi.ShippingMethodList{Items: []pricingapi.ShippingMethod{}})
	case strings.HasPrefix(r.URL.Path, "/api/v1/carts/"):
		f.mu.Lock()
		f.cartReads++
		c, ok := f.carts[tenant+"/"+strings.TrimPrefix(r.URL.Path, "/api/v1/carts/")]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"status":404,"code":"cart_not_found","detail":"no such cart"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(c)
	default: // products: none
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"status":404,"code":"not_found","detail":"not found"}`)
	}
}

func (f *fakeAPI) reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cartReads
}

// TestForeignCartIsAnEmptyCart: a cart ID in a session that is not a cart
// of the session's store (another store's, or one that expired) shows an
// empty cart, not an error page, and is forgotten; the store's own cart
// shows its lines.
func TestForeignCartIsAnEmptyCart(t *testing.T) {
	eur := money.Money{Amount: 1290, Currency: "EUR"}
	api := &fakeAPI{carts: map[string]cartapi.Cart{
		"b/cart-of-b": {ID: "cart-of-b", Status: cartapi.StatusOpen, Lines: []cartapi.Line{{ID: "l1", SKU: "B-1", Title: "Store B's tea", Quantity: 1, UnitPrice: eur, Subtotal: eur, Available: true}}},
		"a/cart-of-a": {ID: "cart-of-a", Status: cartapi.StatusOpen, Lines: []cartapi.Line{{ID: "l2", SKU: "A-1", Title: "Store A's coffee", Quantity: 2, UnitPrice: eur, Subtotal: eur, Available: true}}},
	}}
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)

	s, err := New(t.Context(), Config{}, Deps{
		Deps:    kit.Deps{DB: sqldbtest.Open(t, "", Migrations...)},
		Tenants: hosts{},
		Stores: func(ctx context.Context) (page.Store, error) {
			id, err := tenancy.ID(ctx)
			return page.Store{ID: id, Name: "Store " + id, Currency: "EUR", Locale: "en-GB"}, err
		},
		Catalog: catalogapi.NewClient(apiSrv.URL, nil),
		Cart:    cartapi.NewClient(apiSrv.URL, nil),
		Pricing: pricingapi.NewClient(apiSrv.URL, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /cart", s.kit.Handler(http.HandlerFunc(s.cartPage)))
	// What no page does: put any cart ID in the visitor's session.
	mux.Handle("GET /plant", s.kit.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.kit.Remember(r, cartKey, r.URL.Query().Get("id"))
		w.WriteHeader(http.StatusNoContent)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "a.localhost"
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	get("/plant?id=cart-of-b")
	status, body := get("/cart")
	if status != http.StatusOK || !strings.Contains(body, `id="cart-empty"`) || strings.Contains(body, "Store B") {
		t.Fatalf("store B's cart at store A: %d, want the empty cart:\n%s", status, body)
	}
	if n := api.reads(); n != 1 {
		t.Fatalf("%d cart reads, want 1", n)
	}
	if status, body := get("/cart"); status != http.StatusOK || !strings.Contains(body, `id="cart-empty"`) || api.reads() != 1 {
		t.Fatalf("the foreign cart ID was not forgotten: %d, %d reads\n%s", status, api.reads(), body)
	}

	get("/plant?id=cart-of-a")
	status, body = get("/cart")
	if status != http.StatusOK || !strings.Contains(body, "Store A&#39;s coffee") || !strings.Contains(body, `<span class="visually-hidden">items: </span>2</span>`) {
		t.Fatalf("store A's own cart: %d\n%s", status, body)
	}
}

package storefront

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// TestCategoriesReused: a store's tree is read once per categoriesTTL,
// each store's apart, and read again once it is older.
func TestCategoriesReused(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[{"id":"c1","slug":"tea","name":"Tea ` + r.Header.Get(tenancy.Header) + `"}]}`))
	}))
	t.Cleanup(srv.Close)
	now := time.Now()
	s := &Service{deps: Deps{Catalog: catalogapi.NewClient(srv.URL, nil)}, trees: newCategoryCache()}
	s.trees.now = func() time.Time { return now }
	acme, beta := tenancy.WithID(t.Context(), "acme"), tenancy.WithID(t.Context(), "beta")
	for range 3 {
		tree, err := s.categories(acme)
		if err != nil || len(tree.Items) != 1 || tree.Items[0].Name != "Tea acme" {
			t.Fatalf("acme: %+v %v", tree, err)
		}
	}
	if tree, err := s.categories(beta); err != nil || tree.Items[0].Name != "Tea beta" {
		t.Fatalf("beta: %+v %v", tree, err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d reads for two stores within the TTL, want 2", n)
	}
	now = now.Add(categoriesTTL)
	if _, err := s.categories(acme); err != nil || calls.Load() != 3 {
		t.Errorf("an old tree is read again: %d reads, %v", calls.Load(), err)
	}
}

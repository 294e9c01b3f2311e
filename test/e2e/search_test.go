package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// TestSearchStoresApart: two stores sell products of the same words; each
// store's search finds its own once indexed, and neither its search nor
// its suggestions ever show the other's, whatever the words (the other's
// SKU, slug or title).
func TestSearchStoresApart(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			c := isoClient{t: t, p: s.p}
			a, b := isoSignup(t, s.p, "finda"), isoSignup(t, s.p, "findb")
			_, aID, _ := c.sku(a, "", 3)
			bSKU, bID, bSlug := c.sku(b, "", 3)

			// found waits until st's search for q lists want, and returns
			// the IDs it lists.
			found := func(st *isoStore, q, want string) []string {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for {
					ids := searchIDs(t, c, st, q)
					if slices.Contains(ids, want) {
						return ids
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s never found %s for %q: %v", st.host, want, q, ids)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			if ids := found(a, "isolation", aID); slices.Contains(ids, bID) {
				t.Errorf("A finds B's product: %v", ids)
			}
			if ids := found(b, "isolation", bID); slices.Contains(ids, aID) {
				t.Errorf("B finds A's product: %v", ids)
			}
			for _, q := range []string{bSKU, bSlug, "isolation " + bSKU[4:], ""} {
				if ids := searchIDs(t, c, a, q); slices.Contains(ids, bID) {
					t.Errorf("A's search for %q finds B's product", q)
				}
			}
			r := c.must("GET", "/api/v1/search/suggestions?q=isol", nil, a.as(""), http.StatusOK)
			if leaks := leaked(r.Body, "", map[string]string{"product": bID, "slug": bSlug}); len(leaks) > 0 {
				t.Errorf("A's suggestions show B's %v: %s", leaks, r.Body)
			}
		})
	}
}

// searchIDs are the IDs st's search for q lists on its first page.
func searchIDs(t *testing.T, c isoClient, st *isoStore, q string) []string {
	t.Helper()
	r := c.must("GET", "/api/v1/search?limit=100&q="+url.QueryEscape(q), nil, st.as(""), http.StatusOK)
	var res struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &res); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	ids := make([]string, len(res.Items))
	for i, it := range res.Items {
		ids[i] = it.ID
	}
	return ids
}

package app

import (
	"strings"
	"testing"
)

func TestConnShares(t *testing.T) {
	all := []string{"tenant", "identity", "staff", "catalog", "media", "pricing", "inventory", "payment", "cart", "order",
		"notify", "review", "invoice", "search", "analytics", "storefront", "admin"}
	for _, tc := range []struct {
		budget   int
		services []string
		want     map[string]int // some shares
	}{
		{20, []string{"order"}, map[string]int{WebDB: 2, "order": 18}},
		{20, []string{"catalog"}, map[string]int{WebDB: 2, "catalog": 18}},
		{4, []string{"catalog"}, map[string]int{WebDB: 1, "catalog": 3}},
		{20, all, map[string]int{WebDB: 2, "order": 2, "tenant": 1, "catalog": 1}},
		{40, all, map[string]int{WebDB: 4, "order": 3, "inventory": 3, "cart": 3, "payment": 3, "pricing": 3}},
		{10, []string{"cart", "order", "search"}, map[string]int{WebDB: 1, "cart": 3, "order": 4, "search": 2}},
	} {
		shares, err := ConnShares(tc.budget, tc.services)
		if err != nil {
			t.Fatalf("ConnShares(%d, %v): %v", tc.budget, tc.services, err)
		}
		sum := 0
		for name, n := range shares {
			if n < 1 {
				t.Errorf("ConnShares(%d, %v): %s gets %d", tc.budget, tc.services, name, n)
			}
			sum += n
		}
		if sum != tc.budget || len(shares) != len(tc.services)+1 {
			t.Errorf("ConnShares(%d, %v) = %v: %d pools, %d connections", tc.budget, tc.services, shares, len(shares), sum)
		}
		for name, n := range tc.want {
			if shares[name] != n {
				t.Errorf("ConnShares(%d, %v)[%s] = %d, want %d (all: %v)", tc.budget, tc.services, name, shares[name], n, shares)
			}
		}
		for _, s := range tc.services {
			for _, o := range tc.services {
				if connWeight(s) > connWeight(o) && shares[s] < shares[o] {
					t.Errorf("ConnShares(%d, %v): %s (checkout) gets %d, less than %s's %d", tc.budget, tc.services, s, shares[s], o, shares[o])
				}
			}
		}
	}
	if _, err := ConnShares(19, all); err == nil || !strings.Contains(err.Error(), "at least 20") {
		t.Errorf("ConnShares(19, all services) = %v, want a refusal that says at least 20", err)
	}
}

func TestConnBudgetDefault(t *testing.T) {
	for _, c := range []struct{ set, services, want int }{
		{0, 1, 20}, {0, 5, 20}, {0, 6, 22}, {0, 17, 40}, {0, 30, 40}, {4, 1, 4}, {60, 17, 60},
	} {
		cfg := Config{DBMaxConns: c.set}
		if got := cfg.ConnBudget(c.services); got != c.want {
			t.Errorf("-db.max-conns=%d with %d services: budget %d, want %d", c.set, c.services, got, c.want)
		}
	}
}

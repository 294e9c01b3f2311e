package cache

import (
	"testing"
	"time"
)

func TestPages(t *testing.T) {
	c := NewPages(1<<20, time.Minute)
	v := c.Version("a")
	c.Put("a", "k", v, []byte("one"))
	if got, ok := c.Get("a", "k"); !ok || string(got) != "one" {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	if _, ok := c.Get("b", "k"); ok {
		t.Fatal("tenant b sees tenant a's page")
	}
	c.Invalidate("b")
	if _, ok := c.Get("a", "k"); !ok {
		t.Fatal("invalidating b dropped a's page")
	}
	c.Invalidate("a")
	if _, ok := c.Get("a", "k"); ok {
		t.Fatal("a stale page was served after Invalidate")
	}
	// A page read before a write but stored after it is never served.
	before := c.Version("a")
	c.Invalidate("a")
	c.Put("a", "k", before, []byte("stale"))
	if got, ok := c.Get("a", "k"); ok {
		t.Fatalf("page built before a write was served: %q", got)
	}
}

func TestNilPagesCacheNothing(t *testing.T) {
	var c *Pages = NewPages(1<<20, 0)
	if c != nil {
		t.Fatal("ttl 0 should disable the cache")
	}
	c.Put("a", "k", c.Version("a"), []byte("x"))
	c.Invalidate("a")
	if _, ok := c.Get("a", "k"); ok {
		t.Fatal("a nil cache returned a page")
	}
}

func TestPagesExpire(t *testing.T) {
	c := NewPages(1<<20, 50*time.Millisecond)
	c.Put("a", "k", c.Version("a"), []byte("x"))
	time.Sleep(120 * time.Millisecond)
	if _, ok := c.Get("a", "k"); ok {
		t.Fatal("page outlived its TTL")
	}
}

func TestChangesVersionMovesWithItsDatabasesAndTenant(t *testing.T) {
	c := NewChanges()
	v0 := c.Version("tea", "catalog", "inventory")
	c.Committed("cart", "tea")
	if v := c.Version("tea", "catalog", "inventory"); v != v0 {
		t.Fatalf("a cart commit moved the catalog+inventory version: %d → %d", v0, v)
	}
	c.Committed("catalog", "coffee")
	if v := c.Version("tea", "catalog", "inventory"); v != v0 {
		t.Fatalf("another tenant's commit moved tea's version: %d → %d", v0, v)
	}
	c.Committed("inventory", "tea")
	v1 := c.Version("tea", "catalog", "inventory")
	if v1 == v0 {
		t.Fatal("tea's inventory commit did not move tea's version")
	}
	c.Committed("catalog", "*")
	if v := c.Version("tea", "catalog", "inventory"); v == v1 {
		t.Fatal("a commit for every tenant did not move tea's version")
	}
	var none *Changes
	none.Committed("catalog", "tea")
	if none.Version("tea", "catalog") != 0 {
		t.Fatal("a nil Changes has a version")
	}
}

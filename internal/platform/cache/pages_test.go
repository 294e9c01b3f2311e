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

// Package cache holds Mercato's in-process caches.
package cache

import (
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
)

// Pages keeps encoded responses of public reads per tenant, so a hot page
// (a storefront's product list) is built once, not on every request.
//
// Entries are invalidated by version: a writer calls Invalidate(tenant) after
// committing, which makes every entry of that tenant stale at once. A reader
// takes Version before reading the database and stores its page under that
// version, so a page built from data a concurrent write has since changed is
// never served. Other processes (replicas) do not see the Invalidate: the
// TTL bounds how long they may serve a page older than a write.
//
// A nil *Pages caches nothing; every method is safe on it.
type Pages struct {
	entries *otter.Cache[string, page]

	mu       sync.Mutex
	versions map[string]uint64
}

type page struct {
	version uint64
	body    []byte
}

// NewPages returns a cache of at most maxBytes of pages kept at most ttl, or
// nil (no caching) when ttl or maxBytes is not positive.
func NewPages(maxBytes int, ttl time.Duration) *Pages {
	if ttl <= 0 || maxBytes <= 0 {
		return nil
	}
	return &Pages{
		entries: otter.Must(&otter.Options[string, page]{
			MaximumWeight:    uint64(maxBytes),
			Weigher:          func(k string, p page) uint32 { return uint32(min(len(k)+len(p.body), 1<<31)) },
			ExpiryCalculator: otter.ExpiryWriting[string, page](ttl),
		}),
		versions: make(map[string]uint64),
	}
}

// Version is the tenant's current version: take it before reading the data
// a page is built from, and pass it to Put.
func (c *Pages) Version(tenant string) uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.versions[tenant]
}

// Get returns the tenant's page for key if it is current.
func (c *Pages) Get(tenant, key string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	p, ok := c.entries.GetIfPresent(tenant + "\x00" + key)
	if !ok || p.version != c.Version(tenant) {
		return nil, false
	}
	return p.body, true
}

// Put stores the tenant's page for key, built from data read at version.
func (c *Pages) Put(tenant, key string, version uint64, body []byte) {
	if c == nil || version != c.Version(tenant) {
		return
	}
	c.entries.Set(tenant+"\x00"+key, page{version: version, body: body})
}

// Invalidate makes every page of the tenant stale; call it after a write
// commits.
func (c *Pages) Invalidate(tenant string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.versions[tenant]++
	c.mu.Unlock()
}
